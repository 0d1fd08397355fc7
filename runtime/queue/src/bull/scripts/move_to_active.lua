-- Takes a job: locks it for this worker and returns its hash.
-- KEYS: 1 wait, 2 active, 3 priority, 4 stalled
-- ARGV: 1 base, 2 token, 3 lock duration (ms), 4 now (ms),
--       5 job id already moved to active by BRPOPLPUSH, or "" to pop one here
-- Returns nil when wait is empty, {id, false} when the popped id has no hash
-- (it is dropped from active), else {id, {field, value, ...}}.
local base = ARGV[1]
local id = ARGV[5]
if id == "" then
  id = redis.call("RPOPLPUSH", KEYS[1], KEYS[2])
  if not id then
    redis.call("PUBLISH", base .. "drained", "")
    return nil
  end
end
local jobKey = base .. id
if redis.call("EXISTS", jobKey) == 0 then
  redis.call("LREM", KEYS[2], -1, id)
  return {id, false}
end
redis.call("SET", jobKey .. ":lock", ARGV[2], "PX", ARGV[3])
redis.call("SREM", KEYS[4], id)
redis.call("ZREM", KEYS[3], id)
redis.call("PUBLISH", base .. "active@" .. ARGV[2], id)
redis.call("HSET", jobKey, "processedOn", ARGV[4])
return {id, redis.call("HGETALL", jobKey)}
