//! Ollama's API shape, served by the stand-in (it is not a model): `POST
//! /api/chat`, `POST /api/generate`, `GET /api/tags`.
//!
//! Field names are Ollama's. Any served model name is accepted and echoed
//! (any name at all unless [`Behaviour::models`] is set); `model` must be
//! present, as with Ollama. `options.num_predict` is honoured and `think`
//! read, as `behaviour.rs` says; other `options` are ignored. `keep_alive`
//! must be what Ollama reads, a number of seconds or a Go duration string
//! (`"5m"`): `"-1"` gets Ollama's 400. When `stream` is absent or `true` Ollama streams NDJSON; the
//! stand-in answers such requests with one NDJSON line (`done: true`, the
//! whole reply in it, `Content-Type: application/x-ndjson`). Durations are
//! nanoseconds of real time spent, latency included.

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, Call, Caller, Shape, answer, served, tokens, unserved};
use crate::behaviour::{Asked, Composed};
use crate::phrases::translate;
use crate::prompt::{self, Turn};

/// Sent instead of a reply by the `malformed` fault: cut off mid-JSON.
pub(crate) const MALFORMED_BODY: &str = r#"{"model":"lingo-stand-in","message":{"role":"assistant","content":"#;

pub(crate) fn error_body(message: &str) -> Value {
    json!({ "error": message })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChatRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<Message>,
    stream: Option<bool>,
    #[serde(flatten)]
    shared: Shared,
}

/// What chat and generate requests share beyond the prompt.
#[derive(Debug, Default, Deserialize)]
struct Shared {
    #[serde(default)]
    options: Value,
    #[serde(default)]
    keep_alive: Value,
    #[serde(default)]
    think: Value,
}

impl Shared {
    /// What was asked, or Ollama's message for a `keep_alive` it cannot
    /// read (answered with 400).
    fn asked<'a>(&self, target: &'a str) -> Result<Asked<'a>, String> {
        if let Value::String(text) = &self.keep_alive
            && !is_go_duration(text)
        {
            return Err(format!("time: missing unit in duration \"{text}\""));
        }
        let limit = self.options["num_predict"].as_i64().and_then(|n| u64::try_from(n).ok());
        Ok(Asked { target, limit, thinking: self.think != json!(false) })
    }
}

/// Whether Go's `time.ParseDuration` reads `text`: an optional sign, then
/// number-and-unit pairs (`ns us µs ms s m h`), or a bare `0`.
fn is_go_duration(text: &str) -> bool {
    let mut rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let after = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].into_iter().find(|u| after.starts_with(u));
        match unit {
            Some(unit) if digits > 0 => rest = &after[unit.len()..],
            _ => return false,
        }
    }
    true
}

#[derive(Debug, Default, Deserialize)]
struct Message {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GenerateRequest {
    model: Option<String>,
    #[serde(default)]
    prompt: String,
    system: Option<String>,
    stream: Option<bool>,
    #[serde(flatten)]
    shared: Shared,
}

pub(crate) async fn chat(State(app): State<App>, caller: Caller, body: Bytes) -> Response {
    let call = Call { shape: Shape::Ollama, path: "/api/chat", caller: &caller, body: Some(&body) };
    answer(&app, call, |request: ChatRequest, spent| {
        let Some(model) = request.model.filter(|m| !m.is_empty()) else {
            return model_required();
        };
        if let Some(not_found) = unserved(&app, Shape::Ollama, &model) {
            return not_found;
        }
        let turns: Vec<Turn<'_>> =
            request.messages.iter().map(|m| Turn { role: &m.role, content: &m.content }).collect();
        let job = prompt::from_chat(&turns);
        let asked = match request.shared.asked(&job.target) {
            Ok(asked) => asked,
            Err(message) => return Shape::Ollama.error(StatusCode::BAD_REQUEST, &message),
        };
        let composed = app.behaviour.compose(&translate(&job.text, &job.target), asked);
        let prompt_tokens = request.messages.iter().map(|m| tokens(&m.content)).sum();
        let mut reply = done(&model, prompt_tokens, &composed, spent);
        let mut message = json!({ "role": "assistant", "content": composed.content.unwrap_or_default() });
        if let Some(thinking) = composed.reasoning {
            message["thinking"] = json!(thinking);
        }
        reply["message"] = message;
        respond(reply, request.stream)
    })
    .await
}

pub(crate) async fn generate(State(app): State<App>, caller: Caller, body: Bytes) -> Response {
    let call = Call { shape: Shape::Ollama, path: "/api/generate", caller: &caller, body: Some(&body) };
    answer(&app, call, |request: GenerateRequest, spent| {
        let Some(model) = request.model.filter(|m| !m.is_empty()) else {
            return model_required();
        };
        if let Some(not_found) = unserved(&app, Shape::Ollama, &model) {
            return not_found;
        }
        let job = prompt::from_generate(&request.prompt, request.system.as_deref());
        let asked = match request.shared.asked(&job.target) {
            Ok(asked) => asked,
            Err(message) => return Shape::Ollama.error(StatusCode::BAD_REQUEST, &message),
        };
        let composed = app.behaviour.compose(&translate(&job.text, &job.target), asked);
        let prompt_tokens = tokens(&request.prompt) + request.system.as_deref().map_or(0, tokens);
        let mut reply = done(&model, prompt_tokens, &composed, spent);
        reply["response"] = json!(composed.content.unwrap_or_default());
        if let Some(thinking) = composed.reasoning {
            reply["thinking"] = json!(thinking);
        }
        respond(reply, request.stream)
    })
    .await
}

pub(crate) async fn tags(State(app): State<App>, caller: Caller) -> Response {
    let call = Call { shape: Shape::Ollama, path: "/api/tags", caller: &caller, body: None };
    let modified_at = rfc3339(app.started);
    answer(&app, call, |(): (), _| {
        let details = json!({
            "parent_model": "", "format": "gguf", "family": "stand-in", "families": ["stand-in"],
            "parameter_size": "0B", "quantization_level": "none",
        });
        let digest = format!("sha256:{}", "0".repeat(64));
        let models: Vec<Value> = served(&app)
            .map(|name| if name.contains(':') { name.to_string() } else { format!("{name}:latest") })
            .map(|name| {
                json!({
                    "name": name, "model": name, "modified_at": modified_at, "size": 0, "digest": digest,
                    "details": details,
                })
            })
            .collect();
        Json(json!({ "models": models })).into_response()
    })
    .await
}

fn model_required() -> Response {
    Shape::Ollama.error(StatusCode::BAD_REQUEST, "model is required")
}

/// The fields shared by final chat and generate replies.
fn done(model: &str, prompt_tokens: u64, reply: &Composed, spent: Duration) -> Value {
    let eval_tokens = reply.content.as_deref().map_or(0, tokens) + reply.reasoning.as_deref().map_or(0, tokens);
    let total = spent.as_nanos() as u64;
    let prompt_eval = total / 10;
    json!({
        "model": model,
        "created_at": rfc3339(SystemTime::now()),
        "done": true,
        "done_reason": reply.finish,
        "total_duration": total,
        "load_duration": 0,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_eval,
        "eval_count": eval_tokens,
        "eval_duration": total - prompt_eval,
    })
}

/// One JSON object, or one NDJSON line when the caller asked to stream.
fn respond(reply: Value, stream: Option<bool>) -> Response {
    if stream == Some(false) {
        return Json(reply).into_response();
    }
    ([(CONTENT_TYPE, "application/x-ndjson")], format!("{reply}\n")).into_response()
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}
