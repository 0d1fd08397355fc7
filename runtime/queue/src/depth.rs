//! How many jobs wait in a queue, for metrics: the same lists the libraries'
//! own `getWaitingCount` reads (plus bullmq's priority set and paused jobs).

use redis::aio::ConnectionLike;

use crate::{Protocol, QueueSettings};

/// Jobs waiting to be taken (paused ones included).
pub async fn waiting_jobs(
    con: &mut impl ConnectionLike,
    settings: &QueueSettings,
    protocol: Protocol,
) -> redis::RedisResult<u64> {
    let key = |name: &str| format!("{}{name}", settings.key_prefix());
    let mut pipe = redis::pipe();
    pipe.llen(key("wait")).llen(key("paused"));
    if protocol == Protocol::BullMq {
        pipe.zcard(key("prioritized"));
    }
    let counts: Vec<u64> = pipe.query_async(con).await?;
    Ok(counts.iter().sum())
}
