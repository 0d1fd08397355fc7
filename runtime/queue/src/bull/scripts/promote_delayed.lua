-- Moves delayed jobs that are due to wait (or paused), oldest first, at most
-- 1000 per call, and reports when the next one is due.
-- KEYS: 1 delayed, 2 active, 3 wait, 4 paused, 5 meta-paused, 6 priority
-- ARGV: 1 base, 2 highest due score (now * 4096 + 4095), 3 token
-- Returns {number promoted, lowest remaining score or false}.
local base = ARGV[1]
local due = redis.call("ZRANGEBYSCORE", KEYS[1], 0, ARGV[2], "LIMIT", 0, 1000)
if #due > 0 then
  local list = readyList(KEYS[3], KEYS[4], KEYS[5])
  for _, id in ipairs(due) do
    redis.call("ZREM", KEYS[1], id)
    redis.call("LREM", KEYS[2], 0, id)
    local jobKey = base .. id
    if redis.call("EXISTS", jobKey) == 1 then
      local priority = tonumber(redis.call("HGET", jobKey, "priority")) or 0
      pushReady(list, KEYS[6], id, priority, false)
      redis.call("HSET", jobKey, "delay", 0)
      redis.call("PUBLISH", base .. "waiting@" .. ARGV[3], id)
    end
  end
end
local nextDue = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
if nextDue[2] then
  return {#due, nextDue[2]}
end
return {#due, false}
