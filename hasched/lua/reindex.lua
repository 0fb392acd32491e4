-- Bring the id index in line with the definitions for some ids (the index of a namespace written
-- before the index existed, or by an older hasched): each id is added when its definition
-- exists and removed when it does not. Atomic per call, so a write racing the rebuild can
-- neither be lost from the index nor leave a deleted id in it.
-- KEYS[1] defs hash, KEYS[2] id index zset
-- ARGV[1..n] schedule ids
-- return  - how many ids the index gained or lost
local changed = 0
for _, id in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], id) == 1 then
    changed = changed + redis.call('ZADD', KEYS[2], 0, id)
  else
    changed = changed + redis.call('ZREM', KEYS[2], id)
  end
end
return changed
