-- Extend the lease, only if this instance still holds it with the same epoch.
-- KEYS[1] - the lease key
-- ARGV[1] - expected lease value "instance_id|epoch"
-- ARGV[2] - lease TTL in milliseconds
-- return  - 1 renewed, 0 not held (expired, or granted to someone else since)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
