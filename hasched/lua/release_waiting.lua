-- Enqueue the oldest waiting fire of schedules whose previous job ended (overlap buffer
-- policies; overlap_lib.lua made them wait). The leader's overlap pass (hasched/_release.py)
-- read each schedule's head entry and previous job; here, fenced by the lease like a commit,
-- each is checked again and, if still due, popped and enqueued in the same atomic step: a
-- waiting fire is enqueued exactly once, whoever leads. The job is written as the commit writes
-- it (its hash as made when it fired, enqueued_at from Redis's clock, RPUSH on its queue, its
-- queue in RQ's set), its run record goes from `waiting` to `queued`, the tracker follows it
-- from the in-flight hash, and it becomes the schedule's previous job.
-- A paused schedule's fires keep waiting; a deleted one's entries are dropped.
-- KEYS[1] lease, KEYS[2] set of schedules with waiting fires, KEYS[3] in-flight hash,
-- KEYS[4] last-job hash, KEYS[5] fires hash, KEYS[6] RQ's set of queue keys, KEYS[7] defs hash,
-- KEYS[8] paused set; then per schedule k (5 keys from KEYS[8 + 5(k-1) + 1]): its waiting list,
-- history list, stats hash, the head's job key, the head's queue key; then further keys by index.
-- ARGV[1] lease value "instance_id|epoch" the pass read under; ARGV[2] number of schedules;
-- then per schedule (4 values): id, head entry read, previous job id read ('' none), KEYS index
-- of the previous job's key ('0' none)
-- return - one letter per schedule: R released, B previous job still queued or started,
--          P paused (kept waiting), X changed since read (nothing done), G schedule gone
--          (its entries dropped), E nothing waits (taken out of the set); or 'F' alone when
--          the lease is not ours.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'F'
end

local function busy(job_key)
  local status = redis.call('HGET', job_key, 'status')
  return status == 'queued' or status == 'started'
end

-- Enqueue a waiting entry: "job id\tqueue key\t<msgpack {ttl, in-flight prefix, record, hash...}>".
local function release(id, entry, job, queue, runs, stats)
  local a = string.find(entry, '\t', 1, true)
  local b = string.find(entry, '\t', a + 1, true)
  local job_id = string.sub(entry, 1, a - 1)
  local w = cmsgpack.unpack(string.sub(entry, b + 1))
  local ttl, prefix, waiting = tonumber(w[1]), w[2], w[3]
  local stamp, now_us = rq_now()
  local fire = tonumber(string.match(waiting, '^%[(%d+),'))
  local queued = string.gsub(waiting, ',null,"waiting",', ',' .. string.format('%d', now_us - fire) .. ',"queued",', 1)
  redis.call('HSET', job, unpack(w, 4))
  redis.call('HSET', job, 'enqueued_at', stamp)
  if ttl > 0 then redis.call('EXPIRE', job, ttl) end
  redis.call('RPUSH', queue, job_id)
  redis.call('SADD', KEYS[6], queue)
  redis.call('HSET', KEYS[3], job_id, prefix .. queued)
  replace_record(runs, waiting, queued)
  redis.call('HSET', KEYS[4], id, job_id)
  redis.call('HINCRBY', KEYS[5], id, 1)
  redis.call('HINCRBY', stats, 'enqueued', 1)
end

local out = {}
for k = 1, tonumber(ARGV[2]) do
  local a, base = 3 + (k - 1) * 4, 8 + (k - 1) * 5
  local id, seen, prev_id, prev_at = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local waiting = KEYS[base + 1]
  local head = redis.call('LINDEX', waiting, 0)
  if redis.call('HEXISTS', KEYS[7], id) == 0 then
    redis.call('DEL', waiting)
    redis.call('SREM', KEYS[2], id)
    out[#out + 1] = 'G'
  elseif not head then
    redis.call('SREM', KEYS[2], id)
    out[#out + 1] = 'E'
  elseif head ~= seen or (redis.call('HGET', KEYS[4], id) or '') ~= prev_id then
    out[#out + 1] = 'X'
  elseif redis.call('SISMEMBER', KEYS[8], id) == 1 then
    out[#out + 1] = 'P'
  elseif prev_at > 0 and busy(KEYS[prev_at]) then
    out[#out + 1] = 'B'
  else
    redis.call('LPOP', waiting)
    release(id, head, KEYS[base + 4], KEYS[base + 5], KEYS[base + 2], KEYS[base + 3])
    if redis.call('LLEN', waiting) == 0 then redis.call('SREM', KEYS[2], id) end
    out[#out + 1] = 'R'
  end
end
return table.concat(out)
