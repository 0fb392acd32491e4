-- Store a chunk of schedules in one step (Scheduler.add_many, sync): upsert.lua for each, but
-- every expectation is checked before anything is written, so a chunk is written whole or not
-- at all. One wake-up for the chunk. The writes go in a few multi-field commands for the whole
-- chunk (not one command per key per schedule): the same result as upsert.lua for each in turn.
-- KEYS as upsert.lua: KEYS[1] defs hash, KEYS[2] rev hash, KEYS[3] revision counter,
-- KEYS[4] state hash, KEYS[5] due zset, KEYS[6] paused set, KEYS[7] invalid set, KEYS[8] id index
-- ARGV[1] the wake-up pub/sub channel; then for each schedule, six values as upsert.lua's ARGV[1..6]:
--   id, definition JSON, state JSON, due µs ('' = not due), '1' paused / '0', expected revision
--   ('' must not exist yet, '*' any, else the exact value)
-- The ids of one call are distinct (add_many checks it).
-- return  - the new revisions in order; error "EXISTS <id>" or "CONFLICT <id>" for the first
--           schedule whose expectation does not hold (nothing written)
local n = (#ARGV - 1) / 6
for j = 0, n - 1 do
  local id, expect = ARGV[2 + j * 6], ARGV[7 + j * 6]
  if expect == '' then
    if redis.call('HEXISTS', KEYS[1], id) == 1 then return redis.error_reply('EXISTS ' .. id) end
  elseif expect ~= '*' and redis.call('HGET', KEYS[2], id) ~= expect then
    return redis.error_reply('CONFLICT ' .. id)
  end
end
if n == 0 then return {} end
-- Lua's unpack takes a bounded number of values: commands carry at most this many fields each.
local PER_CALL = 1000
local first = redis.call('INCRBY', KEYS[3], n) - n + 1
local revs = {}
local function flush(cmd, key, args)
  if #args > 0 then redis.call(cmd, key, unpack(args)) end
end
for lo = 0, n - 1, PER_CALL do
  local defs, rev, state, ids, scored, due, undue, paused, unpaused = {}, {}, {}, {}, {}, {}, {}, {}, {}
  for j = lo, math.min(n, lo + PER_CALL) - 1 do
    local i = 2 + j * 6
    local id = ARGV[i]
    local r = first + j
    revs[j + 1] = r
    defs[#defs + 1], defs[#defs + 2] = id, ARGV[i + 1]
    rev[#rev + 1], rev[#rev + 2] = id, r
    state[#state + 1], state[#state + 2] = id, ARGV[i + 2]
    ids[#ids + 1] = id
    scored[#scored + 1], scored[#scored + 2] = 0, id
    if ARGV[i + 3] == '' then
      undue[#undue + 1] = id
    else
      due[#due + 1], due[#due + 2] = ARGV[i + 3], id
    end
    if ARGV[i + 4] == '1' then paused[#paused + 1] = id else unpaused[#unpaused + 1] = id end
  end
  flush('HSET', KEYS[1], defs)
  flush('HSET', KEYS[2], rev)
  flush('HSET', KEYS[4], state)
  flush('SREM', KEYS[7], ids)
  flush('ZADD', KEYS[8], scored)
  flush('ZREM', KEYS[5], undue)
  flush('ZADD', KEYS[5], due)
  flush('SADD', KEYS[6], paused)
  flush('SREM', KEYS[6], unpaused)
end
redis.call('PUBLISH', ARGV[1], 'schedule')
return revs
