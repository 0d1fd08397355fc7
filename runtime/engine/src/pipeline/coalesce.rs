//! Identical units in flight are computed once. Chat repeats itself
//! ("ㅋㅋㅋ", "lol"): when a unit with the same text, source and target is
//! already being translated by this pipeline, later jobs wait for its result
//! instead of asking the LLM again.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

/// In-flight computations by key.
pub struct Coalescer<K, V: Clone> {
    inflight: Arc<Mutex<HashMap<K, Shared<BoxFuture<'static, V>>>>>,
    joined: AtomicU64,
}

impl<K: Hash + Eq + Clone + Send + 'static, V: Clone + Send + Sync + 'static> Coalescer<K, V> {
    /// An empty coalescer.
    pub fn new() -> Self {
        Self { inflight: Arc::default(), joined: AtomicU64::new(0) }
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
            match inflight.get(&key) {
                Some(running) => (running.clone(), true),
                None => {
                    // The computation forgets itself when done, even if the
                    // caller that started it has gone away meanwhile.
                    let (map, done) = (self.inflight.clone(), key.clone());
                    let shared = async move {
                        let value = compute.await;
                        map.lock().expect("coalescer lock").remove(&done);
                        value
                    }
                    .boxed()
                    .shared();
                    inflight.insert(key.clone(), shared.clone());
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
}

impl<K: Hash + Eq + Clone + Send + 'static, V: Clone + Send + Sync + 'static> Default for Coalescer<K, V> {
    fn default() -> Self {
        Self::new()
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
}
