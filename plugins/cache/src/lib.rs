//! `cache`: answers from translations seen before, and keeps new ones.
//!
//! The key is a hash of the normalised text, the languages and the cache's
//! `namespace` (bump it when the model changes). A hit translates; a miss
//! passes to the next stage, and `remember` stores what that stage produced.
//! The host scopes every key to the tenant and stage, so the hash is all the
//! key needs.

use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage, kv};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The stage's `config` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How long an entry lives: `90s`, `30m`, `12h`, `7d`; none = forever.
    pub ttl: Option<String>,
    /// Part of every key: change it to start a fresh cache (a new model).
    pub namespace: String,
    /// Treat `LOL` and `lol` as the same line.
    pub ignore_case: bool,
    /// Treat runs of whitespace as one space, and ignore it at the ends.
    pub collapse_whitespace: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { ttl: None, namespace: "v1".into(), ignore_case: false, collapse_whitespace: true }
    }
}

struct Cache;

impl Stage for Cache {
    type Config = Config;

    fn init(config: &Config) -> Result<(), String> {
        ttl_seconds(config).map(|_| ())
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        let Some(key) = cache_key(config, request) else { return Ok(Outcome::Pass) };
        Ok(match kv::get_string(&key)? {
            Some(hit) => Outcome::Translated(hit),
            None => Outcome::Pass,
        })
    }

    fn remember(config: &Config, request: &Request, translation: &str, _: &str) -> Result<(), StageError> {
        let Some(key) = cache_key(config, request) else { return Ok(()) };
        let ttl = ttl_seconds(config).map_err(StageError::Fatal)?;
        Ok(kv::set_string(&key, translation, ttl)?)
    }
}

export_stage!(Cache);

/// The key for a translate request; `None` in other phases.
fn cache_key(config: &Config, request: &Request) -> Option<String> {
    if request.phase != Phase::Translate {
        return None;
    }
    let target = request.target_language.as_deref()?;
    let source = request.source_language.as_deref().unwrap_or("");
    let text = normalise(config, &request.text);
    let mut hash = Sha256::new();
    for part in [config.namespace.as_str(), source, target, text.as_str()] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    Some(hex(&hash.finalize()))
}

/// Lower-case hex. A `format!` per byte cost about 1.5 % of a cache-hit
/// job's CPU.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)].into());
        out.push(DIGITS[usize::from(b & 0xf)].into());
    }
    out
}

fn normalise(config: &Config, text: &str) -> String {
    let text = if config.collapse_whitespace {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text.to_string()
    };
    if config.ignore_case { text.to_lowercase() } else { text }
}

/// Parses `ttl` (`90s`, `30m`, `12h`, `7d`, or bare seconds).
fn ttl_seconds(config: &Config) -> Result<Option<u64>, String> {
    let Some(ttl) = config.ttl.as_deref() else { return Ok(None) };
    let bad = || format!("ttl `{ttl}` is not a duration; expected e.g. `90s`, `30m`, `12h`, `7d`");
    let (digits, unit) =
        ttl.trim().split_at(ttl.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(ttl.trim().len()));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match n * scale {
        0 => Err(format!("ttl `{ttl}` must be longer than zero")),
        secs => Ok(Some(secs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str, target: &str) -> Request {
        Request {
            source_language: Some("ko".into()),
            target_language: Some(target.into()),
            ..Request::new(Phase::Translate, text)
        }
    }

    #[test]
    fn whitespace_and_case_normalise_as_configured() {
        let mut config = Config::default();
        assert_eq!(cache_key(&config, &request(" ㅋㅋ  ㅋ ", "en")), cache_key(&config, &request("ㅋㅋ ㅋ", "en")));
        assert_ne!(cache_key(&config, &request("LOL", "en")), cache_key(&config, &request("lol", "en")));
        config.ignore_case = true;
        assert_eq!(cache_key(&config, &request("LOL", "en")), cache_key(&config, &request("lol", "en")));
    }

    #[test]
    fn the_key_is_the_hex_sha256_of_namespace_languages_and_text() {
        // Keys already in Redis stay valid only while this holds.
        let key = cache_key(&Config::default(), &request("hi", "en"));
        assert_eq!(key.as_deref(), Some("315c9f53c413081aaec77c8efcff9457925674203a3cd408be1479de52887087"));
    }

    #[test]
    fn target_and_namespace_are_part_of_the_key() {
        let mut config = Config::default();
        let en = cache_key(&config, &request("안녕", "en"));
        assert_ne!(en, cache_key(&config, &request("안녕", "ja")));
        config.namespace = "qwen-2".into();
        assert_ne!(en, cache_key(&config, &request("안녕", "en")));
    }

    #[test]
    fn ttl_parses_units_and_rejects_nonsense() {
        let with = |ttl: &str| ttl_seconds(&Config { ttl: Some(ttl.into()), ..Config::default() });
        assert_eq!(with("7d"), Ok(Some(604_800)));
        assert_eq!(with("90"), Ok(Some(90)));
        assert!(with("7 weeks").is_err());
        assert!(with("0s").is_err());
    }
}
