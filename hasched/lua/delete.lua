-- Remove a schedule and its progress. Claim markers stay (they expire on their own), so a
-- schedule re-created with the same id never enqueues a fire that was already enqueued.
-- KEYS[1] defs, KEYS[2] rev, KEYS[3] state, KEYS[4] due, KEYS[5] fires, KEYS[6] last job,
-- KEYS[7] paused, KEYS[8] invalid
-- ARGV[1] schedule id
-- return  - 1 removed, 0 it did not exist
local id = ARGV[1]
local existed = redis.call('HDEL', KEYS[1], id)
for _, i in ipairs({2, 3, 5, 6}) do redis.call('HDEL', KEYS[i], id) end
redis.call('ZREM', KEYS[4], id)
redis.call('SREM', KEYS[7], id)
redis.call('SREM', KEYS[8], id)
return existed
