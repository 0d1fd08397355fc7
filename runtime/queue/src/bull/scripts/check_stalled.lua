-- The stalled check, throttled across all workers of the queue by the
-- stalled-check key. Jobs marked by the previous check that are still in
-- active without a lock were abandoned (their worker died): they go back to
-- the right end of wait (run next), or fail once they have stalled more than
-- the allowed count. Then every active job is marked for the next check.
-- KEYS: 1 stalled, 2 wait, 3 active, 4 failed, 5 stalled-check,
--       6 meta-paused, 7 paused
-- ARGV: 1 max stalled count, 2 base, 3 now (ms), 4 stalled interval (ms)
-- Returns {recovered ids, failed ids}, or false when throttled.
if redis.call("EXISTS", KEYS[5]) == 1 then
  return false
end
redis.call("SET", KEYS[5], ARGV[3], "PX", ARGV[4])
local base = ARGV[2]
local now = tonumber(ARGV[3])
local maxStalled = tonumber(ARGV[1])
local reason = "job stalled more than allowable limit"

-- removeOnFail of a job's opts, as {count, age} (see finishJob).
local function keepOnFail(jobKey)
  local raw = redis.call("HGET", jobKey, "opts")
  if not raw then return -1, 0 end
  local ok, opts = pcall(cjson.decode, raw)
  if not ok or type(opts) ~= "table" then return -1, 0 end
  local keep = opts["removeOnFail"]
  if keep == true then return 0, 0 end
  if type(keep) == "number" then return math.floor(keep), 0 end
  if type(keep) == "table" then
    local count = tonumber(keep["count"]) or -1
    return math.floor(count), tonumber(keep["age"]) or 0
  end
  return -1, 0
end

local recovered, failed = {}, {}
local marked = redis.call("SMEMBERS", KEYS[1])
redis.call("DEL", KEYS[1])
for _, id in ipairs(marked) do
  local jobKey = base .. id
  if redis.call("EXISTS", jobKey .. ":lock") == 0
      and redis.call("LREM", KEYS[3], 1, id) > 0
      and redis.call("EXISTS", jobKey) == 1 then
    if redis.call("HINCRBY", jobKey, "stalledCounter", 1) > maxStalled then
      local count, age = keepOnFail(jobKey)
      finishJob(KEYS[4], base, id, now, "failedReason", reason, count, age)
      redis.call("PUBLISH", KEYS[4], cjson.encode({jobId = id, val = reason}))
      table.insert(failed, id)
    else
      redis.call("RPUSH", readyList(KEYS[2], KEYS[7], KEYS[6]), id)
      redis.call("PUBLISH", base .. "stalled@", id)
      table.insert(recovered, id)
    end
  end
end

for _, id in ipairs(redis.call("LRANGE", KEYS[3], 0, -1)) do
  redis.call("SADD", KEYS[1], id)
end
return {recovered, failed}
