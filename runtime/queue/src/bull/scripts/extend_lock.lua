-- Renews a job lock if this worker still holds it, and unmarks it as stalled.
-- KEYS: 1 job lock, 2 stalled
-- ARGV: 1 token, 2 lock duration (ms), 3 job id
-- Returns 1 when renewed, 0 when the lock is gone or held by someone else.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  redis.call("SREM", KEYS[2], ARGV[3])
  return 1
end
return 0
