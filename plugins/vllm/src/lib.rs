//! `vllm` (also bundled as `openai`): translates through any server that
//! speaks OpenAI's `POST /v1/chat/completions` — vLLM, SGLang, llama.cpp's
//! server, TGI, LiteLLM, OpenAI itself.
//!
//! What real servers send is handled in `lingo_sdk::reply`: reasoning is
//! never passed on (inline `<think>` is cut out, `reasoning_content` is not
//! read), and a reply cut off at `max_tokens` fails the stage instead of
//! being used and cached. 429 and 503 wait their `Retry-After`.

use std::collections::BTreeMap;

use lingo_sdk::reply::{self, Finish};
use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage, http, prompt};
use serde::Deserialize;
use serde_json::json;

/// The stage's `config` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server's base URL, with or without `/v1`: `http://127.0.0.1:8000`.
    pub url: String,
    /// The served model's name, as the server lists it in `GET /v1/models`
    /// (`vllm serve Qwen/Qwen2.5-7B-Instruct` serves `Qwen/Qwen2.5-7B-Instruct`).
    pub model: String,
    /// Sent as `Authorization: Bearer` when set.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Sampling temperature; low keeps translations literal.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// Upper bound on the reply's length in tokens, reasoning included.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Whether a reasoning model may think first. `false` sends
    /// `chat_template_kwargs: {enable_thinking: false}` (Qwen3 and others on
    /// vLLM and SGLang); unset sends nothing.
    #[serde(default)]
    pub think: Option<bool>,
    /// Extra headers on every request (a gateway's own key header, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
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
    #[serde(default)]
    finish_reason: Option<String>,
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
        if config.max_tokens == 0 {
            return Err("max_tokens must be at least 1".into());
        }
        http::check_headers(&config.headers)
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        let (Phase::Translate, Some(target)) = (request.phase, request.target_language.as_deref()) else {
            return Ok(Outcome::Pass);
        };
        let mut body = json!({
            "model": config.model,
            "messages": [
                {"role": "system", "content": prompt::SYSTEM},
                {"role": "user", "content": prompt::user_message(&request.text, request.source_language.as_deref(), target)},
            ],
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
        });
        if let Some(think) = config.think {
            body["chat_template_kwargs"] = json!({ "enable_thinking": think });
        }
        let headers = http::headers(config.api_key.as_deref(), &config.headers);
        let url = http::endpoint(&config.url, "/v1/chat/completions");
        let response = http::post_json(&url, &headers, &body)?;
        response.error_for_status("the OpenAI-compatible server")?;
        let completion: Completion = response.json()?;
        let choice = completion.choices.into_iter().next();
        let finish = Finish::from_reason(choice.as_ref().and_then(|c| c.finish_reason.as_deref()));
        let content = choice.and_then(|c| c.message.content);
        let limit = format!("max_tokens = {}", config.max_tokens);
        reply::translation(content.as_deref(), finish, "the OpenAI-compatible server", &limit, || {
            response.body_prefix(120)
        })
        .map(Outcome::Translated)
    }
}

export_stage!(Vllm);
