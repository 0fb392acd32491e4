-- Give the lease up (graceful shutdown) and wake the followers so one takes over at once.
-- KEYS[1] - the lease key
-- ARGV[1] - expected lease value "instance_id|epoch"
-- ARGV[2] - the wake-up pub/sub channel
-- return  - 1 released, 0 not held
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'lease')
  return 1
end
return 0
