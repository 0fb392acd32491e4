-- Commit a batch of due fires: the one atomic step behind "exactly once".
-- The fence check sits inside the same script as the writes on purpose: a leader paused or cut
-- off after reading the lease could otherwise lose it and still enqueue. Here, either the lease
-- is held with this exact epoch while every write happens, or nothing is written.
-- KEYS[1] lease, KEYS[2] rev hash, KEYS[3] state hash, KEYS[4] due zset, KEYS[5] fires hash,
-- KEYS[6] last-job hash, KEYS[7] RQ's set of queue keys; then the keys the fires name by index.
-- ARGV[1] lease value "instance_id|epoch" this batch was planned under
-- ARGV[2] claim marker TTL in milliseconds
-- ARGV[3] number of schedules; then for each schedule:
--   id, expected revision, new state JSON, new due µs ('' = finished),
--   overlap: '-1' allow, else the KEYS index of the previous job ('0' = none), fire count;
--   then for each fire: claim key index, job key index, queue key index, job id,
--   job TTL in seconds ('0' = none), number of hash fields, then field, value, ... (RQ's job hash)
-- return - one letter per fire in order: E enqueued, C claimed already, O skipped for overlap,
--          S schedule changed since it was read (nothing done for it); or 'F' alone when the
--          lease is not held with this epoch (nothing done at all).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'F'
end
local epoch = string.match(ARGV[1], '|(%d+)$')
local claim_ttl = ARGV[2]
local out = {}
local queues = {}
local i = 4

local function busy(job_key)
  local status = redis.call('HGET', job_key, 'status')
  return status == 'queued' or status == 'started'
end

for _ = 1, tonumber(ARGV[3]) do
  local id, rev, state, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local overlap, nfires = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  i = i + 6
  local fresh = redis.call('HGET', KEYS[2], id) == rev
  local prev = nil
  if overlap > 0 then prev = KEYS[overlap] end
  for _ = 1, nfires do
    local claim, job = KEYS[tonumber(ARGV[i])], KEYS[tonumber(ARGV[i + 1])]
    local queue, job_id = KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3]
    local ttl, nfields = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    local first = i + 6
    i = first + 2 * nfields
    if not fresh then
      out[#out + 1] = 'S'
    elseif redis.call('EXISTS', claim) == 1 then
      out[#out + 1] = 'C'
    elseif overlap >= 0 and prev and busy(prev) then
      redis.call('SET', claim, 'overlap', 'PX', claim_ttl)
      out[#out + 1] = 'O'
    else
      redis.call('SET', claim, epoch, 'PX', claim_ttl)
      redis.call('HSET', job, unpack(ARGV, first, i - 1))
      if ttl > 0 then redis.call('EXPIRE', job, ttl) end
      redis.call('RPUSH', queue, job_id)
      queues[queue] = true
      redis.call('HINCRBY', KEYS[5], id, 1)
      redis.call('HSET', KEYS[6], id, job_id)
      prev = job
      out[#out + 1] = 'E'
    end
  end
  if fresh then
    redis.call('HSET', KEYS[3], id, state)
    if due == '' then
      redis.call('ZREM', KEYS[4], id)
    else
      redis.call('ZADD', KEYS[4], due, id)
    end
  end
end
for queue in pairs(queues) do
  redis.call('SADD', KEYS[7], queue)
end
return table.concat(out)
