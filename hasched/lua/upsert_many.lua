-- Store a chunk of schedules in one step (Scheduler.add_many, sync): upsert.lua for each, but
-- every expectation is checked before anything is written, so a chunk is written whole or not
-- at all. One wake-up for the chunk. The values come grouped by the command that takes them, so
-- each command writes a slice of ARGV as it is: the same result as upsert.lua for each in turn.
-- KEYS as upsert.lua: KEYS[1] defs hash, KEYS[2] rev hash, KEYS[3] revision counter,
-- KEYS[4] state hash, KEYS[5] due zset, KEYS[6] paused set, KEYS[7] invalid set, KEYS[8] id index
-- ARGV[1] the wake-up pub/sub channel, ARGV[2] n schedules (distinct ids), ARGV[3] d of them due,
-- ARGV[4] p of them paused; then, one after the other:
--   n ids; n expected revisions ('' must not exist yet, '*' any, else the exact value);
--   n pairs id, definition JSON; n pairs id, state JSON; n pairs 0, id (the id index);
--   d pairs due µs, id; the n - d ids not due; the p paused ids; the n - p others
-- return  - the new revisions in order; error "EXISTS <id>" or "CONFLICT <id>" for the first
--           schedule whose expectation does not hold (nothing written)
local n, d, p = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = 5
local expects = ids + n
for j = 0, n - 1 do
  local id, expect = ARGV[ids + j], ARGV[expects + j]
  if expect == '' then
    if redis.call('HEXISTS', KEYS[1], id) == 1 then return redis.error_reply('EXISTS ' .. id) end
  elseif expect ~= '*' and redis.call('HGET', KEYS[2], id) ~= expect then
    return redis.error_reply('CONFLICT ' .. id)
  end
end
if n == 0 then return {} end
-- Lua's unpack takes a bounded number of values: a command takes at most this many (even, so
-- pairs stay whole).
local PER_CALL = 2000
local function each(cmd, key, from, count)
  for lo = from, from + count - 1, PER_CALL do
    redis.call(cmd, key, unpack(ARGV, lo, math.min(from + count, lo + PER_CALL) - 1))
  end
end
local defs = expects + n
local states = defs + 2 * n
local index = states + 2 * n
local due = index + 2 * n
local undue = due + 2 * d
local paused = undue + n - d
local unpaused = paused + p
local first = redis.call('INCRBY', KEYS[3], n) - n + 1
local revs = {}
for lo = 0, n - 1, PER_CALL / 2 do
  local pairs = {}
  for j = lo, math.min(n, lo + PER_CALL / 2) - 1 do
    revs[j + 1] = first + j
    pairs[#pairs + 1], pairs[#pairs + 2] = ARGV[ids + j], first + j
  end
  redis.call('HSET', KEYS[2], unpack(pairs))
end
each('HSET', KEYS[1], defs, 2 * n)
each('HSET', KEYS[4], states, 2 * n)
each('SREM', KEYS[7], ids, n)
each('ZADD', KEYS[8], index, 2 * n)
each('ZREM', KEYS[5], undue, n - d)
each('ZADD', KEYS[5], due, 2 * d)
each('SADD', KEYS[6], paused, p)
each('SREM', KEYS[6], unpaused, n - p)
redis.call('PUBLISH', ARGV[1], 'schedule')
return revs
