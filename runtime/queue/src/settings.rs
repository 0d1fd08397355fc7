//! Where the queue lives and how the worker takes from it.

use std::time::Duration;

use crate::fair::{SlotPool, TenantSlots};

pub use lingo_config::Protocol;

/// Everything an adapter needs to find its queue and pace its work.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// `redis://host:port/db` of the queue's Redis.
    pub redis_url: String,
    /// Key prefix, `bull` by default; `{bull}` for Redis Cluster.
    pub prefix: String,
    /// The queue name, `translation-jobs` by default.
    pub queue: String,
    /// How many jobs run at once.
    pub concurrency: usize,
    /// How long a lock lasts without renewal (renewed at half of it).
    pub lock_duration: Duration,
    /// How often the stalled check runs.
    pub stalled_interval: Duration,
    /// How many times a job may stall before it fails.
    pub max_stalled_count: u32,
    /// How long in-flight jobs may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// How long one blocking fetch waits on an empty queue before trying
    /// again (bull's `drainDelay`; whole seconds, at least 1).
    pub drain_delay: Duration,
    /// The shared pool this queue's jobs take their slots from (hosted mode);
    /// `None` gives the queue a pool of its own with `concurrency` slots.
    pub slots: Option<TenantSlots>,
}

impl QueueSettings {
    /// Settings with the defaults of the Node libraries for everything but
    /// the Redis URL.
    pub fn new(redis_url: impl Into<String>) -> Self {
        Self {
            redis_url: redis_url.into(),
            prefix: "bull".into(),
            queue: "translation-jobs".into(),
            concurrency: 4,
            lock_duration: Duration::from_secs(30),
            stalled_interval: Duration::from_secs(30),
            max_stalled_count: 1,
            shutdown_grace: Duration::from_secs(10),
            drain_delay: Duration::from_secs(5),
            slots: None,
        }
    }

    /// Where this queue's jobs take their slots: the shared pool, or one of
    /// its own sized `concurrency`.
    pub fn tenant_slots(&self) -> TenantSlots {
        self.slots.clone().unwrap_or_else(|| SlotPool::new(self.concurrency).tenant("default", 1, self.concurrency))
    }

    /// `<prefix>:<queue>:`, the start of every key of this queue.
    pub fn key_prefix(&self) -> String {
        format!("{}:{}:", self.prefix, self.queue)
    }
}
