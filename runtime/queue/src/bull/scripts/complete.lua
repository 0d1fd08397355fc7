-- Completes a job this worker holds: releases it, stores the return value
-- (or deletes the job, per removeOnComplete) and publishes the outcome, in
-- one step so a producer waiting on pub/sub never misses it.
-- KEYS: 1 active, 2 completed, 3 stalled
-- ARGV: 1 base, 2 job id, 3 token, 4 finishedOn (ms), 5 return value (JSON
--       text), 6 keep count (-1 all, 0 none, n), 7 keep age (s, 0 none),
--       8 completed event JSON
-- Returns 0, or a releaseJob error code.
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
return 0
