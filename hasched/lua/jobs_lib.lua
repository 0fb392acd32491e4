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

-- A template's whole job hash as the arguments of one HSET, made at its first fire and kept on
-- the template: the shape's fields, created_at, enqueued_at, meta (each fire puts its own in
-- place, at tpl.meta_at), the call's fields.
local function job_fields(tpl, created, enqueued_at)
  local f = tpl.fields
  if f then return f end
  f = {unpack(ARGV, tpl.shape.first, tpl.shape.last)}
  local n = #f
  f[n + 1], f[n + 2], f[n + 3], f[n + 4], f[n + 5], f[n + 6] =
    'created_at', created, 'enqueued_at', enqueued_at, 'meta', ''
  tpl.meta_at = n + 6
  for k = tpl.first, tpl.last do f[#f + 1] = ARGV[k] end
  tpl.fields = f
  return f
end

-- Write a fire's job hash (one HSET) as RQ's Queue.enqueue_job does; the caller pushes its id.
local function write_job_hash(tpl, job, meta, created, enqueued_at)
  local fields = job_fields(tpl, created, enqueued_at)
  fields[tpl.meta_at] = meta
  redis.call('HSET', job, unpack(fields))
  if tpl.ttl > 0 then redis.call('EXPIRE', job, tpl.ttl) end
end

-- Write a fire's job hash and push it on its queue.
local function write_job(tpl, job, job_id, meta, created, enqueued_at)
  write_job_hash(tpl, job, meta, created, enqueued_at)
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
