-- Helpers shared by the lingo bull v4 scripts. This file is prepended to each
-- script that needs it (see scripts.rs), so every helper is a local function.
-- `base` is always the queue's key prefix, e.g. "bull:translation-jobs:".

-- Where push-backs go: `paused` while the queue is globally paused (resume
-- RENAMEs paused over wait, so anything pushed to wait meanwhile is lost).
local function readyList(waitKey, pausedKey, metaPausedKey)
  if redis.call("EXISTS", metaPausedKey) == 1 then
    return pausedKey
  end
  return waitKey
end

-- Queues `id` on `list` the way bull's producer does: priority 0 goes to the
-- left (or right when lifo); a prioritized job is indexed in the priority zset
-- and placed just left of every queued job with a priority <= its own, so
-- prioritized jobs sit at the right end, lowest number first.
local function pushReady(list, priorityKey, id, priority, lifo)
  if priority <= 0 then
    if lifo then
      redis.call("RPUSH", list, id)
    else
      redis.call("LPUSH", list, id)
    end
    return
  end
  redis.call("ZADD", priorityKey, priority, id)
  local ahead = redis.call("ZCOUNT", priorityKey, 0, priority) - 1
  local pivot = redis.call("LINDEX", list, redis.call("LLEN", list) - ahead)
  if pivot then
    redis.call("LINSERT", list, "BEFORE", pivot, id)
  else
    redis.call("RPUSH", list, id)
  end
end

-- Checks that `token` holds the job and takes it off `active`.
-- Returns 0, or -1 (hash missing), -2 (lock missing), -6 (lock held by another
-- token), -3 (not in active).
local function releaseJob(activeKey, stalledKey, jobKey, id, token)
  if redis.call("EXISTS", jobKey) == 0 then
    return -1
  end
  local lockKey = jobKey .. ":lock"
  local holder = redis.call("GET", lockKey)
  if not holder then
    return -2
  end
  if holder ~= token then
    return -6
  end
  redis.call("DEL", lockKey)
  redis.call("SREM", stalledKey, id)
  if redis.call("LREM", activeKey, -1, id) == 0 then
    return -3
  end
  return 0
end

local function deleteJob(base, id)
  redis.call("DEL", base .. id, base .. id .. ":logs")
end

-- Trims a finished set to the job's keep policy: members older than `age`
-- seconds, then all but the newest `count`, lose their hash and logs too.
local function trimFinished(setKey, base, finishedOn, age, count)
  if age > 0 then
    local limit = finishedOn - age * 1000
    local old = redis.call("ZRANGEBYSCORE", setKey, "-inf", limit)
    for _, oldId in ipairs(old) do
      deleteJob(base, oldId)
    end
    redis.call("ZREMRANGEBYSCORE", setKey, "-inf", limit)
  end
  if count > 0 then
    local old = redis.call("ZREVRANGE", setKey, count, -1)
    for _, oldId in ipairs(old) do
      deleteJob(base, oldId)
    end
    redis.call("ZREMRANGEBYRANK", setKey, 0, -(count + 1))
  end
end

-- Records a final outcome: `field` = `value` plus finishedOn in the hash and
-- the id in `setKey` (completed or failed), unless the keep policy says to
-- delete the job outright (count 0). Count -1 keeps everything.
local function finishJob(setKey, base, id, finishedOn, field, value, count, age)
  local jobKey = base .. id
  local deid = redis.call("HGET", jobKey, "deid")
  if deid then
    local debounceKey = base .. "de:" .. deid
    local ttl = redis.call("PTTL", debounceKey)
    if ttl == 0 or ttl == -1 then
      redis.call("DEL", debounceKey)
    end
  end
  if count == 0 then
    deleteJob(base, id)
    return
  end
  redis.call("ZADD", setKey, finishedOn, id)
  redis.call("HMSET", jobKey, field, value, "finishedOn", finishedOn)
  trimFinished(setKey, base, finishedOn, age, count)
end

-- Puts a released job on the delayed zset and announces its due time.
local function delayJob(delayedKey, id, score, dueMs)
  redis.call("ZADD", delayedKey, score, id)
  redis.call("PUBLISH", delayedKey, dueMs)
end

-- Takes a job for `token`: pops the next id from wait (when `id` is ""),
-- locks it, marks it processed and returns {id, hash}. Returns nil when wait
-- is empty (and announces "drained"), {id, false} when the popped id has no
-- hash (it is dropped from active). Shared by moveToActive and by the
-- completion that fetches the next job in the same call.
local function takeJob(waitKey, activeKey, priorityKey, stalledKey, base, token, lockMs, now, id)
  if id == "" then
    id = redis.call("RPOPLPUSH", waitKey, activeKey)
    if not id then
      redis.call("PUBLISH", base .. "drained", "")
      return nil
    end
  end
  local jobKey = base .. id
  if redis.call("EXISTS", jobKey) == 0 then
    redis.call("LREM", activeKey, -1, id)
    return {id, false}
  end
  redis.call("SET", jobKey .. ":lock", token, "PX", lockMs)
  redis.call("SREM", stalledKey, id)
  redis.call("ZREM", priorityKey, id)
  redis.call("PUBLISH", base .. "active@" .. token, id)
  redis.call("HSET", jobKey, "processedOn", now)
  return {id, redis.call("HGETALL", jobKey)}
end
