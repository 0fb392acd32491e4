-- Grant the leader lease with a new fencing epoch, if nobody else holds it, and record the grant.
-- KEYS[1] - the lease key (value "instance_id|epoch", with a TTL)
-- KEYS[2] - the epoch counter (only goes up)
-- KEYS[3] - the grant log (LIST "instance_id|epoch|ms", newest first)
-- ARGV[1] - instance id asking
-- ARGV[2] - lease TTL in milliseconds
-- ARGV[3] - highest epoch the asking instance has seen; the new one is above it even if the
--           counter was lost (Redis restarted without persistence)
-- ARGV[4] - how many grants the log keeps
-- return  - {1, epoch} when granted, {0, current lease value} when another instance holds it
local current = redis.call('GET', KEYS[1])
local mine = ARGV[1] .. '|'
if current and string.sub(current, 1, #mine) ~= mine then
  return {0, current}
end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], mine .. epoch, 'PX', ARGV[2])
-- Logged in the same step as the grant, so the log never misses nor invents a leader.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('LPUSH', KEYS[3], mine .. epoch .. '|' .. now_ms)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
return {1, epoch}
