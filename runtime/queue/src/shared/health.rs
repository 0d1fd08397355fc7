//! Riding out Redis outages: which errors are worth retrying, the capped
//! exponential backoff between tries, and the one shared "is Redis up" flag
//! that turns a burst of failures from every task into one `warn` per outage
//! and one `info` when Redis answers again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

/// Whether Redis is currently reachable, as the worker's tasks last saw it.
#[derive(Debug)]
pub(crate) struct Health {
    /// The URL (password removed), for the log lines.
    url: String,
    /// Failed round trips since the last success, across tasks.
    failures: AtomicU32,
    /// Set when an outage was logged, cleared by the first success.
    down: AtomicBool,
}

impl Health {
    pub fn new(url: String) -> Self {
        Self { url, failures: AtomicU32::new(0), down: AtomicBool::new(false) }
    }

    /// Notes a successful round trip; logs the end of an outage.
    pub fn ok(&self) {
        self.failures.store(0, Ordering::Relaxed);
        if self.down.swap(false, Ordering::Relaxed) {
            info!(url = %self.url, "Redis reachable again");
        }
    }

    /// Notes a failed command; logs the start of an outage once, or the error
    /// itself when it is not about reachability. A lone failure is only a
    /// dropped connection that each connection finds on its next use (and
    /// reconnects at once), so the outage is declared on the second.
    pub fn failed(&self, err: &RedisError) {
        if !is_transient(err) {
            error!(error = %err, "Redis command failed");
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures == 1 {
            debug!(url = %self.url, error = %err, "Redis connection failed; reconnecting");
        } else if !self.down.swap(true, Ordering::Relaxed) {
            warn!(url = %self.url, error = %err, "Redis unreachable; retrying");
        }
    }

    /// Runs `op` until it succeeds, retrying transient failures with backoff.
    /// Gives up (None) on a non-transient error or when `stop` is cancelled.
    pub async fn persist<T, F, Fut>(&self, stop: &CancellationToken, mut op: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let mut backoff = Backoff::default();
        loop {
            match op().await {
                Ok(value) => {
                    self.ok();
                    return Some(value);
                }
                Err(err) => {
                    self.failed(&err);
                    if !is_transient(&err) || !backoff.sleep(stop).await {
                        return None;
                    }
                }
            }
        }
    }
}

/// Capped exponential backoff: 100 ms, doubling, at most 5 s.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    /// The next wait, doubling the one after it.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    /// Back to the shortest wait, after a success.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// Sleeps the next wait; false if `stop` was cancelled first.
    pub async fn sleep(&mut self, stop: &CancellationToken) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// Errors that go away once Redis is reachable (or done loading) again.
pub(crate) fn is_transient(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_timeout()
        || err.is_unrecoverable_error()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
            )
        )
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| backoff.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }
}
