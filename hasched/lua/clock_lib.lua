-- Redis's clock as RQ writes timestamps, for scripts that enqueue jobs: _scripts.py puts this
-- file before release_waiting.lua.

-- (RQ's text form '%Y-%m-%dT%H:%M:%S.%fZ' of Redis's clock now, now in µs). Civil date from days
-- since the epoch: H. Hinnant's algorithm; Redis's Lua has no os.date.
local function rq_now()
  local t = redis.call('TIME')
  local secs, usec = tonumber(t[1]), tonumber(t[2])
  local rem = secs % 86400
  local z = (secs - rem) / 86400 + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', year, month, day,
                       math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, usec),
         secs * 1000000 + usec
end
