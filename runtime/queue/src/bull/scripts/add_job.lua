-- Adds a job exactly as bull's Queue.add does for a plain job (spec A3):
-- next id from the counter, the hash, the job onto wait (or paused while the
-- queue is paused), and the `waiting@<token>` notification.
-- KEYS: id counter, wait, paused, meta-paused, priority
-- ARGV: base, name, data, opts, timestamp, token
local base = ARGV[1]
local id = tostring(redis.call("INCR", KEYS[1]))
redis.call("HMSET", base .. id,
  "name", ARGV[2], "data", ARGV[3], "opts", ARGV[4],
  "timestamp", ARGV[5], "delay", "0", "priority", "0")
pushReady(readyList(KEYS[2], KEYS[3], KEYS[4]), KEYS[5], id, 0, false)
redis.call("PUBLISH", base .. "waiting@" .. ARGV[6], id)
return id
