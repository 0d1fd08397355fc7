//! CPU time, counted per poll: how `[worker] cpu_accounting` splits a job's
//! CPU into its stage calls and their host calls.
//!
//! A future's CPU is the sum, over its polls, of the polling thread's CPU
//! clock before and after: the time other tasks run on that thread while
//! the future waits is not counted, and neither is the time the thread is
//! descheduled. Reading the clock is a system call (about 0.75 µs on a VM),
//! two per poll, so the count is opt-in.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use rustix::time::{ClockId, clock_gettime};

/// The CPU time the current thread has used.
fn thread_cpu_time() -> Duration {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Runs `future` and returns its output with the CPU its polls used, or
/// with `None` (and no clock read) when `counted` is false.
pub fn metered<F: Future>(counted: bool, future: F) -> Metered<F> {
    Metered { future, spent: counted.then_some(Duration::ZERO) }
}

pin_project! {
    /// The future of [`metered`]. A struct rather than an `async fn`: an
    /// `async fn` keeps the future it is given beside the one it awaits,
    /// twice the size, for every job, stage call and HTTP exchange in flight.
    pub struct Metered<F> {
        #[pin]
        future: F,
        spent: Option<Duration>,
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = (F::Output, Option<Duration>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(spent) = this.spent else { return this.future.poll(cx).map(|output| (output, None)) };
        let start = thread_cpu_time();
        let poll = this.future.poll(cx);
        *spent += thread_cpu_time().saturating_sub(start);
        poll.map(|output| (output, Some(*spent)))
    }
}

/// What one stage call cost the worker's threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageCpu {
    /// The sandbox: setting the instance up for the call (or instantiating
    /// a new one), the guest's code, checking it back in or dropping it.
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

    #[test]
    fn adds_only_its_count_to_the_future_it_runs() {
        async fn holds_4_kib() -> u8 {
            let buffer = [1u8; 4096];
            tokio::task::yield_now().await;
            buffer[7]
        }
        let inner = std::mem::size_of_val(&holds_4_kib());
        assert!(std::mem::size_of_val(&metered(true, holds_4_kib())) <= inner + 32);
    }

    #[tokio::test]
    async fn reads_no_clock_when_not_counted() {
        assert_eq!(metered(false, async { 7 }).await, (7, None));
    }
}
