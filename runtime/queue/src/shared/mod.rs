//! What both protocols' workers are made of beyond their scripts: riding out
//! Redis outages (`health`), renewing the locks of running jobs (`locks`),
//! a worker's start and end (`lifecycle`), the named connection an idle
//! fetch blocks on (`blocking`), a job as its hash stores it (`record`,
//! `opts`) with what happens when it fails (`outcome`), and its log
//! (`log`). bull and
//! bullmq store a job the same way but for a few field names, which
//! `record` reads both of.

pub(crate) mod blocking;
pub(crate) mod health;
pub(crate) mod lifecycle;
pub(crate) mod locks;
pub(crate) mod log;
pub(crate) mod opts;
pub(crate) mod outcome;
pub(crate) mod record;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, by this host's clock. Both protocols'
/// scripts take their timestamps from the worker, not from Redis `TIME`.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
