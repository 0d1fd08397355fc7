//! Ollama's API shape, served by the stand-in (it is not a model): `POST
//! /api/chat`, `POST /api/generate`, `GET /api/tags`.
//!
//! Field names are Ollama's. Any model name is accepted and echoed; `model`
//! must be present, as with Ollama. `options` and `keep_alive` are accepted
//! and ignored. When `stream` is absent or `true` Ollama streams NDJSON; the
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

use super::{App, Call, Caller, MODEL_NAME, Shape, answer, tokens};
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
}

pub(crate) async fn chat(State(app): State<App>, caller: Caller, body: Bytes) -> Response {
    let call = Call { shape: Shape::Ollama, path: "/api/chat", caller: &caller, body: Some(&body) };
    answer(&app, call, |request: ChatRequest, spent| {
        let Some(model) = request.model.filter(|m| !m.is_empty()) else {
            return model_required();
        };
        let turns: Vec<Turn<'_>> =
            request.messages.iter().map(|m| Turn { role: &m.role, content: &m.content }).collect();
        let job = prompt::from_chat(&turns);
        let content = translate(&job.text, &job.target);
        let prompt_tokens = request.messages.iter().map(|m| tokens(&m.content)).sum();
        let mut reply = done(&model, prompt_tokens, tokens(&content), spent);
        reply["message"] = json!({ "role": "assistant", "content": content });
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
        let job = prompt::from_generate(&request.prompt, request.system.as_deref());
        let response = translate(&job.text, &job.target);
        let prompt_tokens = tokens(&request.prompt) + request.system.as_deref().map_or(0, tokens);
        let mut reply = done(&model, prompt_tokens, tokens(&response), spent);
        reply["response"] = json!(response);
        respond(reply, request.stream)
    })
    .await
}

pub(crate) async fn tags(State(app): State<App>, caller: Caller) -> Response {
    let call = Call { shape: Shape::Ollama, path: "/api/tags", caller: &caller, body: None };
    let modified_at = rfc3339(app.started);
    answer(&app, call, |(): (), _| {
        let name = format!("{MODEL_NAME}:latest");
        let details = json!({
            "parent_model": "", "format": "gguf", "family": "stand-in", "families": ["stand-in"],
            "parameter_size": "0B", "quantization_level": "none",
        });
        let digest = format!("sha256:{}", "0".repeat(64));
        let model = json!({
            "name": name, "model": name, "modified_at": modified_at, "size": 0, "digest": digest, "details": details,
        });
        Json(json!({ "models": [model] })).into_response()
    })
    .await
}

fn model_required() -> Response {
    Shape::Ollama.error(StatusCode::BAD_REQUEST, "model is required")
}

/// The fields shared by final chat and generate replies.
fn done(model: &str, prompt_tokens: u64, eval_tokens: u64, spent: Duration) -> Value {
    let total = spent.as_nanos() as u64;
    let prompt_eval = total / 10;
    json!({
        "model": model,
        "created_at": rfc3339(SystemTime::now()),
        "done": true,
        "done_reason": "stop",
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
