-- Sends a job this worker holds back to delayed without counting an attempt
-- (a backend asked us to slow down); the job hash is left as it is.
-- KEYS: 1 active, 2 stalled, 3 delayed
-- ARGV: 1 base, 2 job id, 3 token, 4 delayed score, 5 due ms
-- Returns 0, or a releaseJob error code.
local id = ARGV[2]
local code = releaseJob(KEYS[1], KEYS[2], ARGV[1] .. id, id, ARGV[3])
if code ~= 0 then
  return code
end
delayJob(KEYS[3], id, ARGV[4], ARGV[5])
return 0
