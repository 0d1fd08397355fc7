//! How many jobs a queue holds in each state, for `/metrics` and
//! `lingo status`: the same keys the libraries' own `getJobCounts` reads.
//! "Waiting" is wait, paused (a paused bull queue keeps its jobs there) and
//! bullmq's prioritized set: `LLEN <prefix>:<queue>:wait` alone misses both.

use redis::aio::ConnectionLike;
use serde::Serialize;

use crate::{Protocol, QueueSettings};

/// Jobs by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    pub wait: u64,
    pub paused: u64,
    /// bullmq's prioritized jobs (bull keeps them in wait).
    pub prioritized: u64,
    pub delayed: u64,
    pub active: u64,
    pub completed: u64,
    pub failed: u64,
}

impl Depth {
    /// Jobs waiting to be taken, paused and prioritized ones included.
    pub fn waiting(&self) -> u64 {
        self.wait + self.paused + self.prioritized
    }
}

/// The queue's jobs by state, in one round trip.
pub async fn depth(
    con: &mut impl ConnectionLike,
    settings: &QueueSettings,
    protocol: Protocol,
) -> redis::RedisResult<Depth> {
    let key = |name: &str| format!("{}{name}", settings.key_prefix());
    let mut pipe = redis::pipe();
    pipe.llen(key("wait")).llen(key("paused")).zcard(key("delayed")).llen(key("active"));
    pipe.zcard(key("completed")).zcard(key("failed"));
    if protocol == Protocol::BullMq {
        pipe.zcard(key("prioritized"));
    }
    let counts: Vec<u64> = pipe.query_async(con).await?;
    let at = |i: usize| counts.get(i).copied().unwrap_or(0);
    Ok(Depth {
        wait: at(0),
        paused: at(1),
        delayed: at(2),
        active: at(3),
        completed: at(4),
        failed: at(5),
        prioritized: at(6),
    })
}
