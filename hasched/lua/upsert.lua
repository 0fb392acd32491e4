-- Store a schedule definition and its progress in one step (client writes: add, replace,
-- pause, resume). Every write takes a new revision from a namespace-wide counter, so a leader
-- holding a plan made from an older read can never advance the schedule over this write.
-- KEYS[1] defs hash, KEYS[2] rev hash, KEYS[3] revision counter, KEYS[4] state hash,
-- KEYS[5] due zset, KEYS[6] paused set, KEYS[7] invalid set, KEYS[8] id index zset
-- ARGV[1] schedule id
-- ARGV[2] definition JSON
-- ARGV[3] state JSON
-- ARGV[4] due time in µs, or '' when the schedule is not due (paused or finished)
-- ARGV[5] '1' paused, '0' not
-- ARGV[6] expected revision: '' the schedule must not exist yet, '*' any, else the exact value
-- ARGV[7] the wake-up pub/sub channel
-- return  - the new revision; error EXISTS or CONFLICT when the expectation does not hold
local id = ARGV[1]
local current = redis.call('HGET', KEYS[2], id)
if ARGV[6] == '' then
  if redis.call('HEXISTS', KEYS[1], id) == 1 then return redis.error_reply('EXISTS') end
elseif ARGV[6] ~= '*' and current ~= ARGV[6] then
  return redis.error_reply('CONFLICT')
end
local rev = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('HSET', KEYS[2], id, rev)
redis.call('HSET', KEYS[4], id, ARGV[3])
redis.call('SREM', KEYS[7], id)
redis.call('ZADD', KEYS[8], 0, id)
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[5], id)
else
  redis.call('ZADD', KEYS[5], ARGV[4], id)
end
if ARGV[5] == '1' then
  redis.call('SADD', KEYS[6], id)
else
  redis.call('SREM', KEYS[6], id)
end
redis.call('PUBLISH', ARGV[7], 'schedule')
return rev
