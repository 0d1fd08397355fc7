//! The measured runs the scenarios share.
//!
//! A pre-filled run: the producer fills a paused queue; the worker starts
//! and goes quiet; the window opens (worker CPU, Redis INFO) and the queue is
//! resumed; it closes when every job is finished. Jobs/s come from the job
//! hashes (first `processedOn` to last `finishedOn`), so no start-up or
//! polling delay is counted; every return value is checked.
//!
//! An open-loop run: the worker starts on an empty queue, the producer adds
//! jobs at a fixed rate, and the window closes once it has drained (or the
//! drain time is up: the rest is reported as backlog). Latency is
//! `finishedOn − timestamp` of each job.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;

use super::Bench;
use crate::data::Check;
use crate::probe::JobRecord;
use crate::procs::Proc;
use crate::producer::finish_rate;
use crate::stats::percentile;
use crate::workers::{self, Launch};

/// One pre-filled run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Measured {
    pub jobs: u64,
    pub seconds: f64,
    pub jobs_per_s: f64,
    pub worker_cpu_us_per_job: f64,
    pub redis_cpu_us_per_job: f64,
    /// Redis commands per job, those run inside Lua scripts included.
    pub redis_calls_per_job: f64,
    /// The worker's VmHWM at the end of the run.
    pub peak_rss_mib: f64,
}

/// One open-loop run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OpenMeasured {
    pub sent: u64,
    /// The producer's achieved rate.
    pub added_per_s: f64,
    pub completed: u64,
    /// Jobs failed (a worker stopped while behind may fail the jobs it holds).
    pub failed: u64,
    /// Jobs not finished when the drain time was up (and the worker stopped).
    pub backlog: u64,
    /// Completed jobs over first `timestamp` → last `finishedOn`.
    pub done_per_s: f64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
    pub worker_cpu_us_per_job: f64,
    pub redis_cpu_us_per_job: f64,
    pub peak_rss_mib: f64,
}

/// Runs `jobs` jobs with texts from `lines` through a pre-filled queue.
pub fn prefilled(
    bench: &mut Bench,
    launch: Launch,
    lines: &Path,
    jobs: usize,
    check: Check,
) -> anyhow::Result<Measured> {
    Ok(prefilled_records(bench, launch, lines, jobs, check, || Ok(()))?.0)
}

/// [`prefilled`], what `at_end` reads from the worker once every job is
/// finished (before it is stopped), and every finished job's hash.
pub fn prefilled_records<T>(
    bench: &mut Bench,
    launch: Launch,
    lines: &Path,
    jobs: usize,
    check: Check,
    at_end: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(Measured, T, Vec<JobRecord>)> {
    let queue = launch.queue;
    bench.producer.fill_paused(launch.protocol, queue, lines, jobs)?;
    let mut worker = workers::start(&bench.paths, &bench.redis_url, launch)?;
    let (cpu0, redis0) = (worker.cpu_seconds()?, bench.probe.sample()?);
    bench.producer.resume(launch.protocol, queue)?;
    let timeout = Duration::from_secs(120 + jobs as u64 / 50);
    wait_finished(bench, &mut worker, queue, jobs as u64, Instant::now() + timeout, true)?;
    let (cpu1, redis1, peak) = (worker.cpu_seconds()?, bench.probe.sample()?, worker.peak_rss_mib()?);
    let read = at_end()?;
    worker.stop(Duration::from_secs(10));
    let records = bench.probe.completed_jobs(queue)?;
    verify(&records, jobs as u64, check, queue)?;
    bench.probe.delete_queue(queue)?;
    let first = records.iter().map(|r| r.processed_on).min().unwrap_or(0);
    let last = records.iter().map(|r| r.finished_on).max().unwrap_or(0);
    let seconds = (last.saturating_sub(first).max(1)) as f64 / 1000.0;
    let n = jobs as f64;
    let measured = Measured {
        jobs: jobs as u64,
        seconds,
        jobs_per_s: n / seconds,
        worker_cpu_us_per_job: (cpu1 - cpu0) * 1e6 / n,
        redis_cpu_us_per_job: (redis1.cpu_seconds - redis0.cpu_seconds) * 1e6 / n,
        redis_calls_per_job: (redis1.calls - redis0.calls) as f64 / n,
        peak_rss_mib: peak,
    };
    Ok((measured, read, records))
}

/// Adds `rate` jobs/s for `seconds` to a running worker, then drains.
pub fn open_loop(bench: &mut Bench, launch: Launch, rate: u64, seconds: u64) -> anyhow::Result<OpenMeasured> {
    let queue = launch.queue;
    let mut worker = workers::start(&bench.paths, &bench.redis_url, launch)?;
    let (cpu0, redis0) = (worker.cpu_seconds()?, bench.probe.sample()?);
    let mut producer = bench.producer.start_rate(launch.protocol, queue, &bench.cache_lines, rate, seconds)?;
    let bar = bench.progress.run(rate * seconds);
    while producer.try_wait()?.is_none() {
        worker.check_alive()?;
        bar.set_position(bench.probe.finished(queue)?.0);
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
    let report = finish_rate(producer)?;
    let drain = Instant::now() + Duration::from_secs(bench.plan.drain_seconds);
    wait_finished(bench, &mut worker, queue, report.sent, drain, false)?;
    let (cpu1, redis1, peak) = (worker.cpu_seconds()?, bench.probe.sample()?, worker.peak_rss_mib()?);
    worker.stop(Duration::from_secs(10));
    // Counted once the worker is gone: a worker behind keeps finishing jobs until stopped.
    let (completed, failed) = bench.probe.finished(queue)?;
    let records = bench.probe.completed_jobs(queue)?;
    verify(&records, completed, Check::CacheHit, queue)?;
    bench.probe.delete_queue(queue)?;
    let mut latencies: Vec<u64> = records.iter().map(|r| r.finished_on.saturating_sub(r.timestamp)).collect();
    latencies.sort_unstable();
    let first = records.iter().map(|r| r.timestamp).min().unwrap_or(0);
    let last = records.iter().map(|r| r.finished_on).max().unwrap_or(0);
    let n = completed.max(1) as f64;
    Ok(OpenMeasured {
        sent: report.sent,
        added_per_s: report.sent as f64 / report.seconds,
        completed,
        failed,
        backlog: report.sent.saturating_sub(completed + failed),
        done_per_s: completed as f64 / (last.saturating_sub(first).max(1) as f64 / 1000.0),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(0),
        worker_cpu_us_per_job: (cpu1 - cpu0) * 1e6 / n,
        redis_cpu_us_per_job: (redis1.cpu_seconds - redis0.cpu_seconds) * 1e6 / n,
        peak_rss_mib: peak,
    })
}

/// Polls until `jobs` jobs of `queue` are finished; past `deadline` that is
/// an error when `required`, else the counts so far. Returns (completed, failed).
fn wait_finished(
    bench: &mut Bench,
    worker: &mut Proc,
    queue: &str,
    jobs: u64,
    deadline: Instant,
    required: bool,
) -> anyhow::Result<(u64, u64)> {
    let bar = bench.progress.run(jobs);
    loop {
        let (completed, failed) = bench.probe.finished(queue)?;
        bar.set_position(completed + failed);
        if completed + failed >= jobs {
            bar.finish_and_clear();
            return Ok((completed, failed));
        }
        worker.check_alive()?;
        if Instant::now() > deadline {
            bar.finish_and_clear();
            if required {
                bail!("{queue}: only {completed} completed and {failed} failed of {jobs} jobs in time");
            }
            return Ok((completed, failed));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every job completed, each with the right return value.
fn verify(records: &[JobRecord], expected: u64, check: Check, queue: &str) -> anyhow::Result<()> {
    if records.len() as u64 != expected {
        bail!("{queue}: {} completed jobs, expected {expected}", records.len());
    }
    let wrong: Vec<String> = records.iter().filter_map(|r| check.problem(&r.data, &r.returnvalue)).collect();
    if let Some(first) = wrong.first() {
        bail!("{queue}: {} jobs returned a wrong value; the first: {first}", wrong.len());
    }
    Ok(())
}
