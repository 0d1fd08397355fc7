//! Listening to `K(delayed)`: producers and workers announce there the due
//! time (ms, maybe fractional) of every job they delay, so promotion can run
//! right when it is due rather than on the next 5 s guard tick (spec A9).
//!
//! The subscription reconnects with backoff after Redis goes away; missing
//! announcements meanwhile only delays promotion to the guard tick.

use std::time::Duration;

use futures::StreamExt;
use redis::{Client, RedisResult};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::clock::parse_due;
use crate::shared::health::Backoff;

/// Forwards due times announced on `channel` to `due` until `stop`.
pub(crate) async fn forward_delayed(client: Client, channel: String, due: mpsc::Sender<u64>, stop: CancellationToken) {
    let mut backoff = Backoff::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            ended = listen(&client, &channel, &due, &mut backoff) => {
                if let Err(err) = ended {
                    debug!(error = %err, "delayed subscription failed; reconnecting");
                }
            }
        }
        if !backoff.sleep(&stop).await {
            return;
        }
    }
}

/// Subscribes and forwards until the connection ends.
async fn listen(client: &Client, channel: &str, due: &mpsc::Sender<u64>, backoff: &mut Backoff) -> RedisResult<()> {
    let connect = client.get_async_pubsub();
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    pubsub.subscribe(channel).await?;
    backoff.reset();
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let payload: String = message.get_payload().unwrap_or_default();
        if let Some(due_ms) = parse_due(&payload) {
            // A full channel only means promotion waits for its guard tick.
            let _ = due.try_send(due_ms);
        }
    }
    Ok(())
}
