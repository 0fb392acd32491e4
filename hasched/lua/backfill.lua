-- Backfill one chunk of a schedule's fires (hasched/_backfill.py): in one atomic step, each fire
-- not enqueued before (dedupe_lib.lua `enqueued_before`, checked here, so a fire the live leader
-- or another backfill enqueued meanwhile is left alone) goes through the schedule's overlap
-- policy (overlap_lib.lua) and is enqueued as the commit enqueues it (jobs_lib.lua: same job
-- hash, same job id), with its run record (kind backfill) and its in-flight entry. Then what it
-- did is recorded so the rule holds for these fires too (hasched/_dedupe.py): while the leader
-- can plan no fire up to `hi` (paused, finished, or its next fire is later) the mark moves up
-- to `hi`, the origin down to just after `lo`, the stretch from the old mark to `lo` becomes a
-- gap and (lo, hi] leaves the gaps; otherwise each fire enqueued above the mark gets an
-- out-of-order record, which the leader's commit counts as claimed.
-- Not fenced by the lease: a client action, exactly-once comes from the re-check.
-- KEYS[1] defs hash, KEYS[2] paused set, KEYS[3] state hash, KEYS[4] the schedule's mark hash,
-- KEYS[5] its stats hash, KEYS[6] its history list, KEYS[7] gaps zset, KEYS[8] out-of-order
-- zset, KEYS[9] in-flight hash, KEYS[10] fires hash, KEYS[11] last-job hash, KEYS[12] RQ's set
-- of queue keys, KEYS[13] its waiting list, KEYS[14] set of schedules with waiting fires,
-- KEYS[15] stopping hash, KEYS[16] rev hash; then the keys named by index below.
-- ARGV[1] schedule id, ARGV[2] lo µs, ARGV[3] hi µs: the chunk covers (lo, hi]
-- ARGV[4] how long an out-of-order record is kept, in µs; ARGV[5] '1' dry run (nothing written)
-- ARGV[6] overlap policy, ARGV[7] history cap, ARGV[8] in-flight value prefix,
-- ARGV[9] RQ timestamp text for created_at; ARGV[10..13] RQ's prefixes of job keys, queue keys,
-- canceled registry keys and worker channels
-- ARGV[14] the schedule's revision the fires were worked out from
-- ARGV[15] on: one job shape and template (layout in jobs_lib.lua); then the number of fires,
--   then for each, oldest first: fire µs, KEYS index of its 0.1 claim marker, KEYS index of its
--   job key, job id, serialised meta, its run record if enqueued, if skipped for overlap
-- return - one letter per fire: E enqueued (in a dry run: would be), W waiting for the previous
--          job, O skipped for overlap, C enqueued before; error GONE when the schedule is gone,
--          CHANGED when it was written since (its fire times may differ): nothing done
local id, lo, hi = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local dry, policy, cap, prefix, created = ARGV[5] == '1', ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return redis.error_reply('GONE') end
if redis.call('HGET', KEYS[16], id) ~= ARGV[14] then return redis.error_reply('CHANGED') end
local stats, runs, gaps, ooo = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local enqueued_at, now = rq_now()
local rq = {job = ARGV[10], queue = ARGV[11], canceled = ARGV[12], pubsub = ARGV[13]}
local templates, i = read_job_templates(15)
local tpl = templates[1]
local d = {gaps = gaps, id = id, mark = tonumber(redis.call('HGET', KEYS[4], id)),
           origin = tonumber(redis.call('HGET', stats, 'origin'))}
local state = redis.call('HGET', KEYS[3], id)
local nxt = state and cjson.decode(state).next
if nxt == cjson.null then nxt = nil end
local settle = redis.call('SISMEMBER', KEYS[2], id) == 1 or not nxt or nxt > hi
-- fires up to here are at or below the mark once this chunk is done
local fill_hi = settle and hi or math.min(hi, d.mark or -1)
if not dry then
  local expired = redis.call('ZRANGEBYSCORE', ooo, '-inf', now, 'LIMIT', 0, 64)
  if #expired > 0 then redis.call('ZREM', ooo, unpack(expired)) end
end

local prev_id = redis.call('HGET', KEYS[11], id)
local prev = prev_id and rq.job .. prev_id or nil
local o
if policy ~= 'allow' then
  o = {policy = policy, id = id, waiting = KEYS[13], waiting_set = KEYS[14], stopping = KEYS[15],
       runs = runs, cap = cap, rq = rq}
end
local top0 = tonumber(redis.call('HGET', stats, 'top'))
local out, enqueued, last_id, top, skips, open = {}, 0, nil, top0, {}, false
local keep = tonumber(ARGV[4])
local nfires = tonumber(ARGV[i])
i = i + 1
for _ = 1, nfires do
  local fire_s, legacy, job = ARGV[i], KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])]
  local job_id, meta, run, skipped = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  i = i + 7
  local fire = tonumber(fire_s)
  local recorded = redis.call('ZSCORE', ooo, id .. '|' .. fire_s) or redis.call('EXISTS', legacy) == 1
  local act = 'C'
  if not enqueued_before(d, fire, recorded) then
    act = 'E'
    if o and not dry then
      o.prev = prev
      act = overlap_fire(o, {job_id = job_id, queue = tpl.queue, ttl = tpl.ttl, prefix = prefix,
                             skipped = skipped, hash = function() return job_hash(tpl, meta, created) end})
    end
  end
  if not dry and act == 'O' then
    push_record(runs, cap, skipped)
    redis.call('HINCRBY', stats, 'skipped', 1)
  elseif not dry and act ~= 'C' then
    if act == 'E' then
      write_job(tpl, job, job_id, meta, created, enqueued_at)
      push_record(runs, cap, run)
      redis.call('HSET', KEYS[9], job_id, prefix .. run)
      enqueued, last_id, prev = enqueued + 1, job_id, job
    end
    if not settle and (not d.mark or fire > d.mark) then
      redis.call('ZADD', ooo, now + keep, id .. '|' .. fire_s)
      top = math.max(top or fire, fire)
    end
  end
  -- consecutive fires skipped for overlap at or below the mark-to-be stay one gap
  if act == 'O' and not dry and fire <= fill_hi then
    if open then skips[#skips][2] = fire else skips[#skips + 1] = {fire, fire} end
    open = true
  else
    open = false
  end
  out[#out + 1] = act
end
if dry then return table.concat(out) end

if enqueued > 0 then
  redis.call('HINCRBY', stats, 'enqueued', enqueued)
  redis.call('HINCRBY', KEYS[10], id, enqueued)
  redis.call('HSET', KEYS[11], id, last_id)
  redis.call('SADD', KEYS[12], tpl.queue)
end
if top ~= top0 then redis.call('HSET', stats, 'top', string.format('%.0f', top)) end
local mark, origin = d.mark, d.origin
if settle and (not mark or hi > mark) then
  if mark then -- nothing was enqueued after the old mark up to lo (above `top`)
    local floor = math.max(mark, top0 or mark)
    if lo > floor then gap_add(gaps, id, floor + 1, lo) end
  end
  redis.call('HSET', KEYS[4], id, string.format('%.0f', hi))
  mark = hi
end
if mark then
  if not origin and not d.mark then
    origin = lo + 1
  elseif origin and lo + 1 < origin then -- fires before the origin were never enqueued
    if fill_hi + 1 <= origin - 1 then gap_add(gaps, id, fill_hi + 1, origin - 1) end
    origin = lo + 1
  end
  if origin and origin ~= d.origin then redis.call('HSET', stats, 'origin', string.format('%.0f', origin)) end
  if fill_hi > lo then gap_fill(gaps, id, lo, fill_hi) end
  for _, s in ipairs(skips) do gap_add(gaps, id, s[1], s[2]) end
end
return table.concat(out)
