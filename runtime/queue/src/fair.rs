//! One pool of concurrency slots shared fairly by many queues (tenants).
//!
//! A tenant's worker fetches a job only once it holds a slot
//! ([`TenantSlots::acquire`]), so a tenant's backlog waits in Redis, not in
//! this process. When a slot is free it goes to the tenant with demand that
//! holds the fewest slots per unit of `weight` (never to one at its
//! `max_slots`), ties going to the tenant served longest ago. Demand is a
//! waiting `acquire`, or a worker's word that its queue is not empty
//! ([`TenantSlots::set_backlogged`]): a fetch loop asks for one slot at a
//! time, so between two asks it would otherwise look idle and lose its share
//! to whoever asked first. A slot granted to a backlogged tenant that is not
//! asking right now is kept for it until it asks, or given back when its
//! queue runs dry. Under load, busy tenants therefore hold slots in
//! proportion to their weights, and a tenant that floods its queue cannot
//! starve another.
//!
//! A single-queue worker is the same pool with one tenant.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// The shared pool.
#[derive(Clone)]
pub struct SlotPool {
    inner: Arc<Mutex<PoolState>>,
}

/// One worker's handle on a tenant's share of the pool. Each
/// [`SlotPool::tenant`] call gives a new handle (a new worker); its clones
/// share its backlog flag.
#[derive(Clone)]
pub struct TenantSlots {
    pool: SlotPool,
    tenant: Arc<str>,
    /// Whether this worker last said its queue was backlogged.
    backlogged: Arc<std::sync::atomic::AtomicBool>,
}

/// A held slot; dropping it gives the slot back to the pool.
pub struct Slot {
    pool: SlotPool,
    tenant: Arc<str>,
    index: usize,
    /// Set when the slot was never handed over and has been given back.
    returned: bool,
}

struct PoolState {
    /// Free slot numbers (1-based, for log lines), lowest last.
    free: Vec<usize>,
    tenants: HashMap<Arc<str>, TenantState>,
    /// Incremented on every grant, for round-robin tie breaks.
    clock: u64,
}

struct TenantState {
    weight: u32,
    max_slots: usize,
    /// Slots in use or kept for it (`kept` included).
    held: usize,
    last_served: u64,
    waiters: VecDeque<oneshot::Sender<Slot>>,
    /// How many of its workers found a job at their last fetch (two while a
    /// reload hands its queue from an old worker to a new one).
    backlogged: usize,
    /// Slots granted while it was not asking, for its next `acquire`.
    kept: Vec<usize>,
}

/// What a tenant holds and waits for, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUsage {
    /// The tenant's id.
    pub tenant: String,
    /// Slots it holds now.
    pub held: usize,
    /// Requests of it waiting for a slot.
    pub waiting: usize,
}

impl SlotPool {
    /// A pool of `slots` slots, numbered from 1.
    pub fn new(slots: usize) -> Self {
        let state = PoolState { free: (1..=slots).rev().collect(), tenants: HashMap::new(), clock: 0 };
        Self { inner: Arc::new(Mutex::new(state)) }
    }

    /// The handle of tenant `id`, registering it (or updating its share) with
    /// `weight` (at least 1) and `max_slots`.
    pub fn tenant(&self, id: &str, weight: u32, max_slots: usize) -> TenantSlots {
        let tenant: Arc<str> = Arc::from(id);
        {
            let mut state = self.lock();
            let entry = state.tenants.entry(Arc::clone(&tenant)).or_insert_with(|| TenantState {
                weight: 1,
                max_slots: 0,
                held: 0,
                last_served: 0,
                waiters: VecDeque::new(),
                backlogged: 0,
                kept: Vec::new(),
            });
            entry.weight = weight.max(1);
            entry.max_slots = max_slots;
        }
        // A raised share may let waiting requests through now.
        self.dispatch();
        TenantSlots { pool: self.clone(), tenant, backlogged: Arc::default() }
    }

    /// Slots held and requests waiting, per tenant, sorted by tenant id.
    pub fn usage(&self) -> Vec<TenantUsage> {
        let state = self.lock();
        let mut usage: Vec<TenantUsage> = state
            .tenants
            .iter()
            .map(|(id, t)| TenantUsage {
                tenant: id.to_string(),
                held: t.held,
                waiting: t.waiters.iter().filter(|w| !w.is_closed()).count(),
            })
            .collect();
        usage.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        usage
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands free slots to waiting tenants, fairest first, until either runs out.
    fn dispatch(&self) {
        let mut state = self.lock();
        while !state.free.is_empty() {
            let Some(tenant) = state.next_tenant() else { return };
            let index = state.free.pop().expect("checked non-empty");
            state.clock += 1;
            let clock = state.clock;
            let entry = state.tenants.get_mut(&tenant).expect("chosen among registered tenants");
            entry.held += 1;
            entry.last_served = clock;
            let Some(waiter) = entry.waiters.pop_front() else {
                entry.kept.push(index);
                continue;
            };
            let slot = Slot { pool: self.clone(), tenant, index, returned: false };
            if let Err(mut unsent) = waiter.send(slot) {
                // The request was given up; take the slot back without re-entering the lock.
                unsent.returned = true;
                let entry = state.tenants.get_mut(&unsent.tenant).expect("registered");
                entry.held -= 1;
                state.free.push(unsent.index);
            }
        }
    }

    fn release(&self, tenant: &str, index: usize) {
        {
            let mut state = self.lock();
            if let Some(entry) = state.tenants.get_mut(tenant) {
                entry.held = entry.held.saturating_sub(1);
            }
            state.free.push(index);
            // Keep the lowest numbers in use so log lines read like the seed worker's.
            state.free.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.dispatch();
    }
}

impl PoolState {
    /// The waiting tenant below its `max_slots` with the fewest slots per
    /// weight; among equals, the one served longest ago.
    fn next_tenant(&mut self) -> Option<Arc<str>> {
        for tenant in self.tenants.values_mut() {
            while tenant.waiters.front().is_some_and(|w| w.is_closed()) {
                tenant.waiters.pop_front();
            }
        }
        self.tenants
            .iter()
            .filter(|(_, t)| (!t.waiters.is_empty() || t.backlogged > 0) && t.held < t.max_slots)
            .min_by(|(_, a), (_, b)| {
                // a.held / a.weight against b.held / b.weight, without division.
                let (left, right) = (a.held as u64 * u64::from(b.weight), b.held as u64 * u64::from(a.weight));
                left.cmp(&right).then(a.last_served.cmp(&b.last_served))
            })
            .map(|(id, _)| Arc::clone(id))
    }
}

impl TenantSlots {
    /// Waits until the pool grants this tenant a slot. Cancel-safe: a request
    /// dropped before it is served gives its slot straight back.
    pub async fn acquire(&self) -> Slot {
        loop {
            let (tx, rx) = oneshot::channel();
            {
                let mut state = self.pool.lock();
                let entry = state.tenants.get_mut(&self.tenant).expect("tenants are never unregistered");
                if let Some(index) = entry.kept.pop() {
                    let (pool, tenant) = (self.pool.clone(), Arc::clone(&self.tenant));
                    return Slot { pool, tenant, index, returned: false };
                }
                entry.waiters.push_back(tx);
            }
            self.pool.dispatch();
            if let Ok(slot) = rx.await {
                return slot;
            }
        }
    }

    /// Tells the pool whether the tenant's queue had a job at the last
    /// fetch. A backlogged tenant gets its share of freed slots even between
    /// two `acquire`s; one whose queue ran dry gives back the slots kept for it.
    pub fn set_backlogged(&self, backlogged: bool) {
        if self.backlogged.swap(backlogged, std::sync::atomic::Ordering::SeqCst) == backlogged {
            return;
        }
        let mut state = self.pool.lock();
        let entry = state.tenants.get_mut(&self.tenant).expect("tenants are never unregistered");
        if backlogged {
            entry.backlogged += 1;
            drop(state);
            self.pool.dispatch();
            return;
        }
        entry.backlogged -= 1;
        if entry.backlogged > 0 {
            return;
        }
        let kept = std::mem::take(&mut entry.kept);
        entry.held -= kept.len();
        let given_back = !kept.is_empty();
        state.free.extend(kept);
        state.free.sort_unstable_by(|a, b| b.cmp(a));
        drop(state);
        if given_back {
            self.pool.dispatch();
        }
    }
}

impl Slot {
    /// Whether the pool, were this slot released now, would hand it straight
    /// back to its tenant (or to nobody): then the tenant's worker may run
    /// its next job in it without going through the pool.
    pub fn may_keep(&self) -> bool {
        let mut state = self.pool.lock();
        let Some(entry) = state.tenants.get_mut(&self.tenant) else { return false };
        entry.held -= 1;
        let next = state.next_tenant();
        state.tenants.get_mut(&self.tenant).expect("looked up above").held += 1;
        next.is_none_or(|tenant| tenant == self.tenant)
    }

    /// The slot's number in the pool, from 1, for log lines.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.returned {
            self.pool.release(&self.tenant, self.index);
        }
    }
}

impl fmt::Debug for SlotPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotPool").field("usage", &self.usage()).finish()
    }
}

impl fmt::Debug for TenantSlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantSlots").field("tenant", &self.tenant).finish()
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").field("tenant", &self.tenant).field("index", &self.index).finish()
    }
}

// Paused time throughout: a sleep lets every spawned task run until it
// waits, then time jumps, so the order of asks is exact, not a race.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn pending(slots: &TenantSlots) -> bool {
        tokio::time::timeout(Duration::from_millis(20), slots.acquire()).await.is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn one_tenant_is_bounded_by_the_pool_and_reuses_low_numbers() {
        let pool = SlotPool::new(2);
        let only = pool.tenant("only", 1, 10);
        let a = only.acquire().await;
        let b = only.acquire().await;
        assert_eq!((a.index(), b.index()), (1, 2));
        assert!(pending(&only).await);
        drop(a);
        assert_eq!(only.acquire().await.index(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_may_be_kept_only_while_no_other_tenant_is_owed_it() {
        let pool = SlotPool::new(2);
        let busy = pool.tenant("busy", 1, 2);
        let (first, _second) = (busy.acquire().await, busy.acquire().await);
        assert!(first.may_keep(), "nobody else asks: keep it");
        busy.set_backlogged(true);
        assert!(first.may_keep(), "only its own tenant wants it");
        let other = pool.tenant("other", 1, 2);
        let asking = tokio::spawn({
            let other = other.clone();
            async move { other.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!first.may_keep(), "a tenant holding fewer slots waits for it");
        drop(first);
        let granted = tokio::time::timeout(Duration::from_secs(1), asking).await.unwrap().unwrap();
        assert_eq!(granted.index(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tenant_never_holds_more_than_its_max_slots() {
        let pool = SlotPool::new(8);
        let small = pool.tenant("small", 1, 2);
        let _held = (small.acquire().await, small.acquire().await);
        assert!(pending(&small).await);
        assert_eq!(pool.usage()[0].held, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_freed_slot_goes_to_the_tenant_holding_least_per_weight() {
        let pool = SlotPool::new(4);
        let flood = pool.tenant("flood", 1, 4);
        let mut held: Vec<Slot> = Vec::new();
        for _ in 0..4 {
            held.push(flood.acquire().await);
        }
        // Both wait; "quiet" holds nothing, so it gets the next free slot.
        let quiet = pool.tenant("quiet", 1, 4);
        let waiting_flood = tokio::spawn({
            let flood = flood.clone();
            async move { flood.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let waiting_quiet = tokio::spawn({
            let quiet = quiet.clone();
            async move { quiet.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(held.pop());
        let got = tokio::time::timeout(Duration::from_secs(1), waiting_quiet).await.unwrap().unwrap();
        assert_eq!(got.tenant.as_ref(), "quiet");
        assert!(!waiting_flood.is_finished());
        waiting_flood.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn busy_tenants_hold_slots_in_proportion_to_their_weights() {
        let pool = SlotPool::new(30);
        // The pool starts full, so every later grant is a choice between the two.
        let filler = pool.tenant("filler", 1, 30);
        let mut full = Vec::new();
        for _ in 0..30 {
            full.push(filler.acquire().await);
        }
        let heavy = pool.tenant("heavy", 2, 30);
        let light = pool.tenant("light", 1, 30);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for slots in [heavy, light] {
            for _ in 0..30 {
                let (slots, tx) = (slots.clone(), tx.clone());
                tokio::spawn(async move {
                    let slot = slots.acquire().await;
                    let _ = tx.send(slot);
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut held = Vec::new();
        while let Some(slot) = full.pop() {
            drop(slot);
            held.push(rx.recv().await.unwrap());
        }
        let usage = pool.usage();
        assert_eq!((usage[1].tenant.as_str(), usage[1].held), ("heavy", 20), "{usage:?}");
        assert_eq!((usage[2].tenant.as_str(), usage[2].held), ("light", 10), "{usage:?}");
    }

    /// Two tenants that always have work, each asking for one slot at a time
    /// as a worker's fetch loop does; jobs take 50 ms of (paused) time.
    #[tokio::test(start_paused = true)]
    async fn under_churn_completions_follow_the_weights() {
        let pool = SlotPool::new(8);
        let done: Arc<Mutex<HashMap<&'static str, u32>>> = Arc::default();
        for (name, weight) in [("heavy", 3), ("light", 1)] {
            let (slots, done) = (pool.tenant(name, weight, 8), done.clone());
            slots.set_backlogged(true);
            tokio::spawn(async move {
                loop {
                    let slot = slots.acquire().await;
                    let done = done.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        *done.lock().unwrap().entry(name).or_default() += 1;
                        drop(slot);
                    });
                }
            });
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let done = done.lock().unwrap().clone();
        let (heavy, light) = (done["heavy"], done["light"]);
        assert!((1150..=1250).contains(&heavy) && (380..=420).contains(&light), "{done:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retiring_worker_does_not_clear_the_new_workers_backlog() {
        let pool = SlotPool::new(2);
        let (old, new) = (pool.tenant("t", 1, 2), pool.tenant("t", 1, 2));
        old.set_backlogged(true);
        new.set_backlogged(true);
        assert_eq!(pool.usage()[0].held, 2, "both free slots are kept for the backlogged tenant");
        old.set_backlogged(false);
        assert_eq!(pool.usage()[0].held, 2, "the new worker is still backlogged");
        new.set_backlogged(false);
        assert_eq!(pool.usage()[0].held, 0, "kept slots go back when no worker has a backlog");
    }

    #[tokio::test(start_paused = true)]
    async fn a_given_up_request_loses_no_slot() {
        let pool = SlotPool::new(1);
        let t = pool.tenant("t", 1, 1);
        let first = t.acquire().await;
        assert!(pending(&t).await); // a request dropped while waiting
        drop(first);
        let again = tokio::time::timeout(Duration::from_secs(1), t.acquire()).await.expect("slot came back");
        assert_eq!(again.index(), 1);
    }
}
