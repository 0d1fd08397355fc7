//! `ollama`: translates through an Ollama server, with `POST /api/chat`
//! (default) or `POST /api/generate`, never streaming.
//!
//! What real servers send is handled in `lingo_sdk::reply`: reasoning is
//! never passed on (inline `<think>` is cut out, `thinking` is not read), and
//! a reply cut off at `num_predict` (`done_reason: "length"`) fails the stage
//! instead of being used and cached. 429 and 503 (Ollama's queue is full)
//! wait their `Retry-After`.

use std::collections::BTreeMap;

use lingo_sdk::reply::{self, Finish};
use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage, http, prompt};
use serde::Deserialize;
use serde_json::{Value, json};

/// The stage's `config` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server's base URL, e.g. `http://127.0.0.1:11434`.
    pub url: String,
    /// The model tag, e.g. `qwen2.5:7b`.
    pub model: String,
    /// Sampling temperature (`options.temperature`).
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// Upper bound on the reply's length in tokens (`options.num_predict`;
    /// Ollama's own default is unbounded).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// How long Ollama keeps the model loaded after the call: a duration
    /// (`"5m"`, `"1h30m"`) or seconds (`300`; `-1` keeps it loaded for ever).
    #[serde(default)]
    pub keep_alive: Option<KeepAlive>,
    /// Whether a thinking model may think first (Ollama's `think`); unset
    /// sends nothing.
    #[serde(default)]
    pub think: Option<bool>,
    /// `chat` (`/api/chat`) or `generate` (`/api/generate`).
    #[serde(default)]
    pub endpoint: Endpoint,
    /// Sent as `Authorization: Bearer` when set (Ollama behind a proxy).
    #[serde(default)]
    pub api_key: Option<String>,
    /// Extra headers on every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Which Ollama API to call.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `POST /api/chat`, reading `message.content`.
    #[default]
    Chat,
    /// `POST /api/generate`, reading `response`.
    Generate,
}

/// `keep_alive` as written in `pipeline.toml`.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(untagged)]
pub enum KeepAlive {
    /// Seconds; negative keeps the model loaded for ever.
    Seconds(i64),
    /// A Go duration (`"5m"`), or seconds written as text (`"-1"`).
    Text(String),
}

impl KeepAlive {
    /// What Ollama accepts: a number of seconds, or a Go duration string.
    /// Seconds written as text become a number (Ollama refuses `"-1"`).
    fn to_json(&self) -> Result<Value, String> {
        match self {
            KeepAlive::Seconds(secs) => Ok(json!(secs)),
            KeepAlive::Text(text) => match text.trim().parse::<i64>() {
                Ok(secs) => Ok(json!(secs)),
                Err(_) if is_go_duration(text.trim()) => Ok(json!(text.trim())),
                Err(_) => Err(format!(
                    "keep_alive `{text}` is neither seconds nor a duration like \"5m\", \"1h30m\" or \"-1m\""
                )),
            },
        }
    }
}

/// Whether `text` is a duration Go's `time.ParseDuration` reads: an optional
/// sign, then one or more number-and-unit pairs (`ns us µs ms s m h`).
fn is_go_duration(text: &str) -> bool {
    let mut rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].into_iter().find(|u| rest.starts_with(u));
        let Some(unit) = unit else { return false };
        rest = &rest[unit.len()..];
    }
    true
}

fn default_temperature() -> f32 {
    0.2
}

fn default_max_tokens() -> u32 {
    512
}

struct Ollama;

impl Stage for Ollama {
    type Config = Config;

    fn init(config: &Config) -> Result<(), String> {
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(format!("url `{}` must start with http:// or https://", config.url));
        }
        if config.model.trim().is_empty() {
            return Err("model must not be empty".into());
        }
        if config.max_tokens == 0 {
            return Err("max_tokens must be at least 1".into());
        }
        if let Some(keep_alive) = &config.keep_alive {
            keep_alive.to_json()?;
        }
        http::check_headers(&config.headers)
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        let (Phase::Translate, Some(target)) = (request.phase, request.target_language.as_deref()) else {
            return Ok(Outcome::Pass);
        };
        let source = request.source_language.as_deref();
        let (path, mut body) = match config.endpoint {
            Endpoint::Chat => (
                "/api/chat",
                json!({
                    "messages": [
                        {"role": "system", "content": prompt::SYSTEM},
                        {"role": "user", "content": prompt::user_message(&request.text, source, target)},
                    ],
                }),
            ),
            Endpoint::Generate => (
                "/api/generate",
                json!({
                    "system": prompt::SYSTEM,
                    "prompt": prompt::user_message(&request.text, source, target),
                }),
            ),
        };
        body["model"] = json!(config.model);
        body["stream"] = json!(false);
        body["options"] = json!({"temperature": config.temperature, "num_predict": config.max_tokens});
        if let Some(keep_alive) = &config.keep_alive {
            body["keep_alive"] = keep_alive.to_json().map_err(StageError::Fatal)?;
        }
        if let Some(think) = config.think {
            body["think"] = json!(think);
        }
        let headers = http::headers(config.api_key.as_deref(), &config.headers);
        let response = http::post_json(&http::endpoint(&config.url, path), &headers, &body)?;
        response.error_for_status("Ollama")?;
        let reply: Value = response.json()?;
        let content = match config.endpoint {
            Endpoint::Chat => reply.pointer("/message/content"),
            Endpoint::Generate => reply.pointer("/response"),
        };
        let finish = Finish::from_reason(reply.get("done_reason").and_then(Value::as_str));
        let limit = format!("max_tokens = {}, sent as num_predict", config.max_tokens);
        reply::translation(content.and_then(Value::as_str), finish, "Ollama", &limit, || response.body_prefix(120))
            .map(Outcome::Translated)
    }
}

export_stage!(Ollama);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_is_sent_the_way_ollama_reads_it() {
        assert_eq!(KeepAlive::Seconds(-1).to_json(), Ok(json!(-1)));
        assert_eq!(KeepAlive::Text("-1".into()).to_json(), Ok(json!(-1)));
        assert_eq!(KeepAlive::Text("300".into()).to_json(), Ok(json!(300)));
        assert_eq!(KeepAlive::Text("5m".into()).to_json(), Ok(json!("5m")));
        assert_eq!(KeepAlive::Text("1h30m".into()).to_json(), Ok(json!("1h30m")));
        assert_eq!(KeepAlive::Text("-1m".into()).to_json(), Ok(json!("-1m")));
        assert!(KeepAlive::Text("forever".into()).to_json().unwrap_err().contains("`forever`"));
        assert!(KeepAlive::Text("5 minutes".into()).to_json().is_err());
    }
}
