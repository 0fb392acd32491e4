-- Overlap policies (hasched/_overlap.py states the rule), shared by the scripts that commit fires:
-- _scripts.py puts this file (after runs_lib.lua) before commit.lua. A script calls
-- `overlap_fire` once per new fire of a schedule whose policy is not `allow`; it applies the
-- policy's side effects here (cancel or stop the previous job, or make the fire wait) and tells
-- the caller what is left to do. Everything happens inside the caller's atomic, fenced step.
-- RQ's own mechanisms, as RQ 2.0 to 3.x write them:
--   cancel a queued job (Job.cancel): LREM it from its queue (only if still there), status
--     'canceled', ZADD to its queue's canceled registry with score now (whole seconds);
--   stop a started job (send_stop_job_command): PUBLISH {"command": "stop-job", "job_id": id}
--     on the channel of the worker running it; the worker kills the work horse and marks the
--     job 'stopped'. The job also goes into the stopping hash, where the leader's overlap pass
--     repeats the command until the job is seen ended (a worker between taking the job and
--     starting it, or a lost message).
-- A waiting fire is an entry "job id\tqueue key\t<msgpack>" on the schedule's waiting list
-- (oldest first): msgpack of {ttl, in-flight prefix, waiting run record, job hash fields...}.
-- release_waiting.lua enqueues the head once the previous job ended.

local OVERLAP_MAX_WAITING = 1000 -- hasched/_overlap.py MAX_WAITING
local OVERLAP_STOP_RETRY = 60 -- seconds the stop command is repeated at most

-- hasched/_overlap.py `decide`, case for case.
local function overlap_decide(policy, previous, waiting)
  local busy = previous ~= 'idle'
  if policy == 'skip' then return busy and 'skip' or 'enqueue' end
  if policy == 'buffer_one' then
    if waiting >= 1 then return 'skip' end
    return busy and 'buffer' or 'enqueue'
  end
  if policy == 'buffer_all' then
    if waiting >= OVERLAP_MAX_WAITING then return 'skip' end
    return (busy or waiting > 0) and 'buffer' or 'enqueue'
  end
  if policy == 'cancel_other' then return previous == 'queued' and 'cancel' or 'enqueue' end
  if policy == 'terminate_other' and busy then return previous == 'queued' and 'cancel' or 'stop' end
  return 'enqueue'
end

-- A waiting fire's run record: its skipped record with the status it has now (the two differ
-- only there: hasched/_runs.py `waiting_record`).
local function overlap_waiting_record(skipped)
  return (string.gsub(skipped, ',"skipped",', ',"waiting",', 1))
end

-- Cancel the previous job as RQ's Job.cancel does; false when a worker took it already.
local function overlap_cancel(o, job_id, origin)
  if redis.call('LREM', o.rq.queue .. origin, 1, job_id) == 0 then return false end
  redis.call('HSET', o.prev, 'status', 'canceled')
  redis.call('ZADD', o.rq.canceled .. origin, redis.call('TIME')[1], job_id)
  return true
end

-- Stop the previous job as RQ's send_stop_job_command does (when a worker runs it already),
-- and have the leader repeat it until the job ends.
local function overlap_stop(o, job_id, worker)
  if worker and worker ~= '' then
    redis.call('PUBLISH', o.rq.pubsub .. worker, '{"command": "stop-job", "job_id": "' .. job_id .. '"}')
  end
  redis.call('HSET', o.stopping, job_id, tonumber(redis.call('TIME')[1]) + OVERLAP_STOP_RETRY)
end

-- Make the fire wait: its entry at the end of the waiting list, its run record `waiting`.
local function overlap_buffer(o, f)
  local record = overlap_waiting_record(f.skipped)
  local packed = cmsgpack.pack({f.ttl, f.prefix, record, unpack(f.hash())})
  redis.call('RPUSH', o.waiting, f.job_id .. '\t' .. f.queue .. '\t' .. packed)
  redis.call('SADD', o.waiting_set, o.id)
  push_record(o.runs, o.cap, record)
end

-- One new fire of a schedule with an overlap policy.
-- o: policy, id (schedule), prev (the previous job's key, or nil), waiting (its waiting list),
--    waiting_set, stopping (hash), runs (history list), cap, rq = {job, queue, canceled, pubsub}
--    (RQ's key and channel prefixes)
-- f: job_id, queue (its queue key), ttl (RQ's job ttl in seconds, 0 none), prefix (in-flight value prefix),
--    skipped (its run record if skipped), hash() -> its RQ job hash as {field, value, ...}
-- return 'E' enqueue it now (the caller does, as for allow; the previous job was canceled or
--        told to stop if the policy says so), 'O' skip it (the caller records it), 'W' it waits.
local function overlap_fire(o, f)
  local buffers = o.policy == 'buffer_one' or o.policy == 'buffer_all'
  if not o.prev and not buffers then return 'E' end -- no previous job: nothing to skip, cancel, stop
  local status, origin, worker = false, false, false
  if o.prev then
    local h = redis.call('HMGET', o.prev, 'status', 'origin', 'worker_name')
    status, origin, worker = h[1], h[2], h[3]
  end
  local previous = (status == 'queued' or status == 'started') and status or 'idle'
  local waiting = 0
  if buffers then waiting = redis.call('LLEN', o.waiting) end
  local action = overlap_decide(o.policy, previous, waiting)
  local prev_id = o.prev and string.sub(o.prev, #o.rq.job + 1)
  if action == 'cancel' then
    if origin and overlap_cancel(o, prev_id, origin) then return 'E' end
    action = overlap_decide(o.policy, 'started', waiting) -- a worker took it: it counts as started
  end
  if action == 'stop' then
    overlap_stop(o, prev_id, worker)
  elseif action == 'buffer' then
    overlap_buffer(o, f)
    return 'W'
  elseif action == 'skip' then
    return 'O'
  end
  return 'E'
end
