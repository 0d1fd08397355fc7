//! The tenant's wall: what a tenant's stages hold of the shared process,
//! and the counts of what they were refused.
//!
//! Stages of one tenant share one slice of the engine's instance pool; a
//! tenant that fans out (many targets, many retries) waits on its own slice
//! and never on another tenant's. The same holds for the CPU: a call that
//! computes past its first epoch tick takes turns ([`Turn`]) with the other
//! busy calls of its tenant, so a tenant whose guests spin holds its share
//! of the cores and no more, however many calls it has in flight. Every
//! quota a call can hit (output, log, HTTP, `kv`) is counted per tenant in
//! [`LimitHits`], so `/metrics` shows who hit what.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use lingo_config::JobLimits;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A limit a stage call can run into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    /// A translation longer than `max_translation_bytes` (the job failed).
    TranslationBytes,
    /// An error longer than `max_error_bytes` (cut).
    ErrorBytes,
    /// Log lines past `max_log_lines` (dropped).
    LogLines,
    /// Log bytes past `max_log_bytes` (dropped).
    LogBytes,
    /// HTTP requests past `max_http_requests` (refused).
    HttpRequests,
    /// A request to a host outside `allowed_hosts`, redirects included (refused).
    HttpDenied,
    /// A `kv` write past `max_kv_bytes` or `max_kv_keys` (refused).
    KvQuota,
    /// A `scratch` value past `max_scratch_bytes` (refused).
    ScratchBytes,
}

impl Limit {
    /// The label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Limit::TranslationBytes => "max_translation_bytes",
            Limit::ErrorBytes => "max_error_bytes",
            Limit::LogLines => "max_log_lines",
            Limit::LogBytes => "max_log_bytes",
            Limit::HttpRequests => "max_http_requests",
            Limit::HttpDenied => "allowed_hosts",
            Limit::KvQuota => "kv_quota",
            Limit::ScratchBytes => "max_scratch_bytes",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How often each tenant hit each limit; process-wide, never reset.
#[derive(Debug, Default)]
pub struct LimitHits {
    counts: Mutex<BTreeMap<(Arc<str>, Limit), u64>>,
}

impl LimitHits {
    /// Counts `n` hits of `limit` by `tenant`. Hits are rare, so one lock is fine.
    pub fn add(&self, tenant: &Arc<str>, limit: Limit, n: u64) {
        if n > 0 {
            *self.counts.lock().unwrap_or_else(|p| p.into_inner()).entry((tenant.clone(), limit)).or_default() += n;
        }
    }

    /// Every count so far: (tenant, limit, hits).
    pub fn snapshot(&self) -> Vec<(String, Limit, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|((tenant, limit), n)| (tenant.to_string(), *limit, *n)).collect()
    }

    /// Hits of `limit` by `tenant` so far.
    pub fn get(&self, tenant: &str, limit: Limit) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().find(|((t, l), _)| &**t == tenant && *l == limit).map_or(0, |(_, n)| *n)
    }
}

/// One tenant's share of the process, for one loaded pipeline: a handle,
/// cheap to clone into every call.
#[derive(Clone)]
pub struct Wall(Arc<WallInner>);

/// What a [`Wall`] holds.
pub struct WallInner {
    /// The tenant.
    pub tenant: Arc<str>,
    /// Its pipeline's limits, already capped by the tenant's ceilings.
    pub limits: JobLimits,
    /// Its slice of the engine's instance pool.
    pub(crate) instances: Semaphore,
    /// Its busy calls' turns at the CPU: as many as its share of the cores.
    turns: Arc<Semaphore>,
    /// MiB of linear memory its calls in flight may have (`max_memory_in_use`).
    pub(crate) memory: Arc<Semaphore>,
    /// Where its hits are counted.
    pub hits: Arc<LimitHits>,
}

impl std::ops::Deref for Wall {
    type Target = WallInner;

    fn deref(&self) -> &WallInner {
        &self.0
    }
}

impl Wall {
    /// A wall for `tenant` with `instances` stage instances at most, whose
    /// busy calls compute on `cores` cores at most.
    pub fn new(tenant: &str, limits: JobLimits, instances: usize, cores: usize, hits: Arc<LimitHits>) -> Self {
        Self(Arc::new(WallInner {
            tenant: tenant.into(),
            limits,
            instances: Semaphore::new(instances.max(1)),
            turns: Arc::new(Semaphore::new(cores.max(1))),
            memory: Arc::new(Semaphore::new(mib(limits.max_memory_in_use).max(1))),
            hits,
        }))
    }

    /// Waits until the tenant's calls in flight leave room for `bytes` more
    /// of linear memory, and holds it until the permit drops; more than the
    /// whole budget waits for all of it.
    pub(crate) async fn memory_room(&self, bytes: usize) -> OwnedSemaphorePermit {
        let whole = mib(self.limits.max_memory_in_use).max(1);
        let wanted = mib(bytes).clamp(1, whole) as u32;
        self.memory.clone().acquire_many_owned(wanted).await.expect("the memory budget is never closed")
    }

    /// A new call's place in the tenant's turns; it holds none yet.
    pub(crate) fn turn(&self) -> Turn {
        Turn { turns: self.turns.clone(), held: Arc::default() }
    }

    /// Counts a hit of `limit`.
    pub fn hit(&self, limit: Limit, n: u64) {
        self.hits.add(&self.tenant, limit, n);
    }

    /// Instances free in this tenant's slice now.
    pub fn free_instances(&self) -> usize {
        self.instances.available_permits()
    }
}

/// One call's turn at the CPU. A call runs its first tick freely (nearly
/// every call ends within it); from then on it holds a turn while it
/// computes, gives it up at every tick, and queues for the next one behind
/// the tenant's other busy calls (the semaphore is fair). A call waiting on
/// a backend gives its turn up meanwhile.
#[derive(Clone)]
pub(crate) struct Turn {
    turns: Arc<Semaphore>,
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
}

impl Turn {
    /// At an epoch tick: give the turn up, let the runtime run others, then
    /// wait for the next turn.
    pub fn next(&self) -> impl Future<Output = ()> + Send + 'static {
        self.give_up();
        let this = self.clone();
        async move {
            tokio::task::yield_now().await;
            this.take().await;
        }
    }

    /// Runs `io` without the turn, and takes it back after if one was held:
    /// a call waiting on Redis or a backend lets the tenant's others compute.
    pub async fn away<F: Future>(&self, io: F) -> F::Output {
        let had = self.give_up();
        let output = io.await;
        if had {
            self.take().await;
        }
        output
    }

    /// Gives the turn up (before waiting on I/O); whether one was held.
    pub fn give_up(&self) -> bool {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).take().is_some()
    }

    /// Waits for a turn and holds it.
    pub async fn take(&self) {
        let permit = self.turns.clone().acquire_owned().await.expect("turns are never closed");
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(permit);
    }
}

/// Bytes in whole MiB, rounded up.
pub(crate) fn mib(bytes: usize) -> usize {
    bytes.div_ceil(1 << 20)
}

/// `text` cut to at most `max` bytes on a character boundary, saying so.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let end = text.floor_char_boundary(max);
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn busy_calls_of_a_tenant_take_turns() {
        let wall = Wall::new("t", JobLimits::default(), 8, 1, Arc::default());
        let (a, b) = (wall.turn(), wall.turn());
        a.next().await;
        let waiting = tokio::spawn(b.next());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "one turn: b waits while a computes");
        assert!(a.give_up(), "a gives its turn up to wait on I/O");
        waiting.await.unwrap();
        assert!(!a.give_up() && b.give_up());
    }

    #[test]
    fn cut_keeps_whole_characters_and_says_how_much_went() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ㅋㅋㅋ", 4), "ㅋ… (6 bytes cut)");
    }

    #[test]
    fn hits_are_counted_per_tenant_and_limit() {
        let hits = LimitHits::default();
        let (good, evil): (Arc<str>, Arc<str>) = ("good".into(), "evil".into());
        hits.add(&evil, Limit::LogLines, 3);
        hits.add(&evil, Limit::LogLines, 2);
        hits.add(&good, Limit::KvQuota, 0);
        assert_eq!(hits.get("evil", Limit::LogLines), 5);
        assert_eq!(hits.snapshot().len(), 1, "a zero count is not recorded");
    }
}
