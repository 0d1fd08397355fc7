//! Concurrency slots: a semaphore with one permit per slot, as in
//! mini-redis's listener. The worker fetches only while holding a permit and
//! moves it into the job's task, so at most `concurrency` jobs are locked by
//! this worker at once. Each permit also carries a slot number for logs.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pool of slots.
#[derive(Debug)]
pub(crate) struct Slots {
    permits: Arc<Semaphore>,
    /// Numbers of the free slots; one per available permit.
    free: Arc<Mutex<Vec<usize>>>,
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    index: usize,
    free: Arc<Mutex<Vec<usize>>>,
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    /// `count` slots, numbered from 1 as the seed worker's logs did.
    pub fn new(count: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(count)), free: Arc::new(Mutex::new((1..=count).rev().collect())) }
    }

    /// Waits for a free slot.
    pub async fn acquire(&self) -> Slot {
        let permit = Arc::clone(&self.permits).acquire_owned().await.expect("the slot semaphore is never closed");
        let index = self.free.lock().expect("slot list lock").pop().unwrap_or(0);
        Slot { index, free: Arc::clone(&self.free), _permit: permit }
    }
}

impl Slot {
    /// The slot's number, for logs.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut free) = self.free.lock() {
            free.push(self.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[tokio::test]
    async fn slots_are_reused_and_bounded() {
        let slots = Slots::new(2);
        let a = slots.acquire().await;
        let b = slots.acquire().await;
        assert_eq!((a.index(), b.index()), (1, 2));
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), slots.acquire()).await.is_err());
        drop(a);
        assert_eq!(slots.acquire().await.index(), 1);
    }
}
