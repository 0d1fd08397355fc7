-- Completes a job this worker holds: releases it, stores the return value
-- (or deletes the job, per removeOnComplete) and publishes the outcome, in
-- one step so a producer waiting on pub/sub never misses it; then, when
-- asked, takes the next job in the same call, as bull's moveToFinished does.
-- KEYS: 1 active, 2 completed, 3 stalled, 4 wait, 5 priority
-- ARGV: 1 base, 2 job id, 3 token, 4 finishedOn (ms), 5 return value (JSON
--       text), 6 keep count (-1 all, 0 none, n), 7 keep age (s, 0 none),
--       8 completed event JSON, 9 fetch next ("1" or "0"), 10 lock duration
--       (ms)
-- Returns a releaseJob error code; or 0 when no next job was taken; or the
-- next job as moveToActive returns it.
local base = ARGV[1]
local id = ARGV[2]
local code = releaseJob(KEYS[1], KEYS[3], base .. id, id, ARGV[3])
if code ~= 0 then
  return code
end
local finishedOn = tonumber(ARGV[4])
finishJob(KEYS[2], base, id, finishedOn, "returnvalue", ARGV[5],
  tonumber(ARGV[6]), tonumber(ARGV[7]))
redis.call("PUBLISH", KEYS[2], ARGV[8])
if ARGV[9] ~= "1" then
  return 0
end
return takeJob(KEYS[4], KEYS[1], KEYS[5], KEYS[3], base, ARGV[3], ARGV[10], ARGV[4], "") or 0
