-- Record that an instance is alive, on Redis's clock, and forget instances long silent.
-- KEYS[1] - the instance registry (ZSET instance id -> last heartbeat in ms)
-- ARGV[1] - instance id
-- ARGV[2] - forget instances silent for longer than this many milliseconds
-- return  - the heartbeat time in ms (Redis clock)
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now_ms, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - tonumber(ARGV[2]))
return now_ms
