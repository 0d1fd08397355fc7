//! `vllm`: translates through an OpenAI-compatible server (vLLM, and any
//! server speaking `POST /v1/chat/completions`).

use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage, http, prompt};
use serde::Deserialize;
use serde_json::json;

/// The stage's `config` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server's base URL, e.g. `http://127.0.0.1:8000`.
    pub url: String,
    /// The served model's name.
    pub model: String,
    /// Sent as `Authorization: Bearer` when set.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Sampling temperature; low keeps translations literal.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// Upper bound on the reply's length in tokens.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
}

fn default_temperature() -> f32 {
    0.2
}

fn default_max_tokens() -> u32 {
    512
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

struct Vllm;

impl Stage for Vllm {
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
        let body = json!({
            "model": config.model,
            "messages": [
                {"role": "system", "content": prompt::SYSTEM},
                {"role": "user", "content": prompt::user_message(&request.text, request.source_language.as_deref(), target)},
            ],
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
        });
        let bearer = config.api_key.as_ref().map(|key| format!("Bearer {key}"));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
        let url = format!("{}/v1/chat/completions", config.url.trim_end_matches('/'));
        let response = http::post_json(&url, &headers, &body)?;
        response.error_for_status("vLLM")?;
        let completion: Completion = response.json()?;
        let content = completion.choices.into_iter().next().and_then(|c| c.message.content);
        match content.map(|c| c.trim().to_string()) {
            Some(text) if !text.is_empty() => Ok(Outcome::Translated(text)),
            _ => Err(StageError::Retryable(format!("vLLM gave no translation: {}", response.body_prefix(120)))),
        }
    }
}

export_stage!(Vllm);
