//! A tenant's requests per second, as a token bucket: up to one second's
//! worth of requests at once, refilled continuously.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One tenant's bucket.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// `per_second` requests a second, with a burst of as many (at least 1).
    pub fn new(per_second: f64) -> Self {
        Self { per_second, bucket: Mutex::new((per_second.max(1.0), Instant::now())) }
    }

    /// The configured rate.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Takes a token, or says how long until one is there.
    pub fn take(&self) -> Result<(), Duration> {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> Result<(), Duration> {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = *bucket;
        let refilled = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.per_second)
            .min(self.per_second.max(1.0));
        if refilled >= 1.0 {
            *bucket = (refilled - 1.0, now);
            Ok(())
        } else {
            *bucket = (refilled, now);
            Err(Duration::try_from_secs_f64((1.0 - refilled) / self.per_second).unwrap_or(Duration::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_second_of_burst_then_the_rate() {
        let limit = RateLimit::new(5.0);
        let start = Instant::now();
        for _ in 0..5 {
            assert!(limit.take_at(start).is_ok());
        }
        let wait = limit.take_at(start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.2).abs() < 1e-9, "{wait:?}");
        assert!(limit.take_at(start + Duration::from_millis(200)).is_ok());
        assert!(limit.take_at(start + Duration::from_millis(200)).is_err());
    }
}
