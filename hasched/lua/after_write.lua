-- What a client write records besides the schedule itself: the fires missed while it was paused
-- (on a resume) and the pause note. Run in the same MULTI as upsert.lua, right after it, and
-- applied only when that write went through (the revision moved off the one it expected), so a
-- write retried after a CONFLICT records its stretch once. The stretch is a gap too
-- (dedupe_lib.lua): nothing was enqueued in it, which a backfill may fill later.
-- KEYS[1] rev hash, KEYS[2] the schedule's history list, KEYS[3] its stats hash,
-- KEYS[4] its mark hash, KEYS[5] gaps zset
-- ARGV[1] schedule id; ARGV[2] the revision the write expected ('*' any, '' none: a create)
-- ARGV[3] note: 'keep', 'set' or 'clear'; ARGV[4] the note text for 'set'
-- ARGV[5] history cap; ARGV[6] missed reason ('' none), ARGV[7] first µs, ARGV[8] last µs, ARGV[9] count
-- return  - 1 when applied, 0 when the write did not go through
if ARGV[2] ~= '*' and redis.call('HGET', KEYS[1], ARGV[1]) == (ARGV[2] ~= '' and ARGV[2] or false) then
  return 0
end
if ARGV[3] == 'set' then
  redis.call('HSET', KEYS[3], 'note', ARGV[4])
elseif ARGV[3] == 'clear' then
  redis.call('HDEL', KEYS[3], 'note')
end
if ARGV[6] ~= '' then
  push_missed(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
  gap_handled(KEYS[5], KEYS[3], ARGV[1], redis.call('HGET', KEYS[4], ARGV[1]), ARGV[7], ARGV[8])
end
return 1
