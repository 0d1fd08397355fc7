//! The Redis key names of one bullmq queue, as the scripts take them.
//!
//! Every key starts with `<prefix>:<queue>:`; the scripts build job keys from
//! that same base (`ARGV` "key prefix"), so a hash-tagged prefix (`{bull}`)
//! keeps a queue in one cluster slot.

/// Names of a queue's keys, computed once.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    /// `<prefix>:<queue>:`, passed to scripts that build per-job keys.
    pub base: String,
    pub wait: String,
    pub active: String,
    pub paused: String,
    pub prioritized: String,
    pub delayed: String,
    pub completed: String,
    pub failed: String,
    pub stalled: String,
    pub stalled_check: String,
    pub meta: String,
    /// The priority counter.
    pub pc: String,
    /// The sorted set an idle worker blocks on (`BZPOPMIN`): producers and
    /// scripts add to it when there is work, scored by when it is due.
    pub marker: String,
    /// The events stream `QueueEvents` and `waitUntilFinished` read.
    pub events: String,
    pub limiter: String,
    pub repeat: String,
    pub metrics_completed: String,
    pub metrics_failed: String,
}

impl Keys {
    pub fn new(base: String) -> Self {
        let key = |name: &str| format!("{base}{name}");
        Self {
            wait: key("wait"),
            active: key("active"),
            paused: key("paused"),
            prioritized: key("prioritized"),
            delayed: key("delayed"),
            completed: key("completed"),
            failed: key("failed"),
            stalled: key("stalled"),
            stalled_check: key("stalled-check"),
            meta: key("meta"),
            pc: key("pc"),
            marker: key("marker"),
            events: key("events"),
            limiter: key("limiter"),
            repeat: key("repeat"),
            metrics_completed: key("metrics:completed"),
            metrics_failed: key("metrics:failed"),
            base,
        }
    }

    /// The job's hash.
    pub fn job(&self, id: &str) -> String {
        format!("{}{id}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn names_follow_bullmq_layout() {
        let keys = Keys::new("bull:translation-jobs:".into());
        assert_eq!(keys.marker, "bull:translation-jobs:marker");
        assert_eq!(keys.stalled_check, "bull:translation-jobs:stalled-check");
        assert_eq!(keys.metrics_failed, "bull:translation-jobs:metrics:failed");
        assert_eq!(keys.job("17"), "bull:translation-jobs:17");
    }
}
