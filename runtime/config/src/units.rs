//! Human units in config values: durations (`250ms`, `5s`, `7d`) and sizes
//! (`64MiB`, `4KiB`, `512`).

use std::time::Duration;

/// Parses `250ms`, `5s`, `2m`, `1h`, `7d`, or combinations like `1m30s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

/// Parses a byte size: a bare number of bytes, or with `B`, `KB`/`KiB`,
/// `MB`/`MiB`, `GB`/`GiB` (all binary: chat has no use for decimal megabytes).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("5 sec"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64MiB"), Some(64 << 20));
        assert_eq!(parse_bytes("4 KB"), Some(4096));
        assert_eq!(parse_bytes("512"), Some(512));
        assert_eq!(parse_bytes("lots"), None);
    }
}
