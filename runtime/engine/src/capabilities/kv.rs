//! `kv`: a key-value store whose every key the host prefixes with the
//! tenant and the stage's namespace (`lingo:kv:<tenant>:<namespace>:<key>`).
//! Tenant ids and namespaces cannot contain `:`, so no key a stage writes
//! can land in another namespace.
//!
//! Redis backs it in the worker; an in-memory map backs it in `lingo try`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::bindings::lingo::pipeline::kv::{Host, KvError};
use crate::cpu::metered;
use crate::state::StageState;

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

    /// Writes `key` (already prefixed).
    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), KvError> {
        match self {
            KvStore::Memory(map) => {
                let expiry = ttl.map(|t| Instant::now() + t);
                map.lock().expect("kv map lock").insert(key.to_string(), (value, expiry));
                Ok(())
            }
            KvStore::Redis(conn) => match ttl {
                Some(ttl) => conn.clone().set_ex(key, value, ttl.as_secs().max(1)).await.map_err(unavailable),
                None => conn.clone().set(key, value).await.map_err(unavailable),
            },
        }
    }

    /// Removes `key` (already prefixed).
    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self {
            KvStore::Memory(map) => {
                map.lock().expect("kv map lock").remove(key);
                Ok(())
            }
            KvStore::Redis(conn) => conn.clone().del(key).await.map_err(unavailable),
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
}

impl Kv {
    /// A handle scoped to `tenant` and `namespace`.
    pub fn new(store: KvStore, tenant: &str, namespace: &str, max_value: usize) -> Self {
        Self { store, prefix: key_prefix(tenant, namespace).into(), max_value }
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
        let kv = &self.kv;
        let (result, spent) = metered(self.counts_cpu(), async {
            match kv.key(&key) {
                Ok(key) => kv.store.get(&key).await,
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
        let kv = &self.kv;
        let (result, spent) = metered(self.counts_cpu(), async {
            if value.len() > kv.max_value {
                return Err(KvError::TooLarge(kv.max_value as u64));
            }
            match kv.key(&key) {
                Ok(key) => kv.store.set(&key, value, ttl_seconds.map(Duration::from_secs)).await,
                Err(e) => Err(e),
            }
        })
        .await;
        self.add_host_cpu(spent);
        Ok(result)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), KvError>> {
        let kv = &self.kv;
        let (result, spent) = metered(self.counts_cpu(), async {
            match kv.key(&key) {
                Ok(key) => kv.store.delete(&key).await,
                Err(e) => Err(e),
            }
        })
        .await;
        self.add_host_cpu(spent);
        Ok(result)
    }
}
