-- Gives back a job that BRPOPLPUSH moved to active after shutdown began and
-- that this worker never locked: it returns to the right end of wait (or
-- paused), so it is the next job taken. Does nothing if someone else (the
-- stalled check) already moved it.
-- KEYS: 1 active, 2 wait, 3 paused, 4 meta-paused
-- ARGV: 1 job id
-- Returns 1 when given back, 0 otherwise.
if redis.call("LREM", KEYS[1], -1, ARGV[1]) == 0 then
  return 0
end
redis.call("RPUSH", readyList(KEYS[2], KEYS[3], KEYS[4]), ARGV[1])
return 1
