//! The worker's housekeeping, each loop on its own task until shutdown:
//! promoting due delayed jobs (spec A9) and the stalled check (spec A10).
//!
//! Promotion runs at start, at least every 5 s, and at the due time of any
//! delayed job this worker hears of: from its own retries (a channel) or from
//! anyone's `K(delayed)` announcements (see `events`). The stalled check runs
//! at start and every `stalled_interval`, throttled across all workers of
//! the queue by the `stalled-check` key.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::clock::instant_at;
use super::store::Store;
use crate::shared::health::Health;

/// bull's `guardInterval`: the longest promotion may wait.
const PROMOTION_GUARD: Duration = Duration::from_secs(5);

/// Promotes delayed jobs until `stop`; `due` carries due times (epoch ms)
/// announced by anyone.
pub(crate) async fn promote_delayed(
    store: Store,
    health: Arc<Health>,
    mut due: mpsc::Receiver<u64>,
    stop: CancellationToken,
) {
    let mut wake = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sleep_until(wake) => wake = promote_once(&store, &health).await,
            Some(due_ms) = due.recv() => wake = wake.min(instant_at(due_ms)),
        }
    }
}

/// One promotion; returns when the next one is due.
async fn promote_once(store: &Store, health: &Health) -> Instant {
    let guard = Instant::now() + PROMOTION_GUARD;
    match store.promote_delayed().await {
        Ok((promoted, next_due)) => {
            health.ok();
            if promoted > 0 {
                debug!(promoted, "delayed jobs promoted to wait");
            }
            next_due.map_or(guard, |ms| guard.min(instant_at(ms)))
        }
        Err(err) => {
            health.failed(&err);
            guard
        }
    }
}

/// Runs the stalled check every `interval` until `stop`.
pub(crate) async fn check_stalled(
    store: Store,
    health: Arc<Health>,
    interval: Duration,
    max_stalled: u32,
    stop: CancellationToken,
) {
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    loop {
        match store.check_stalled(max_stalled, interval_ms).await {
            Ok(report) => {
                health.ok();
                for id in report.iter().flat_map(|r| &r.recovered) {
                    warn!(job.id = %id, "stalled job moved back to wait");
                }
                for id in report.iter().flat_map(|r| &r.failed) {
                    warn!(job.id = %id, "job stalled more than allowable limit; failed");
                }
            }
            Err(err) => health.failed(&err),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
