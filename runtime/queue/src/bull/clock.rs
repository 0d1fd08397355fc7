//! The worker's clock and the delayed-zset encoding built on it.
//!
//! bull's scripts take every timestamp from the worker (ARGV), not from Redis
//! `TIME` (docs/PROTOCOL.md, A1), so producers and workers must share
//! roughly one clock. A delayed score is `due_ms * 4096 + (numeric id &
//! 4095)`: the low bits order jobs due in the same millisecond (A1, A7).

use std::time::Duration;

use tokio::time::Instant;

use crate::shared::now_ms;

/// The `K(delayed)` score of job `id` due at `due_ms`; ids that are not
/// numbers contribute 0, as in bull.
pub(crate) fn delayed_score(due_ms: u64, id: &str) -> u64 {
    let seq = id.parse::<u64>().map_or(0, |n| n & 4095);
    due_ms.saturating_mul(4096).saturating_add(seq)
}

/// Highest score that is due at `now_ms` (every sequence of that millisecond).
pub(crate) fn due_bound(now_ms: u64) -> u64 {
    now_ms.saturating_mul(4096).saturating_add(4095)
}

/// What bull publishes on `K(delayed)` for a score: `score / 4096`, a
/// possibly fractional millisecond timestamp.
pub(crate) fn due_text(score: u64) -> String {
    (score as f64 / 4096.0).to_string()
}

/// The due time in whole milliseconds of a score or a published due time.
pub(crate) fn parse_due(text: &str) -> Option<u64> {
    let ms: f64 = text.trim().parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}

/// The `Instant` at which the epoch time `due_ms` arrives (now if past).
pub(crate) fn instant_at(due_ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(due_ms.saturating_sub(now_ms()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_score_matches_bull() {
        assert_eq!(delayed_score(1000, "4097"), 1000 * 4096 + 1);
        assert_eq!(delayed_score(1000, "custom-42"), 1000 * 4096);
        assert_eq!(due_text(delayed_score(1_795_668_936_272, "2")), "1795668936272.0005");
        assert_eq!(parse_due("1795668936272.0005"), Some(1_795_668_936_272));
        assert_eq!(parse_due(""), None);
    }

    #[test]
    fn due_bound_covers_the_whole_millisecond() {
        assert!(delayed_score(5, "4095") <= due_bound(5));
        assert!(delayed_score(6, "0") > due_bound(5));
    }
}
