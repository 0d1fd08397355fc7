//! Who is waiting for which job: the one listener resolves them all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::Finished;

/// Pending waiters by job id; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Waiters(Arc<Mutex<HashMap<String, Vec<oneshot::Sender<Finished>>>>>);

impl Waiters {
    /// A receiver that gets job `id`'s outcome.
    pub fn register(&self, id: &str) -> oneshot::Receiver<Finished> {
        let (tx, rx) = oneshot::channel();
        self.0.lock().expect("waiters lock").entry(id.to_string()).or_default().push(tx);
        rx
    }

    /// Hands the outcome of `id` to everyone waiting for it.
    pub fn resolve(&self, id: &str, finished: Finished) {
        let senders = self.0.lock().expect("waiters lock").remove(id).unwrap_or_default();
        for sender in senders {
            let _ = sender.send(finished.clone());
        }
    }

    /// Stops waiting for `id`.
    pub fn forget(&self, id: &str) {
        self.0.lock().expect("waiters lock").remove(id);
    }

    /// Ids still waited for (re-checked after a listener reconnects).
    pub fn pending(&self) -> Vec<String> {
        self.0.lock().expect("waiters lock").keys().cloned().collect()
    }
}
