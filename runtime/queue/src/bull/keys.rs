//! The Redis key and channel names of one bull v4 queue (spec A1, A8).
//!
//! Every key starts with `<prefix>:<queue>:`; the scripts build job keys from
//! that same base, so a hash-tagged prefix (`{bull}`) keeps a queue in one
//! cluster slot.

/// Names of a queue's keys, computed once.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    /// `<prefix>:<queue>:`, passed to scripts that build per-job keys.
    pub base: String,
    pub wait: String,
    pub active: String,
    pub paused: String,
    pub meta_paused: String,
    pub priority: String,
    pub delayed: String,
    pub completed: String,
    pub failed: String,
    pub stalled: String,
    pub stalled_check: String,
    /// The job id counter, `INCR`ed by every add.
    pub id: String,
}

impl Keys {
    pub fn new(base: String) -> Self {
        let key = |name: &str| format!("{base}{name}");
        Self {
            wait: key("wait"),
            active: key("active"),
            paused: key("paused"),
            meta_paused: key("meta-paused"),
            priority: key("priority"),
            delayed: key("delayed"),
            completed: key("completed"),
            failed: key("failed"),
            stalled: key("stalled"),
            stalled_check: key("stalled-check"),
            id: key("id"),
            base,
        }
    }

    /// The job's lock; its value is the holding worker's token.
    pub fn lock(&self, id: &str) -> String {
        format!("{}{id}:lock", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn names_follow_bull_layout() {
        let keys = Keys::new("bull:translation-jobs:".into());
        assert_eq!(keys.wait, "bull:translation-jobs:wait");
        assert_eq!(keys.meta_paused, "bull:translation-jobs:meta-paused");
        assert_eq!(keys.stalled_check, "bull:translation-jobs:stalled-check");
        assert_eq!(keys.lock("17"), "bull:translation-jobs:17:lock");
    }
}
