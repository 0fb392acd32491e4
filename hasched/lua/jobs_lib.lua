-- RQ jobs written from the job templates hasched/_jobs.py makes, shared by the scripts that
-- enqueue fires (commit.lua, backfill.lua): _scripts.py puts this file before them, so a fire
-- enqueued by either is the same job hash, written the same way.
-- ARGV layout read by `read_job_templates`, from index i: number of job shapes; then for each
-- (RQ's job hash minus per-fire and call fields): KEYS index of its queue key, job TTL in seconds
-- ('0' = none), number of fields, then field, value, ...; then number of job templates; then for
-- each: its shape number, number of call fields (data, description), then field, value, ...

-- The templates of ARGV from index i, and the index after them.
local function read_job_templates(i)
  local shapes, templates = {}, {}
  local nshapes = tonumber(ARGV[i])
  i = i + 1
  for t = 1, nshapes do
    local n = tonumber(ARGV[i + 2])
    shapes[t] = {queue = KEYS[tonumber(ARGV[i])], ttl = tonumber(ARGV[i + 1]), first = i + 3,
                 last = i + 2 + 2 * n}
    i = i + 3 + 2 * n
  end
  local ntemplates = tonumber(ARGV[i])
  i = i + 1
  for t = 1, ntemplates do
    local shape, n = shapes[tonumber(ARGV[i])], tonumber(ARGV[i + 1])
    templates[t] = {queue = shape.queue, ttl = shape.ttl, shape = shape, first = i + 2,
                    last = i + 1 + 2 * n}
    i = i + 2 + 2 * n
  end
  return templates, i
end

-- Write a fire's job hash and push it on its queue, as RQ's Queue.enqueue_job does.
local function write_job(tpl, job, job_id, meta, created, enqueued_at)
  redis.call('HSET', job, unpack(ARGV, tpl.shape.first, tpl.shape.last))
  redis.call('HSET', job, 'created_at', created, 'enqueued_at', enqueued_at, 'meta', meta,
             unpack(ARGV, tpl.first, tpl.last))
  if tpl.ttl > 0 then redis.call('EXPIRE', job, tpl.ttl) end
  redis.call('RPUSH', tpl.queue, job_id)
end

-- A fire's whole RQ job hash as {field, value, ...}, for a fire that waits (write_job writes the
-- same when it is enqueued at once).
local function job_hash(tpl, meta, created)
  local h = {unpack(ARGV, tpl.shape.first, tpl.shape.last)}
  for k = tpl.first, tpl.last do h[#h + 1] = ARGV[k] end
  h[#h + 1], h[#h + 2], h[#h + 3], h[#h + 4] = 'created_at', created, 'meta', meta
  return h
end
