//! Identical units in flight are computed once. Chat repeats itself
//! ("ㅋㅋㅋ", "lol"): when a unit with the same text, source and target is
//! already being translated by this pipeline, later jobs wait for its result
//! instead of asking the LLM again.
//!
//! A computation lives exactly as long as some caller still waits for it.
//! The map holds only a weak handle: when the last caller goes away (its job
//! hit `job_timeout`, or its worker is stopping), the computation is dropped
//! on the spot, with the stage instance and the backend request it held, and
//! its entry is removed. Nothing is left parked for a caller that never comes.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, WeakShared};

type Inflight<K, V> = Arc<Mutex<HashMap<K, Entry<V>>>>;

/// A computation in flight, as the map knows it.
struct Entry<V> {
    /// Tells this computation apart from a later one under the same key.
    id: u64,
    running: WeakShared<BoxFuture<'static, V>>,
}

/// In-flight computations by key.
pub struct Coalescer<K, V: Clone> {
    inflight: Inflight<K, V>,
    next_id: AtomicU64,
    joined: AtomicU64,
}

impl<K: Hash + Eq + Clone + Send + 'static, V: Clone + Send + Sync + 'static> Coalescer<K, V> {
    /// An empty coalescer.
    pub fn new() -> Self {
        Self { inflight: Arc::default(), next_id: AtomicU64::new(0), joined: AtomicU64::new(0) }
    }

    /// The result of `compute` for `key`, shared with every caller that asks
    /// for the same key while it runs. The flag says whether this caller
    /// joined a computation that was already running.
    ///
    /// Not an `async fn`: one would keep room for `compute` (a whole
    /// translation unit, kilobytes) in every caller's future while it waits,
    /// beside the boxed copy that runs. The returned future holds only the
    /// shared handle.
    pub fn run<F>(&self, key: K, compute: F) -> impl Future<Output = (V, bool)> + use<K, V, F>
    where
        F: Future<Output = V> + Send + 'static,
    {
        let (shared, joined) = {
            let mut inflight = self.inflight.lock().expect("coalescer lock");
            match inflight.get(&key).and_then(|entry| entry.running.upgrade()) {
                Some(running) => (running, true),
                None => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    // Removes the entry when the computation ends or is dropped.
                    let forget = Forget { map: self.inflight.clone(), key: Some(key.clone()), id };
                    let shared = async move {
                        let _forget = forget;
                        compute.await
                    }
                    .boxed()
                    .shared();
                    let running = shared.downgrade().expect("a shared future not yet polled");
                    inflight.insert(key, Entry { id, running });
                    (shared, false)
                }
            }
        };
        if joined {
            self.joined.fetch_add(1, Ordering::Relaxed);
        }
        async move { (shared.await, joined) }
    }

    /// How many callers joined a running computation so far.
    pub fn joined(&self) -> u64 {
        self.joined.load(Ordering::Relaxed)
    }

    /// How many computations are in flight.
    pub fn in_flight(&self) -> usize {
        self.inflight.lock().expect("coalescer lock").len()
    }
}

impl<K: Hash + Eq + Clone + Send + 'static, V: Clone + Send + Sync + 'static> Default for Coalescer<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Removes a computation's own entry (not a later one's under the same key)
/// when the computation finishes or is dropped unfinished.
struct Forget<K: Hash + Eq, V> {
    map: Inflight<K, V>,
    key: Option<K>,
    id: u64,
}

impl<K: Hash + Eq, V> Drop for Forget<K, V> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&key).is_some_and(|entry| entry.id == self.id) {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn concurrent_callers_share_one_computation() {
        let coalescer = Arc::new(Coalescer::<&str, u32>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let calls = (0..10).map(|_| {
            let (coalescer, runs) = (coalescer.clone(), runs.clone());
            tokio::spawn(async move {
                coalescer
                    .run("lol", async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        7
                    })
                    .await
            })
        });
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(|r| r.as_ref().unwrap().0 == 7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(coalescer.joined(), 9);
        // Done computations are forgotten: the next call computes again.
        let (value, joined) = coalescer.run("lol", async { 8 }).await;
        assert_eq!((value, joined), (8, false));
    }

    /// What a job cut by `job_timeout` leaves behind: nothing. The
    /// computation, and whatever it held, goes with its last caller.
    #[tokio::test]
    async fn a_computation_nobody_waits_for_is_dropped_at_once() {
        let coalescer = Coalescer::<&str, u32>::new();
        let held = Arc::new(tokio::sync::Semaphore::new(1));
        let permit = held.clone().try_acquire_owned().unwrap();
        let call = coalescer.run("slow", async move {
            let _permit = permit;
            std::future::pending::<u32>().await
        });
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(20), call).await;
        assert!(timed_out.is_err());
        assert_eq!(held.available_permits(), 1, "the dropped computation gave its permit back");
        assert_eq!(coalescer.in_flight(), 0, "and left no entry behind");
        let (value, joined) = coalescer.run("slow", async { 3 }).await;
        assert_eq!((value, joined), (3, false));
    }

    #[tokio::test]
    async fn a_computation_goes_on_while_one_caller_still_waits() {
        let coalescer = Coalescer::<&str, u32>::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let first = coalescer.run("k", async move { rx.await.unwrap() });
        let second = coalescer.run("k", async { unreachable!("joins the first") });
        drop(first);
        tx.send(5).unwrap();
        assert_eq!(second.await, (5, true));
        assert_eq!(coalescer.in_flight(), 0);
    }
}
