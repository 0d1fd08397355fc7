//! A worker's start and end, the same for both protocols: the command
//! connection's settings, the checks on settings, the shutdown grace, and
//! waiting for the jobs in flight.

use std::time::Duration;

use redis::aio::ConnectionManagerConfig;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::{QueueError, QueueSettings};

/// The command connection: few quick connection retries so that start-up
/// fails fast and outages surface to our own backoff loops, which log them.
pub(crate) fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_secs(1))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(5)))
}

pub(crate) fn check_settings(settings: &QueueSettings) -> Result<(), QueueError> {
    let invalid = |name, reason: &str| Err(QueueError::InvalidSetting { name, reason: reason.into() });
    if settings.concurrency == 0 {
        return invalid("concurrency", "must be at least 1");
    }
    if settings.lock_duration < Duration::from_millis(2) {
        return invalid("lock_duration", "must be at least 2 ms");
    }
    if settings.stalled_interval.is_zero() {
        return invalid("stalled_interval", "must be more than 0");
    }
    Ok(())
}

/// Cancels `hard_stop` once `shutdown_grace` has passed after `shutdown`.
pub(crate) fn spawn_grace_timer(
    shutdown: CancellationToken,
    hard_stop: CancellationToken,
    grace: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        shutdown.cancelled().await;
        tokio::select! {
            _ = hard_stop.cancelled() => {}
            _ = tokio::time::sleep(grace) => hard_stop.cancel(),
        }
    })
}

/// Waits for in-flight jobs; at `hard_stop` abandons the rest, which stay
/// locked in active until their locks expire and stalled recovery runs them.
pub(crate) async fn finish_in_flight(jobs: &mut JoinSet<()>, hard_stop: &CancellationToken) {
    if !jobs.is_empty() {
        info!(in_flight = jobs.len(), "waiting for in-flight jobs to finish");
    }
    loop {
        tokio::select! {
            joined = jobs.join_next() => match joined {
                Some(result) => log_join("job task", result),
                None => return,
            },
            _ = hard_stop.cancelled() => {
                info!(abandoned = jobs.len(), "shutdown grace over; unfinished jobs left for stalled recovery");
                jobs.shutdown().await;
                return;
            }
        }
    }
}

/// Collects finished job tasks so the set does not grow.
pub(crate) fn reap(jobs: &mut JoinSet<()>) {
    while let Some(result) = jobs.try_join_next() {
        log_join("job task", result);
    }
}

/// Logs a task's panic; `what` names the task.
pub(crate) fn log_join(what: &str, result: Result<(), tokio::task::JoinError>) {
    if let Err(err) = result
        && err.is_panic()
    {
        error!(error = %err, "{what} panicked");
    }
}
