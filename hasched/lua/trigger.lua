-- Record a manual trigger of a schedule as a fire enqueued out of order, at the first µs from
-- ARGV[2] that no other trigger of the schedule has taken: two triggers never share a job id.
-- Also drops up to 64 out-of-order records that expired (their retention is over).
-- KEYS[1] out-of-order zset ("id|t<µs>" -> µs after which the record may go)
-- ARGV[1] schedule id
-- ARGV[2] now in µs (Redis's clock): the trigger's fire time unless taken
-- ARGV[3] how long the record is kept, in µs
-- return  - the trigger's fire time in µs, as text
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, 64)
if #expired > 0 then redis.call('ZREM', KEYS[1], unpack(expired)) end
local now = tonumber(ARGV[2])
for step = 0, 999 do
  local fire = string.format('%.0f', now + step)  -- µs fit a double exactly; print no exponent
  if redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[3]), ARGV[1] .. '|t' .. fire) == 1 then
    return fire
  end
end
return redis.error_reply('BUSY too many triggers of one schedule in one millisecond')
