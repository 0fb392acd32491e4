-- Record a manual trigger's run, in the same MULTI as its enqueue (api.trigger), so the run is
-- recorded exactly when the job exists; the leader's tracker follows it from the in-flight hash.
-- KEYS[1] in-flight hash, KEYS[2] the schedule's history list, KEYS[3] its stats hash
-- ARGV[1] job id, ARGV[2] run record, ARGV[3] in-flight value prefix ("id\tqueue\tpause\t"),
-- ARGV[4] history cap
-- return  - 1
push_record(KEYS[2], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. ARGV[2])
redis.call('HINCRBY', KEYS[3], 'enqueued', 1)
redis.call('HINCRBY', KEYS[3], 'triggered', 1)
return 1
