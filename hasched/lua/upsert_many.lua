-- Store a chunk of schedules in one step (Scheduler.add_many, sync): upsert.lua for each, but
-- every expectation is checked before anything is written, so a chunk is written whole or not
-- at all. One wake-up for the chunk.
-- KEYS as upsert.lua: KEYS[1] defs hash, KEYS[2] rev hash, KEYS[3] revision counter,
-- KEYS[4] state hash, KEYS[5] due zset, KEYS[6] paused set, KEYS[7] invalid set, KEYS[8] id index
-- ARGV[1] the wake-up pub/sub channel; then for each schedule, six values as upsert.lua's ARGV[1..6]:
--   id, definition JSON, state JSON, due µs ('' = not due), '1' paused / '0', expected revision
--   ('' must not exist yet, '*' any, else the exact value)
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
local revs = {}
for j = 0, n - 1 do
  local i = 2 + j * 6
  local id = ARGV[i]
  local rev = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[1], id, ARGV[i + 1])
  redis.call('HSET', KEYS[2], id, rev)
  redis.call('HSET', KEYS[4], id, ARGV[i + 2])
  redis.call('SREM', KEYS[7], id)
  redis.call('ZADD', KEYS[8], 0, id)
  if ARGV[i + 3] == '' then
    redis.call('ZREM', KEYS[5], id)
  else
    redis.call('ZADD', KEYS[5], ARGV[i + 3], id)
  end
  if ARGV[i + 4] == '1' then
    redis.call('SADD', KEYS[6], id)
  else
    redis.call('SREM', KEYS[6], id)
  end
  revs[#revs + 1] = rev
end
if n > 0 then redis.call('PUBLISH', ARGV[1], 'schedule') end
return revs
