//! Warm instances of one stage, for one tenant and one pipeline generation.
//!
//! A [`crate::stage::Stage`] belongs to one tenant's pipeline as loaded (a
//! reload loads new stages), so a pool kept in the stage can never hand an
//! instance to another tenant, another stage or another generation: the
//! walls come from where the pool lives, not from keys checked at run time.
//!
//! A call checks an instance out (the most recently used one: its memory is
//! the likeliest to be resident), gets this call's deadline, capabilities and
//! log fields, and checks it back in. An instance is dropped instead when
//! anything went wrong (a trap, a timeout, a blown memory cap, a panic, a
//! line on stderr), after `max_reuse` calls, when its memory grew by more
//! than [`MAX_WARM_GROWTH`] since it was instantiated, or when it sat idle
//! past [`MAX_IDLE`]. Idle instances
//! hold a permit of the engine's idle budget, which the pooling allocator
//! was sized for on top of the live instances, so idle instances never take
//! a slot a call needs: with the budget spent, an instance checked in is
//! simply dropped. The budget is in MiB of linear memory, so idle instances
//! are bounded in memory as well as in number.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;

use crate::state::StageState;

/// Growth past which an instance is not kept: a guest that leaks, or one
/// call that needed much, is not worth its resident pages. Growth, not
/// size: a JavaScript stage starts with an engine and its heap in about
/// 10 MiB of linear memory, a Rust stage with about 1 MiB, and either is
/// worth keeping warm while it stays near where it started.
pub const MAX_WARM_GROWTH: usize = 4 << 20;

/// How long an instance may sit idle and still be used.
pub const MAX_IDLE: Duration = Duration::from_secs(60);

/// Idle instances one stage keeps at most.
const MAX_IDLE_PER_STAGE: usize = 64;

/// An instantiated stage and its store, between calls or in one.
pub(crate) struct Instantiated {
    pub store: Store<StageState>,
    /// Its exports, resolved once.
    pub instance: crate::bindings::Exports,
    /// Calls it has served, this one included.
    pub calls: u32,
    /// Its linear memory once instantiated, before any call.
    pub initial_memory: usize,
}

impl Instantiated {
    /// Whether its memory stayed within [`MAX_WARM_GROWTH`] of where it started.
    fn grew_little(&self) -> bool {
        self.store.data().limits.current() <= self.initial_memory + MAX_WARM_GROWTH
    }
}

struct Idle {
    warm: Instantiated,
    since: Instant,
    _budget: OwnedSemaphorePermit,
}

/// One stage's idle instances.
pub(crate) struct WarmPool {
    idle: Mutex<Vec<Idle>>,
    /// Calls an instance may serve; 1: a fresh instance per call.
    max_reuse: u32,
    /// The engine's idle budget, shared by every pool.
    budget: Arc<Semaphore>,
}

impl WarmPool {
    pub fn new(max_reuse: u32, budget: Arc<Semaphore>) -> Self {
        Self { idle: Mutex::default(), max_reuse: max_reuse.max(1), budget }
    }

    /// The most recently used idle instance that is still fresh enough.
    pub fn take(&self) -> Option<Instantiated> {
        let mut idle = self.lock();
        while let Some(entry) = idle.pop() {
            if entry.since.elapsed() < MAX_IDLE {
                return Some(entry.warm);
            }
        }
        None
    }

    /// Keeps `warm` for a later call if it may serve one, or hands it back
    /// to be dropped; `clean` says the call ended as it should (no fault,
    /// nothing on stderr, memory within its cap).
    pub fn give_back(&self, warm: Instantiated, clean: bool) -> Option<Instantiated> {
        let keep = clean && warm.calls < self.max_reuse && warm.grew_little();
        if !keep {
            return Some(warm);
        }
        let mut idle = self.lock();
        // The oldest sit at the front: those idle too long go now.
        let expired = idle.iter().take_while(|entry| entry.since.elapsed() >= MAX_IDLE).count();
        idle.drain(..expired);
        if idle.len() >= MAX_IDLE_PER_STAGE {
            return Some(warm);
        }
        // The budget counts the memory idle instances keep, in MiB.
        let size = crate::wall::mib(warm.store.data().limits.current()).max(1) as u32;
        let Ok(budget) = self.budget.clone().try_acquire_many_owned(size) else { return Some(warm) };
        idle.push(Idle { warm, since: Instant::now(), _budget: budget });
        None
    }

    /// Instances kept now.
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}
