//! Request counters of the stand-in server (it is not a model).
//!
//! Owns [`Stats`]: one counter per model API path, bumped when a request
//! reaches its handler (before auth, latency and faults, so injected failures
//! count too). Control endpoints (`/`, `/stats`, `/faults`) are not counted.
//! Read over HTTP with `GET /stats`, or in-process with `DevLlm::requests`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The model API paths, each with its own counter.
pub(crate) const MODEL_PATHS: [&str; 5] =
    ["/api/chat", "/api/generate", "/api/tags", "/v1/chat/completions", "/v1/models"];

/// Requests served per model API path since start or the last reset.
#[derive(Debug)]
pub(crate) struct Stats {
    /// Fixed at construction, so counting needs no lock.
    counters: BTreeMap<&'static str, AtomicU64>,
}

impl Stats {
    pub fn new() -> Self {
        Stats { counters: MODEL_PATHS.iter().map(|p| (*p, AtomicU64::new(0))).collect() }
    }

    pub fn hit(&self, path: &str) {
        if let Some(counter) = self.counters.get(path) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The count for `path`; `0` for a path that is not a model API path.
    pub fn get(&self, path: &str) -> u64 {
        self.counters.get(path).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub fn reset(&self) {
        self.counters.values().for_each(|c| c.store(0, Ordering::Relaxed));
    }

    /// The body of `GET /stats`.
    pub fn to_json(&self) -> serde_json::Value {
        let requests: BTreeMap<&str, u64> = self.counters.keys().map(|p| (*p, self.get(p))).collect();
        serde_json::json!({ "requests": requests, "stand_in": true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_paths_and_ignores_others() {
        let stats = Stats::new();
        stats.hit("/api/chat");
        stats.hit("/api/chat");
        stats.hit("/nope");
        assert_eq!(stats.get("/api/chat"), 2);
        assert_eq!(stats.get("/nope"), 0);
        assert_eq!(stats.to_json()["requests"]["/v1/models"], 0);
        stats.reset();
        assert_eq!(stats.get("/api/chat"), 0);
    }
}
