-- Which fires were enqueued before, and the gaps that say so (hasched/_dedupe.py states the
-- rules), shared by the scripts that handle fires: _scripts.py puts this file before commit.lua,
-- after_write.lua and backfill.lua.
-- A gap is a member "id|<last µs, 16 digits>|<first µs>" of the namespace's gaps zset (all
-- scores 0): from first to last (both included) no fire of the schedule was enqueued. A
-- schedule's gaps never overlap, so the gap holding a time is the first member at or after it.
-- Times are numbers here and printed with '%.0f': µs fit a double exactly, and Lua would print
-- one as 1.7e+15.

local GAP_CAP = 1000 -- hasched/_dedupe.py GAP_CAP

local function gap_member(id, first, last)
  return id .. '|' .. string.format('%016.0f', last) .. '|' .. string.format('%.0f', first)
end

-- Up to `count` gaps of `id` whose last µs is at or after `from`, oldest first. Ids are
-- [A-Za-z0-9_-], all below '|', so "id|" up to "id}" holds exactly this schedule's members.
local function gaps_from(g, id, from, count)
  local low = '[' .. id .. '|' .. string.format('%016.0f', math.max(from, 0))
  return redis.call('ZRANGEBYLEX', g, low, '(' .. id .. '}', 'LIMIT', 0, count)
end

local function gap_parse(member)
  local last, first = string.match(member, '|(%d+)|(%d+)$')
  return tonumber(first), tonumber(last)
end

-- Is `fire` in a gap of `id`?
local function in_gap(g, id, fire)
  local m = gaps_from(g, id, fire, 1)[1]
  return m ~= nil and gap_parse(m) <= fire
end

-- Calls fn(member, first, last) for each gap of `id` that ends at or after `from`, oldest first,
-- until one starts after `to`.
local function each_gap(g, id, from, to, fn)
  while true do
    local batch = gaps_from(g, id, from, 16)
    for _, m in ipairs(batch) do
      local first, last = gap_parse(m)
      if first > to then return end
      fn(m, first, last)
      from = last + 1
    end
    if #batch < 16 then return end
  end
end

-- Nothing was enqueued from `a` to `b`: add that gap, merged with the gaps it overlaps or
-- touches; beyond GAP_CAP gaps the oldest go (their fires then count as enqueued).
local function gap_add(g, id, a, b)
  local gone = {}
  each_gap(g, id, a - 1, b + 1, function(m, first, last)
    gone[#gone + 1] = m
    a, b = math.min(a, first), math.max(b, last)
  end)
  if #gone > 0 then redis.call('ZREM', g, unpack(gone)) end
  redis.call('ZADD', g, 0, gap_member(id, a, b))
  local n = redis.call('ZLEXCOUNT', g, '[' .. id .. '|', '(' .. id .. '}')
  if n > GAP_CAP then
    redis.call('ZREM', g, unpack(redis.call('ZRANGEBYLEX', g, '[' .. id .. '|', '(' .. id .. '}',
                                            'LIMIT', 0, n - GAP_CAP)))
  end
end

-- Every fire after `lo` up to `hi` is enqueued now: take (lo, hi] out of the gaps of `id`,
-- splitting those that reach beyond it.
local function gap_fill(g, id, lo, hi)
  local gone, keep = {}, {}
  each_gap(g, id, lo + 1, hi, function(m, first, last)
    gone[#gone + 1] = m
    if first <= lo then keep[#keep + 1] = gap_member(id, first, lo) end
    if last > hi then keep[#keep + 1] = gap_member(id, hi + 1, last) end
  end)
  if #gone > 0 then redis.call('ZREM', g, unpack(gone)) end
  for _, m in ipairs(keep) do redis.call('ZADD', g, 0, m) end
end

-- The leader handled fires `first` to `last` without enqueueing them (missed, skipped for
-- overlap, missed while paused). The gap reaches down to just after the mark: nothing between
-- was enqueued, unless a backfill enqueued fires above the mark (`top`, the latest of them),
-- then it starts after those. So a run of skipped fires stays one member.
local function gap_handled(g, stats, id, mark, first, last)
  mark, first, last = tonumber(mark), tonumber(first), tonumber(last)
  local top = tonumber(redis.call('HGET', stats, 'top'))
  local lo = first
  if mark and (not top or top <= mark) then
    lo = mark + 1
  elseif top and top >= lo then
    lo = top + 1
  end
  if lo <= last then gap_add(g, id, lo, last) end
end

-- hasched/_dedupe.py `enqueued_before`: d = {gaps, id, mark, origin} (numbers or nil);
-- `recorded` is an out-of-order record or a 0.1 claim marker of the fire.
local function enqueued_before(d, fire, recorded)
  if recorded then return true end
  if not d.mark or fire > d.mark or (d.origin and fire < d.origin) then return false end
  return not in_gap(d.gaps, d.id, fire)
end
