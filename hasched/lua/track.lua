-- Move runs on as their RQ jobs progress: the leader's tracker (hasched/_tracker.py) read the
-- in-flight jobs, worked out each run's new record (hasched/_runs.py `observe`) and writes them
-- here in one step, fenced by the lease epoch like a commit. An update applies only while the
-- run's in-flight entry is still the one the tracker read, so no end is ever counted twice.
-- KEYS[1] lease, KEYS[2] in-flight hash, KEYS[3] pausing hash, KEYS[4] defs hash;
-- then per update: KEYS[4 + 2k - 1] its history list, KEYS[4 + 2k] its stats hash
-- ARGV[1] lease value "instance_id|epoch" the tracker read under; ARGV[2] number of updates;
-- then per update (10 values): job id, schedule id, in-flight value read, new in-flight value
--   ('' when the run ended), old record, new record, counter to add 1 to ('' none),
--   last_* field to set ('' none), its value, pause note ('' no pause asked)
-- return - one letter per update: U applied, X the entry changed or went (nothing done),
--          G the schedule is gone (entry dropped); or 'F' alone when the lease is not ours.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'F'
end
local out = {}
for k = 1, tonumber(ARGV[2]) do
  local a = 3 + (k - 1) * 10
  local job_id, sid, seen, after = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local runs, stats = KEYS[4 + 2 * k - 1], KEYS[4 + 2 * k]
  if redis.call('HGET', KEYS[2], job_id) ~= seen then
    out[#out + 1] = 'X'
  elseif redis.call('HEXISTS', KEYS[4], sid) == 0 then
    redis.call('HDEL', KEYS[2], job_id)
    out[#out + 1] = 'G'
  else
    replace_record(runs, ARGV[a + 4], ARGV[a + 5])
    if after == '' then redis.call('HDEL', KEYS[2], job_id) else redis.call('HSET', KEYS[2], job_id, after) end
    if ARGV[a + 6] ~= '' then redis.call('HINCRBY', stats, ARGV[a + 6], 1) end
    if ARGV[a + 7] ~= '' then redis.call('HSET', stats, ARGV[a + 7], ARGV[a + 8]) end
    if ARGV[a + 9] ~= '' then redis.call('HSET', KEYS[3], sid, ARGV[a + 9]) end
    out[#out + 1] = 'U'
  end
end
return table.concat(out)
