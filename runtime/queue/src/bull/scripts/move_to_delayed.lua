-- Sends a job this worker holds back to delayed without counting an attempt
-- (a backend asked us to slow down), and counts the job's rate-limited runs
-- in its hash (ARGV 6), so that a job limited too often spends attempts.
-- Why it waits goes in `failedReason` (ARGV 7), where dashboards show it.
-- KEYS: 1 active, 2 stalled, 3 delayed
-- ARGV: 1 base, 2 job id, 3 token, 4 delayed score, 5 due ms, 6 count field,
--       7 reason
-- Returns 0, or a releaseJob error code.
local id = ARGV[2]
local code = releaseJob(KEYS[1], KEYS[2], ARGV[1] .. id, id, ARGV[3])
if code ~= 0 then
  return code
end
redis.call("HINCRBY", ARGV[1] .. id, ARGV[6], 1)
redis.call("HSET", ARGV[1] .. id, "failedReason", ARGV[7])
delayJob(KEYS[3], id, ARGV[4], ARGV[5])
return 0
