//! Latency and fault injection for the stand-in server (it is not a model).
//!
//! Owns [`Fault`] (what goes wrong, parsed from strings like `status:503`),
//! [`Settings`] (latency, jitter, fault, fail rate, seed) and [`FaultState`],
//! which turns the current settings into a [`Plan`] for each model request.
//!
//! ## Semantics
//! - Every model request waits `latency ± jitter` (uniform, never below zero)
//!   before its outcome, faulted or not. [`Fault::Slow`] adds its delay on top
//!   and then answers normally.
//! - `fail_rate` in `[0, 1]` is the fraction of model requests that get the
//!   fault: `0` means never, `1` means always. It has no effect when the fault
//!   is [`Fault::None`]. Setting a fault without a rate means rate `1`.
//! - Whether request number `n` (counted from the start, or from the last
//!   change of settings) is faulted, and its jitter, are pure functions of
//!   `(seed, n)`: the same sequence of requests sees the same faults.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The `Retry-After` (seconds) of a status fault when none is given.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 1;

/// What goes wrong with a faulted request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fault {
    /// Nothing: every request is answered normally.
    #[default]
    None,
    /// Answer with this status and an error body in the endpoint's shape;
    /// `429` and `503` also carry `Retry-After: <retry_after_secs>`.
    Status { code: u16, retry_after_secs: u64 },
    /// Wait this much longer than the latency, then answer normally.
    Slow(Duration),
    /// Answer `200` with a body that is cut off mid-JSON.
    MalformedJson,
    /// Close the connection without writing a response.
    DropConnection,
    /// Answer `307 Temporary Redirect` to this URL.
    Redirect(String),
}

/// Why a fault string (`--fault`, `POST /faults`) was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseFaultError {
    #[error(
        "unknown fault `{0}`\nhint: use one of `none`, `status:503`, `status:429:2`, `slow:2s`, `malformed`, `drop`, `redirect:URL`"
    )]
    Unknown(String),
    #[error("fault `{0}`: status must be a number from 400 to 599")]
    BadStatus(String),
    #[error("fault `{0}`: retry-after must be whole seconds, like `2` or `2s`")]
    BadRetryAfter(String),
    #[error("fault `{0}`: delay must be a duration like `200ms` or `2s`")]
    BadDelay(String),
}

impl FromStr for Fault {
    type Err = ParseFaultError;

    /// Accepts `none`, `status:<code>`, `status:<code>:<retry-after>`,
    /// `slow:<duration>`, `malformed` (or `malformed-json`) and `drop`
    /// (or `drop-connection`), case-insensitively, and `redirect:<url>`.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if let Some(to) = raw.trim().strip_prefix("redirect:") {
            return Ok(Fault::Redirect(to.trim().to_string()));
        }
        let text = raw.trim().to_ascii_lowercase();
        let mut parts = text.splitn(3, ':');
        let kind = parts.next().unwrap_or_default();
        match (kind, parts.next(), parts.next()) {
            ("none" | "off", None, None) => Ok(Fault::None),
            ("malformed" | "malformed-json" | "malformed_json", None, None) => Ok(Fault::MalformedJson),
            ("drop" | "drop-connection" | "drop_connection", None, None) => Ok(Fault::DropConnection),
            ("status", Some(code), retry) => parse_status(raw, code, retry),
            ("slow", Some(delay), None) => {
                let delay = parse_duration(delay).ok_or_else(|| ParseFaultError::BadDelay(raw.into()))?;
                Ok(Fault::Slow(delay))
            }
            _ => Err(ParseFaultError::Unknown(raw.into())),
        }
    }
}

fn parse_status(raw: &str, code: &str, retry: Option<&str>) -> Result<Fault, ParseFaultError> {
    let code = code.trim().parse::<u16>().ok().filter(|c| (400..=599).contains(c));
    let code = code.ok_or_else(|| ParseFaultError::BadStatus(raw.into()))?;
    let retry_after_secs = match retry {
        None => DEFAULT_RETRY_AFTER_SECS,
        Some(r) => parse_whole_seconds(r).ok_or_else(|| ParseFaultError::BadRetryAfter(raw.into()))?,
    };
    Ok(Fault::Status { code, retry_after_secs })
}

fn parse_whole_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    text.parse::<u64>().ok().or_else(|| {
        let d = parse_duration(text)?;
        (d.subsec_nanos() == 0).then_some(d.as_secs())
    })
}

/// Parses `200ms`, `2s`, `1m` and friends (humantime syntax).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

impl fmt::Display for Fault {
    /// The canonical string form, which [`Fault::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::Status { code, retry_after_secs } => write!(f, "status:{code}:{retry_after_secs}"),
            Fault::Slow(delay) => write!(f, "slow:{}", humantime::format_duration(*delay)),
            Fault::MalformedJson => f.write_str("malformed"),
            Fault::DropConnection => f.write_str("drop"),
            Fault::Redirect(to) => write!(f, "redirect:{to}"),
        }
    }
}

/// The knobs that shape every model request; changed by `POST /faults`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub latency: Duration,
    pub jitter: Duration,
    /// Checked to lie in `[0, 1]` before it gets here.
    pub fail_rate: f64,
    pub fault: Fault,
    pub seed: u64,
}

/// Checks a fail rate from options or `POST /faults`.
pub(crate) fn check_fail_rate(rate: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&rate) { Ok(rate) } else { Err(format!("fail_rate `{rate}` is not between 0 and 1")) }
}

/// What happens to one model request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Latency, jitter and any [`Fault::Slow`] delay, summed.
    pub delay: Duration,
    /// The fault to inject after the delay; `Fault::None` answers normally
    /// (a `Slow` fault has become part of `delay`).
    pub fault: Fault,
}

/// The live settings plus the request sequence the dice are rolled on.
#[derive(Debug)]
pub(crate) struct FaultState {
    settings: Mutex<Settings>,
    /// Number of model requests planned since the last settings change.
    sequence: AtomicU64,
}

impl FaultState {
    pub fn new(settings: Settings) -> Self {
        FaultState { settings: Mutex::new(settings), sequence: AtomicU64::new(0) }
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Applies `change` and restarts the request sequence, so each phase
    /// of a test is deterministic on its own.
    pub fn update(&self, change: impl FnOnce(&mut Settings)) -> Settings {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut settings);
        self.sequence.store(0, Ordering::SeqCst);
        settings.clone()
    }

    /// Decides the delay and fault of the next model request.
    pub fn plan(&self) -> Plan {
        let settings = self.settings();
        let n = self.sequence.fetch_add(1, Ordering::SeqCst);
        plan_for(&settings, n)
    }
}

/// The plan of request number `n` under `settings`: a pure function.
pub(crate) fn plan_for(settings: &Settings, n: u64) -> Plan {
    let mut delay = jittered(settings, n);
    let hit = unit(mix(settings.seed, n, 0)) < settings.fail_rate;
    let fault = match &settings.fault {
        _ if !hit => Fault::None,
        Fault::Slow(extra) => {
            delay += *extra;
            Fault::None
        }
        other => other.clone(),
    };
    Plan { delay, fault }
}

fn jittered(settings: &Settings, n: u64) -> Duration {
    let jitter = settings.jitter.as_secs_f64();
    let offset = (unit(mix(settings.seed, n, 1)) * 2.0 - 1.0) * jitter;
    Duration::from_secs_f64((settings.latency.as_secs_f64() + offset).max(0.0))
}

/// splitmix64 over `(seed, n, stream)`: cheap, stateless, well spread.
fn mix(seed: u64, n: u64, stream: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 64 random bits to `[0, 1)`.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(fault: Fault, fail_rate: f64) -> Settings {
        Settings { latency: Duration::from_millis(100), jitter: Duration::ZERO, fail_rate, fault, seed: 7 }
    }

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            ("none", Fault::None),
            ("status:503", Fault::Status { code: 503, retry_after_secs: 1 }),
            ("status:429:2", Fault::Status { code: 429, retry_after_secs: 2 }),
            ("status:429:3s", Fault::Status { code: 429, retry_after_secs: 3 }),
            ("slow:2s", Fault::Slow(Duration::from_secs(2))),
            ("slow:200ms", Fault::Slow(Duration::from_millis(200))),
            ("malformed", Fault::MalformedJson),
            ("drop", Fault::DropConnection),
            ("  DROP ", Fault::DropConnection),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Fault>(), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        assert!(matches!("explode".parse::<Fault>(), Err(ParseFaultError::Unknown(_))));
        assert!(matches!("status:200".parse::<Fault>(), Err(ParseFaultError::BadStatus(_))));
        assert!(matches!("status:abc".parse::<Fault>(), Err(ParseFaultError::BadStatus(_))));
        assert!(matches!("status:429:1.5s".parse::<Fault>(), Err(ParseFaultError::BadRetryAfter(_))));
        assert!(matches!("slow:soon".parse::<Fault>(), Err(ParseFaultError::BadDelay(_))));
        assert!(matches!("slow".parse::<Fault>(), Err(ParseFaultError::Unknown(_))));
        assert!(matches!("drop:now".parse::<Fault>(), Err(ParseFaultError::Unknown(_))));
    }

    #[test]
    fn display_reads_back() {
        for text in [
            "none",
            "status:503:1",
            "status:429:2",
            "slow:2s",
            "slow:200ms",
            "malformed",
            "drop",
            "redirect:http://h:1/x",
        ] {
            assert_eq!(text.parse::<Fault>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn fail_rate_bounds_are_exact() {
        let always = settings(Fault::MalformedJson, 1.0);
        let never = settings(Fault::MalformedJson, 0.0);
        for n in 0..1000 {
            assert_eq!(plan_for(&always, n).fault, Fault::MalformedJson);
            assert_eq!(plan_for(&never, n).fault, Fault::None);
        }
    }

    #[test]
    fn fail_rate_is_a_fraction_and_deterministic() {
        let half = settings(Fault::DropConnection, 0.5);
        let hits = (0..10_000).filter(|&n| plan_for(&half, n).fault != Fault::None).count();
        assert!((4_500..5_500).contains(&hits), "{hits}");
        let again = (0..10_000).filter(|&n| plan_for(&half, n).fault != Fault::None).count();
        assert_eq!(hits, again);
    }

    #[test]
    fn slow_adds_to_latency_and_then_serves() {
        let plan = plan_for(&settings(Fault::Slow(Duration::from_secs(2)), 1.0), 0);
        assert_eq!(plan, Plan { delay: Duration::from_millis(2100), fault: Fault::None });
    }

    #[test]
    fn jitter_stays_in_its_band() {
        let mut s = settings(Fault::None, 0.0);
        s.jitter = Duration::from_millis(50);
        let delays: Vec<_> = (0..1000).map(|n| plan_for(&s, n).delay).collect();
        assert!(delays.iter().all(|d| (Duration::from_millis(50)..=Duration::from_millis(150)).contains(d)));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(90)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(110)));
    }

    #[test]
    fn update_restarts_the_sequence() {
        let state = FaultState::new(settings(Fault::DropConnection, 0.5));
        let first: Vec<_> = (0..20).map(|_| state.plan().fault).collect();
        state.update(|_| {});
        let second: Vec<_> = (0..20).map(|_| state.plan().fault).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn fail_rate_check() {
        assert_eq!(check_fail_rate(0.25), Ok(0.25));
        assert!(check_fail_rate(1.5).is_err());
        assert!(check_fail_rate(f64::NAN).is_err());
    }
}
