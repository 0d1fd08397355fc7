//! `ollama`: translates through an Ollama server, with `POST /api/chat`
//! (default) or `POST /api/generate`, never streaming.

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
    /// How long Ollama keeps the model loaded after the call (`5m`, `-1`).
    #[serde(default)]
    pub keep_alive: Option<String>,
    /// `chat` (`/api/chat`) or `generate` (`/api/generate`).
    #[serde(default)]
    pub endpoint: Endpoint,
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

fn default_temperature() -> f32 {
    0.2
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
        Ok(())
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
        body["options"] = json!({"temperature": config.temperature});
        if let Some(keep_alive) = &config.keep_alive {
            body["keep_alive"] = json!(keep_alive);
        }
        let url = format!("{}{path}", config.url.trim_end_matches('/'));
        let response = http::post_json(&url, &[], &body)?;
        if response.status == 503 {
            // Ollama answers 503 when its request queue is full (OLLAMA_MAX_QUEUE).
            return Err(response.rate_limited(format!("Ollama is busy: {}", response.body_prefix(200))));
        }
        response.error_for_status("Ollama")?;
        let reply: Value = response.json()?;
        let content = match config.endpoint {
            Endpoint::Chat => reply.pointer("/message/content"),
            Endpoint::Generate => reply.pointer("/response"),
        };
        match content.and_then(Value::as_str).map(str::trim) {
            Some(text) if !text.is_empty() => Ok(Outcome::Translated(text.to_string())),
            _ => Err(StageError::Retryable(format!("Ollama gave no translation: {}", response.body_prefix(120)))),
        }
    }
}

export_stage!(Ollama);
