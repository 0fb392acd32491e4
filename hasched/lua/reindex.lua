-- One step of rebuilding the id index from the definitions (for a namespace written before the
-- index existed, or by an older hasched): the work stays in Redis, a chunk per call, and each
-- call is atomic, so a write racing the rebuild can neither be lost from the index nor leave a
-- deleted id in it.
-- KEYS[1] defs hash, KEYS[2] id index zset
-- ARGV[1] 'add': index the ids of one HSCAN step of the definitions from cursor ARGV[2]
--         'prune': drop the index entries without a definition among the ARGV[3] ids after the
--         ZRANGEBYLEX bound ARGV[2] ('-' for the start, else '(' .. the last id of the previous call)
-- ARGV[3] how many per call
-- return  - {next cursor ('0' when done) or last id read ('' when done), entries changed}
local changed = 0
if ARGV[1] == 'add' then
  local step = redis.call('HSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
  local fields = step[2]
  for i = 1, #fields, 2 do
    changed = changed + redis.call('ZADD', KEYS[2], 0, fields[i])
  end
  return {step[1], changed}
end
local ids = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  if redis.call('HEXISTS', KEYS[1], id) == 0 then
    changed = changed + redis.call('ZREM', KEYS[2], id)
  end
end
return {ids[#ids] or '', changed}
