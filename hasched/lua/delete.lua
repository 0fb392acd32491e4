-- Remove a schedule and its progress, keeping its mark (the latest fire it committed) as a
-- tombstone until ARGV[2], so a schedule re-created with the same id never enqueues a fire that
-- was already enqueued. First drops up to the given expired tombstones (the caller read them):
-- their marks go unless the schedule exists again, so tombstones stay few without a sweeper.
-- KEYS[1] defs, KEYS[2] rev, KEYS[3] state, KEYS[4] due, KEYS[5] fires, KEYS[6] last job,
-- KEYS[7] paused, KEYS[8] invalid, KEYS[9] id index zset, KEYS[10] tombstones zset,
-- KEYS[11] gaps zset, KEYS[12] this schedule's mark hash; then KEYS[12 + j] the mark hash of
-- expired tombstone j
-- Its gaps go (dedupe_lib.lua): a re-created schedule has no origin, so everything up to the
-- kept mark counts as enqueued, never the other way.
-- ARGV[1] schedule id
-- ARGV[2] µs until which its mark is kept (Redis's clock)
-- ARGV[3] now in µs (Redis's clock)
-- ARGV[3 + j] the id of expired tombstone j
-- return  - 1 removed, 0 it did not exist
local id = ARGV[1]
for j = 4, #ARGV do
  local gone, score = ARGV[j], redis.call('ZSCORE', KEYS[10], ARGV[j])
  if score and tonumber(score) <= tonumber(ARGV[3]) then
    redis.call('ZREM', KEYS[10], gone)
    if redis.call('HEXISTS', KEYS[1], gone) == 0 then redis.call('HDEL', KEYS[9 + j], gone) end
  end
end
local existed = redis.call('HDEL', KEYS[1], id)
for _, i in ipairs({2, 3, 5, 6}) do redis.call('HDEL', KEYS[i], id) end
redis.call('ZREM', KEYS[4], id)
redis.call('SREM', KEYS[7], id)
redis.call('SREM', KEYS[8], id)
redis.call('ZREM', KEYS[9], id)
redis.call('ZREMRANGEBYLEX', KEYS[11], '[' .. id .. '|', '(' .. id .. '}')
if existed == 1 and redis.call('HEXISTS', KEYS[12], id) == 1 then
  redis.call('ZADD', KEYS[10], ARGV[2], id)
end
return existed
