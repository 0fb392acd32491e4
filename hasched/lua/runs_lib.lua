-- Run records (hasched/_runs.py states the rules), shared by the scripts that write them:
-- _scripts.py puts this file before commit.lua, track.lua, after_write.lua and trigger_run.lua.
-- A record is compact JSON text made by Python; here it is only pushed, found and replaced, never
-- decoded (Lua numbers would print a µs time as 1.7e+15). Only a missed record is read, by shape.

-- Push a record onto a schedule's history (newest first) and keep the newest `cap` (LPUSH
-- answers the length: a history not yet full needs no trim).
local function push_record(runs, cap, record)
  if redis.call('LPUSH', runs, record) > tonumber(cap) then
    redis.call('LTRIM', runs, 0, tonumber(cap) - 1)
  end
end

-- Record a stretch of missed fires: it extends the newest record when that one is a missed
-- stretch with the same reason that ends before it (hasched/_runs.py `fold`), else it is pushed.
local function push_missed(runs, stats, cap, reason, first, last, count)
  local head = redis.call('LINDEX', runs, 0)
  local r, f, l, c
  if head then r, f, l, c = string.match(head, '^%["m","([%w_]+)",(%d+),(%d+),(%d+)%]$') end
  if r == reason and tonumber(first) > tonumber(l) then
    local total = string.format('%d', tonumber(c) + tonumber(count))
    redis.call('LSET', runs, 0, '["m","' .. r .. '",' .. f .. ',' .. last .. ',' .. total .. ']')
  else
    push_record(runs, cap, '["m","' .. reason .. '",' .. first .. ',' .. last .. ',' .. count .. ']')
  end
  redis.call('HINCRBY', stats, 'missed', count)
end

-- Replace a record in place (found by its exact text, newest first); nothing when it was
-- trimmed out of the history already.
local function replace_record(runs, old, new)
  local at = redis.call('LPOS', runs, old)
  if at then redis.call('LSET', runs, at, new) end
end

