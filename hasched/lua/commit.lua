-- Commit a batch of due fires: the one atomic step behind "exactly once".
-- The fence check sits inside the same script as the writes on purpose: a leader paused or cut
-- off after reading the lease could otherwise lose it and still enqueue. Here, either the lease
-- is held with this exact epoch while every write happens, or nothing is written.
-- Which fires were handled before is decided here too (hasched/_dedupe.py states the rule): a
-- fire at or below its schedule's mark (the latest fire committed in order), or recorded as
-- enqueued out of order, or carrying a claim marker of hasched 0.1, is claimed; any other fire
-- is enqueued (or skipped for overlap) and moves the mark up to it. What was handled without
-- being enqueued (missed, skipped for overlap) becomes a gap, and the first fire that sets the
-- mark is the schedule's origin (dedupe_lib.lua): what a backfill asks later.
-- Each fire's run record goes into the schedule's history in this same step (runs_lib.lua), and an
-- enqueued one into the in-flight hash the leader's tracker follows: a failover can neither lose
-- nor double a record.
-- KEYS[1] lease, KEYS[2] rev hash, KEYS[3] state hash, KEYS[4] due zset, KEYS[5] fires hash,
-- KEYS[6] last-job hash, KEYS[7] RQ's set of queue keys, KEYS[8] out-of-order zset,
-- KEYS[9] in-flight hash, KEYS[10] gaps zset; then the keys the batch names by index.
-- ARGV[1] lease value "instance_id|epoch" this batch was planned under
-- ARGV[2] now in µs (Redis's clock): out-of-order records expiring before it are trimmed
-- ARGV[3] RQ timestamp text for created_at (the batch's planning); enqueued_at is Redis's TIME when
--         this script runs, the moment the jobs really enter their queues
-- ARGV[4] on: the job shapes and templates (layout in jobs_lib.lua)
-- then: number of schedules; then for each schedule:
--   id, expected revision, new state JSON, new due µs ('' = finished),
--   overlap: '-1' allow, else the KEYS index of the previous job ('0' = none),
--   template number, KEYS index of its mark hash, fire count, KEYS index of its history list,
--   KEYS index of its stats hash, history cap, in-flight value prefix ("id\tqueue\tpause\t"),
--   number of missed stretches, then each: reason, first µs, last µs, count;
--   only when overlap is not '-1': the policy, then the KEYS indexes of its waiting list, the
--   set of schedules with waiting fires and the stopping hash (overlap_lib.lua);
--   then for each fire (in order): nominal fire µs, KEYS index of its 0.1 claim marker,
--   job key index, job id, serialised meta, its run record if enqueued, if skipped
--   for overlap (always '' when overlap is '-1': never used)
-- last: RQ's prefixes of job keys, queue keys, canceled registry keys and worker channels
-- Cost: the writes of many schedules go in one multi-value command each (queue pushes, in-flight
-- entries, progress, due times, last jobs, fire counts), and the dedupe look-ups are skipped for a
-- batch in which none can hit; per fire only its job hash, run record and the schedule's mark and
-- counter are written one by one (bench/README.md: where a burst's time goes).
-- return - one letter per fire in order: E enqueued, C claimed already, O skipped for overlap,
--          W waiting for the previous job (overlap buffer policies), S schedule changed since
--          it was read (nothing done for it); or 'F' alone when the lease is not held with this
--          epoch (nothing done at all).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'F'
end
local created, enqueued_at = ARGV[3], rq_now()
-- Per schedule, per missed stretch, per overlap context and per fire, how many ARGV values (see
-- the header; both passes below use them).
local SCHEDULE_ARGS, MISSED_ARGS, OVERLAP_ARGS, FIRE_ARGS = 13, 4, 4, 7
-- Lua's unpack takes a bounded number of values: a multi-value command carries at most this many.
local PER_CALL = 1000
local out = {}
local templates, i = read_job_templates(4)

-- `cmd key args...` for a long list of args, PER_CALL at a time (even: pairs stay whole).
local function flush(cmd, key, args)
  for lo = 1, #args, PER_CALL do
    redis.call(cmd, key, unpack(args, lo, math.min(#args, lo + PER_CALL - 1)))
  end
end

local function hmget(key, fields)
  local values = {}
  for lo = 1, #fields, PER_CALL do
    local part = redis.call('HMGET', key, unpack(fields, lo, math.min(#fields, lo + PER_CALL - 1)))
    for k = 1, #part do values[lo + k - 1] = part[k] end
  end
  return values
end

local function any_exists(keys)
  for lo = 1, #keys, PER_CALL do
    if redis.call('EXISTS', unpack(keys, lo, math.min(#keys, lo + PER_CALL - 1))) > 0 then return true end
  end
  return false
end

-- Job ids to push, per queue in order, pushed at the end: code that reads or changes a queue
-- list in this script must push what is pending for it first.
local pushes, queue_order = {}, {}
local function enqueue(tpl, job, job_id, meta)
  write_job_hash(tpl, job, meta, created, enqueued_at)
  local ids = pushes[tpl.queue]
  if not ids then
    ids = {}
    pushes[tpl.queue] = ids
    queue_order[#queue_order + 1] = tpl.queue
  end
  ids[#ids + 1] = job_id
end

-- Push what is pending for a queue now: before an overlap policy looks at (or takes a job out
-- of) that queue, the jobs this batch enqueued there must be in it.
local function push_pending(queue)
  local ids = pushes[queue]
  if ids and #ids > 0 then
    flush('RPUSH', queue, ids)
    pushes[queue] = {}
  end
end

-- Every fire skipped for overlap (skip, or a buffer policy with no room) is recorded here.
local function skip_fire(runs, stats, cap, skipped_run)
  push_record(runs, cap, skipped_run)
  redis.call('HINCRBY', stats, 'skipped', 1)
end

local rq = {job = ARGV[#ARGV - 3], queue = ARGV[#ARGV - 2], canceled = ARGV[#ARGV - 1], pubsub = ARGV[#ARGV]}

local expired = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', ARGV[2], 'LIMIT', 0, 64)
if #expired > 0 then redis.call('ZREM', KEYS[8], unpack(expired)) end

local nschedules = tonumber(ARGV[i])
i = i + 1
-- A first pass: the schedules' ids (one HMGET of their revisions) and their fires' 0.1 claim
-- markers (one EXISTS: when none exists, no fire needs its own look-up).
local ids, legacy = {}, {}
local at = i
for s = 1, nschedules do
  ids[s] = ARGV[at]
  local nfires, has_overlap = tonumber(ARGV[at + 7]), tonumber(ARGV[at + 4]) >= 0
  at = at + SCHEDULE_ARGS + MISSED_ARGS * tonumber(ARGV[at + 12])
  if has_overlap then at = at + OVERLAP_ARGS end
  for _ = 1, nfires do
    legacy[#legacy + 1] = KEYS[tonumber(ARGV[at + 1])]
    at = at + FIRE_ARGS
  end
end
local revs = hmget(KEYS[2], ids)
local check_legacy = any_exists(legacy)
local check_ooo = redis.call('ZCARD', KEYS[8]) > 0

-- Handled before? (hasched/_dedupe.py `decide`.) Fire times stay strings for writing back:
-- Lua would print a µs number as 1.7e+15.
local function claimed(id, mark, fire, legacy_claim)
  if mark and tonumber(fire) <= tonumber(mark) then return true end
  if check_ooo and redis.call('ZSCORE', KEYS[8], id .. '|' .. fire) then return true end
  return check_legacy and redis.call('EXISTS', legacy_claim) == 1
end

-- Written for the whole batch at the end (ids are distinct within a batch).
local states, due_at, undue, last_jobs, in_flight, counted, counts = {}, {}, {}, {}, {}, {}, {}
for s = 1, nschedules do
  local id, rev, state, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local overlap, tpl = tonumber(ARGV[i + 4]), templates[tonumber(ARGV[i + 5])]
  local mark_key, nfires = KEYS[tonumber(ARGV[i + 6])], tonumber(ARGV[i + 7])
  local runs, stats = KEYS[tonumber(ARGV[i + 8])], KEYS[tonumber(ARGV[i + 9])]
  local cap, prefix, nmissed = ARGV[i + 10], ARGV[i + 11], tonumber(ARGV[i + 12])
  i = i + SCHEDULE_ARGS
  local fresh = revs[s] == rev
  local mark = fresh and redis.call('HGET', mark_key, id)
  for _ = 1, nmissed do
    if fresh then
      push_missed(runs, stats, cap, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
      gap_handled(KEYS[10], stats, id, mark, ARGV[i + 1], ARGV[i + 2])
    end
    i = i + MISSED_ARGS
  end
  local first_mark = not mark
  local prev, enqueued, last_id, moved = nil, 0, nil, false
  if overlap > 0 then prev = KEYS[overlap] end
  local o, f
  if overlap >= 0 then
    o = {policy = ARGV[i], id = id, waiting = KEYS[tonumber(ARGV[i + 1])],
         waiting_set = KEYS[tonumber(ARGV[i + 2])], stopping = KEYS[tonumber(ARGV[i + 3])],
         runs = runs, cap = cap, rq = rq}
    f = {queue = tpl.queue, ttl = tpl.ttl, prefix = prefix}
    f.hash = function() return job_hash(tpl, f.meta, created) end
    i = i + OVERLAP_ARGS
  end
  for _ = 1, nfires do
    local fire, legacy_claim = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
    local job, job_id, meta = KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], ARGV[i + 4]
    local run, skipped_run = ARGV[i + 5], ARGV[i + 6]
    i = i + FIRE_ARGS
    if not fresh then
      out[#out + 1] = 'S'
    elseif claimed(id, mark, fire, legacy_claim) then
      out[#out + 1] = 'C'
    else
      local act = 'E'
      if o then
        o.prev, f.job_id, f.meta, f.skipped = prev, job_id, meta, skipped_run
        push_pending(tpl.queue)
        act = overlap_fire(o, f)
      end
      if act == 'O' then
        skip_fire(runs, stats, cap, skipped_run)
        gap_handled(KEYS[10], stats, id, mark, fire, fire)
        out[#out + 1] = 'O'
      elseif act == 'W' then
        out[#out + 1] = 'W'
      else
        enqueue(tpl, job, job_id, meta)
        push_record(runs, cap, run)
        in_flight[#in_flight + 1], in_flight[#in_flight + 2] = job_id, prefix .. run
        enqueued, last_id, prev = enqueued + 1, job_id, job
        out[#out + 1] = 'E'
      end
      if first_mark and not moved then redis.call('HSETNX', stats, 'origin', fire) end
      mark, moved = fire, true
    end
  end
  if moved then redis.call('HSET', mark_key, id, mark) end
  if enqueued > 0 then
    redis.call('HINCRBY', stats, 'enqueued', enqueued)
    counted[#counted + 1], counts[#counted + 1] = id, enqueued
    last_jobs[#last_jobs + 1], last_jobs[#last_jobs + 2] = id, last_id
  end
  if fresh then
    states[#states + 1], states[#states + 2] = id, state
    if due == '' then
      undue[#undue + 1] = id
    else
      due_at[#due_at + 1], due_at[#due_at + 2] = due, id
    end
  end
end
flush('HSET', KEYS[3], states)
flush('ZREM', KEYS[4], undue)
flush('ZADD', KEYS[4], due_at)
flush('HSET', KEYS[6], last_jobs)
flush('HSET', KEYS[9], in_flight)
if #counted > 0 then  -- HINCRBY for each, as one read and one write
  local before, fires = hmget(KEYS[5], counted), {}
  for k = 1, #counted do
    fires[2 * k - 1], fires[2 * k] = counted[k], string.format('%d', (tonumber(before[k]) or 0) + counts[k])
  end
  flush('HSET', KEYS[5], fires)
end
for _, queue in ipairs(queue_order) do
  flush('RPUSH', queue, pushes[queue])
end
if #queue_order > 0 then redis.call('SADD', KEYS[7], unpack(queue_order)) end
return table.concat(out)
