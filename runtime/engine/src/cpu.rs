//! CPU time, counted per poll: how `[worker] cpu_accounting` splits a job's
//! CPU into its stage calls and their host calls.
//!
//! A future's CPU is the sum, over its polls, of the polling thread's CPU
//! clock before and after: the time other tasks run on that thread while
//! the future waits is not counted, and neither is the time the thread is
//! descheduled. Reading the clock is a system call (about 0.75 µs on a VM),
//! two per poll, so the count is opt-in.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// The CPU time the current thread has used.
fn thread_cpu_time() -> Duration {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Runs `future` and returns its output with the CPU its polls used, or
/// with `None` (and no clock read) when `counted` is false.
pub async fn metered<F: Future>(counted: bool, future: F) -> (F::Output, Option<Duration>) {
    if !counted {
        return (future.await, None);
    }
    let mut future = pin!(future);
    let mut spent = Duration::ZERO;
    let output = poll_fn(|cx| {
        let start = thread_cpu_time();
        let poll = future.as_mut().poll(cx);
        spent += thread_cpu_time().saturating_sub(start);
        poll
    })
    .await;
    (output, Some(spent))
}

/// What one stage call cost the worker's threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageCpu {
    /// The sandbox: the fresh store and instance, the guest's code, the
    /// store's drop.
    pub sandbox: Duration,
    /// The host calls the stage made (`http`, `kv`, `log`), the HTTP
    /// exchange's own task included.
    pub host: Duration,
}

/// The host calls' CPU during one stage call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HostCpu {
    /// Within the call's own polls.
    pub in_call: Duration,
    /// In tasks of their own (the HTTP exchange).
    pub in_tasks: Duration,
}

impl StageCpu {
    /// The split of a call whose polls took `polls`, `host` of it (or
    /// beside it) in host calls.
    pub(crate) fn split(polls: Duration, host: HostCpu) -> Self {
        Self { sandbox: polls.saturating_sub(host.in_call), host: host.in_call + host.in_tasks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_the_polls_and_not_the_wait() {
        let (_, spent) = metered(true, async {
            let start = thread_cpu_time();
            while thread_cpu_time() - start < Duration::from_millis(20) {}
            tokio::time::sleep(Duration::from_millis(100)).await;
        })
        .await;
        let spent = spent.expect("counted");
        assert!(spent >= Duration::from_millis(20), "the busy loop's 20 ms are counted: {spent:?}");
        assert!(spent < Duration::from_millis(100), "the 100 ms sleep is not: {spent:?}");
    }

    #[tokio::test]
    async fn reads_no_clock_when_not_counted() {
        assert_eq!(metered(false, async { 7 }).await, (7, None));
    }
}
