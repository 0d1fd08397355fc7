//! `kv`: a key-value store whose every key the host prefixes with the
//! tenant and the stage's namespace (`lingo:kv:<tenant>:<namespace>:<key>`).
//! Tenant ids and namespaces cannot contain `:`, so no key a stage writes
//! can land in another namespace.
//!
//! Redis backs it in the worker; an in-memory map backs it in `lingo try`.
//!
//! Each tenant may keep `limits.max_kv_bytes` (keys and values) and
//! `limits.max_kv_keys` in all its namespaces. In Redis the count lives
//! beside the keys (`lingo:kvq:<tenant>:size`, a hash of key → bytes and the
//! totals, and `lingo:kvq:<tenant>:exp`, the keys by expiry), updated by the
//! same script that writes, so concurrent writers can never pass the quota
//! together; expired keys are forgotten as later writes find them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::bindings::lingo::pipeline::kv::{Host, KvError};
use crate::cpu::metered;
use crate::state::StageState;
use crate::wall::{Limit, Wall};

/// Writes a key within its tenant's quota.
/// KEYS: 1 the key, 2 the tenant's expiry index, 3 the tenant's sizes.
/// ARGV: 1 value, 2 ttl in ms (0: none), 3 now in ms, 4 max bytes, 5 max keys.
/// Returns 1 when written, -1 over the bytes, -2 over the keys.
static SET_WITHIN_QUOTA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r##"
local idx, sizes, now = KEYS[2], KEYS[3], tonumber(ARGV[3])
for _, k in ipairs(redis.call("ZRANGEBYSCORE", idx, "-inf", now, "LIMIT", 0, 64)) do
  local ttl = redis.call("PTTL", k)
  if ttl > 0 then
    redis.call("ZADD", idx, now + ttl, k)
  else
    local gone = tonumber(redis.call("HGET", sizes, k) or "0")
    redis.call("HDEL", sizes, k)
    redis.call("ZREM", idx, k)
    redis.call("HINCRBY", sizes, "#bytes", -gone)
    redis.call("HINCRBY", sizes, "#keys", -1)
  end
end
local size = #KEYS[1] + #ARGV[1]
local old = redis.call("HGET", sizes, KEYS[1])
local bytes = tonumber(redis.call("HGET", sizes, "#bytes") or "0") + size - (tonumber(old) or 0)
local keys = tonumber(redis.call("HGET", sizes, "#keys") or "0") + (old and 0 or 1)
if keys > tonumber(ARGV[5]) then return -2 end
if bytes > tonumber(ARGV[4]) then return -1 end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ttl)
  redis.call("ZADD", idx, now + ttl, KEYS[1])
else
  redis.call("SET", KEYS[1], ARGV[1])
  redis.call("ZADD", idx, "+inf", KEYS[1])
end
redis.call("HSET", sizes, KEYS[1], size, "#bytes", bytes, "#keys", keys)
return 1
"##,
    )
});

/// Removes a key and its count. KEYS as [`SET_WITHIN_QUOTA`].
static DELETE_COUNTED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r##"
redis.call("DEL", KEYS[1])
local old = redis.call("HGET", KEYS[3], KEYS[1])
if old then
  redis.call("HDEL", KEYS[3], KEYS[1])
  redis.call("ZREM", KEYS[2], KEYS[1])
  redis.call("HINCRBY", KEYS[3], "#bytes", -tonumber(old))
  redis.call("HINCRBY", KEYS[3], "#keys", -1)
end
return 1
"##,
    )
});

/// A tenant's `kv` quota and where its count is kept.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Bytes of keys and values.
    pub max_bytes: usize,
    /// Keys.
    pub max_keys: usize,
    /// The Redis key of the tenant's expiry index.
    index: String,
    /// The Redis key of the tenant's sizes.
    sizes: String,
    /// The prefix of all the tenant's keys, for the in-memory count.
    tenant_prefix: String,
}

impl Quota {
    /// `tenant`'s quota.
    pub fn new(tenant: &str, max_bytes: usize, max_keys: usize) -> Self {
        Self {
            max_bytes,
            max_keys,
            index: format!("lingo:kvq:{tenant}:exp"),
            sizes: format!("lingo:kvq:{tenant}:size"),
            tenant_prefix: format!("lingo:kv:{tenant}:"),
        }
    }
}

/// Why a write was refused by the quota.
fn over_quota(code: i64, quota: &Quota) -> KvError {
    let what = if code == -2 {
        format!("{} keys (limits.max_kv_keys)", quota.max_keys)
    } else {
        format!("{} bytes (limits.max_kv_bytes)", quota.max_bytes)
    };
    KvError::Unavailable(format!("the tenant's kv quota is full: {what}"))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64
}

/// Longest key a stage may use, in bytes.
const MAX_KEY: usize = 512;

/// The in-memory map: key → value and when it expires.
type MemoryMap = HashMap<String, (Vec<u8>, Option<Instant>)>;

/// Where the values live; shared by all calls.
#[derive(Clone)]
pub enum KvStore {
    /// A map in this process (for `lingo try` and tests).
    Memory(Arc<Mutex<MemoryMap>>),
    /// A Redis server.
    Redis(ConnectionManager),
}

impl KvStore {
    /// An empty in-memory store.
    pub fn memory() -> Self {
        KvStore::Memory(Arc::default())
    }

    /// A Redis-backed store; connects lazily and reconnects by itself.
    pub async fn redis(url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        Ok(KvStore::Redis(ConnectionManager::new(client).await?))
    }

    /// Reads `key` (already prefixed).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            KvStore::Memory(map) => {
                let map = map.lock().expect("kv map lock");
                let live = map.get(key).filter(|(_, expiry)| expiry.is_none_or(|e| e > Instant::now()));
                Ok(live.map(|(value, _)| value.clone()))
            }
            KvStore::Redis(conn) => conn.clone().get(key).await.map_err(unavailable),
        }
    }

    /// Writes `key` (already prefixed) within `quota`.
    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>, quota: &Quota) -> Result<(), KvError> {
        match self {
            KvStore::Memory(map) => {
                let mut map = map.lock().expect("kv map lock");
                let now = Instant::now();
                let (mut bytes, mut keys) = (key.len() + value.len(), 1);
                for (k, (v, expiry)) in map.iter() {
                    if k.starts_with(&quota.tenant_prefix) && k != key && expiry.is_none_or(|e| e > now) {
                        (bytes, keys) = (bytes + k.len() + v.len(), keys + 1);
                    }
                }
                if keys > quota.max_keys || bytes > quota.max_bytes {
                    return Err(over_quota(if keys > quota.max_keys { -2 } else { -1 }, quota));
                }
                map.insert(key.to_string(), (value, ttl.map(|t| now + t)));
                Ok(())
            }
            KvStore::Redis(conn) => {
                let ttl_ms = ttl.map_or(0, |t| t.as_millis().clamp(1000, 10 * 365 * 86_400_000) as u64);
                let code: i64 = SET_WITHIN_QUOTA
                    .key(key)
                    .key(&quota.index)
                    .key(&quota.sizes)
                    .arg(value)
                    .arg(ttl_ms)
                    .arg(now_ms())
                    .arg(quota.max_bytes)
                    .arg(quota.max_keys)
                    .invoke_async(&mut conn.clone())
                    .await
                    .map_err(unavailable)?;
                if code == 1 { Ok(()) } else { Err(over_quota(code, quota)) }
            }
        }
    }

    /// Removes `key` (already prefixed) and its count in `quota`.
    pub async fn delete(&self, key: &str, quota: &Quota) -> Result<(), KvError> {
        match self {
            KvStore::Memory(map) => {
                map.lock().expect("kv map lock").remove(key);
                Ok(())
            }
            KvStore::Redis(conn) => {
                let mut call = DELETE_COUNTED.key(key);
                call.key(&quota.index).key(&quota.sizes);
                call.invoke_async::<i64>(&mut conn.clone()).await.map(drop).map_err(unavailable)
            }
        }
    }
}

fn unavailable(err: redis::RedisError) -> KvError {
    KvError::Unavailable(err.to_string())
}

/// The kv handle of one stage call: the store, seen through its prefix.
#[derive(Clone)]
pub struct Kv {
    store: KvStore,
    prefix: Arc<str>,
    max_value: usize,
    quota: Arc<Quota>,
    wall: Wall,
    /// Set in a call's own copy once its tenant's quota refused a write:
    /// later writes of the call are refused without asking Redis again.
    full: Option<KvError>,
}

impl Kv {
    /// A handle scoped to `wall`'s tenant and `namespace`, within the
    /// tenant's quota.
    pub fn new(store: KvStore, wall: &Wall, namespace: &str, max_value: usize) -> Self {
        let limits = &wall.limits;
        let quota = Quota::new(&wall.tenant, limits.max_kv_bytes, limits.max_kv_keys);
        Self {
            store,
            prefix: key_prefix(&wall.tenant, namespace).into(),
            max_value,
            quota: Arc::new(quota),
            wall: wall.clone(),
            full: None,
        }
    }

    fn key(&self, key: &str) -> Result<String, KvError> {
        match key.len() {
            0 => Err(KvError::InvalidKey("the key is empty".into())),
            n if n > MAX_KEY => Err(KvError::InvalidKey(format!("the key is {n} bytes; the limit is {MAX_KEY}"))),
            _ => Ok([&*self.prefix, key].concat()),
        }
    }
}

/// The Redis prefix of a tenant's namespace.
pub fn key_prefix(tenant: &str, namespace: &str) -> String {
    format!("lingo:kv:{tenant}:{namespace}:")
}

impl Host for StageState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, KvError>> {
        let (kv, turn) = (&self.kv, self.turn.clone());
        let (result, spent) = metered(self.counts_cpu(), async {
            match kv.key(&key) {
                Ok(key) => turn.away(kv.store.get(&key)).await,
                Err(e) => Err(e),
            }
        })
        .await;
        self.add_host_cpu(spent);
        Ok(result)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u64>,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let (kv, turn) = (&self.kv, self.turn.clone());
        let (result, spent) = metered(self.counts_cpu(), async {
            if value.len() > kv.max_value {
                return Err(KvError::TooLarge(kv.max_value as u64));
            }
            if let Some(full) = &kv.full {
                return Err(full.clone());
            }
            match kv.key(&key) {
                Ok(key) => turn.away(kv.store.set(&key, value, ttl_seconds.map(Duration::from_secs), &kv.quota)).await,
                Err(e) => Err(e),
            }
        })
        .await;
        if matches!(&result, Err(KvError::Unavailable(m)) if m.starts_with("the tenant's kv quota")) {
            self.kv.wall.hit(Limit::KvQuota, 1);
            self.kv.full = result.clone().err();
        }
        self.add_host_cpu(spent);
        Ok(result)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), KvError>> {
        let (kv, turn) = (&self.kv, self.turn.clone());
        let (result, spent) = metered(self.counts_cpu(), async {
            match kv.key(&key) {
                Ok(key) => turn.away(kv.store.delete(&key, &kv.quota)).await,
                Err(e) => Err(e),
            }
        })
        .await;
        self.add_host_cpu(spent);
        Ok(result)
    }
}
