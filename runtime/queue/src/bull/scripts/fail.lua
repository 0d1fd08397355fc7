-- Records a failed attempt of a job this worker holds and applies the retry
-- decision made by the worker, all in one step so a crash never leaves a
-- half-written job.
-- KEYS: 1 active, 2 stalled, 3 wait, 4 paused, 5 meta-paused, 6 priority,
--       7 delayed, 8 failed
-- ARGV: 1 base, 2 job id, 3 token, 4 now (ms), 5 failedReason,
--       6 stacktrace (JSON array), 7 attemptsMade,
--       8 next: "delay" | "retry" | "fail",
--       9 delayed score, 10 due ms (for "delay"),
--       11 priority, 12 lifo "1"/"0" (for "retry"),
--       13 keep count, 14 keep age, 15 failed event JSON (for "fail")
-- Returns 0, or a releaseJob error code (nothing is written then).
local base = ARGV[1]
local id = ARGV[2]
local jobKey = base .. id
local code = releaseJob(KEYS[1], KEYS[2], jobKey, id, ARGV[3])
if code ~= 0 then
  return code
end
redis.call("HMSET", jobKey, "stacktrace", ARGV[6], "failedReason", ARGV[5],
  "attemptsMade", ARGV[7])
local step = ARGV[8]
if step == "delay" then
  delayJob(KEYS[7], id, ARGV[9], ARGV[10])
elseif step == "retry" then
  local list = readyList(KEYS[3], KEYS[4], KEYS[5])
  pushReady(list, KEYS[6], id, tonumber(ARGV[11]), ARGV[12] == "1")
else
  finishJob(KEYS[8], base, id, tonumber(ARGV[4]), "failedReason", ARGV[5],
    tonumber(ARGV[13]), tonumber(ARGV[14]))
  redis.call("PUBLISH", KEYS[8], ARGV[15])
end
return 0
