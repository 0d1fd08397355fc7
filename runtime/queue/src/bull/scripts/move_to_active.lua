-- Takes a job: locks it for this worker and returns its hash.
-- KEYS: 1 wait, 2 active, 3 priority, 4 stalled
-- ARGV: 1 base, 2 token, 3 lock duration (ms), 4 now (ms),
--       5 job id already moved to active by BRPOPLPUSH, or "" to pop one here
-- Returns nil when wait is empty, {id, false} when the popped id has no hash
-- (it is dropped from active), else {id, {field, value, ...}}.
return takeJob(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
