//! The OpenAI-compatible API shape (as vLLM serves it), answered by the
//! stand-in (it is not a model): `POST /v1/chat/completions`, `GET /v1/models`.
//!
//! Field names are OpenAI's. `model` may be omitted (vLLM falls back to its
//! served model; so do we, to `lingo-stand-in`); any served name is echoed
//! (any name at all unless [`Behaviour::models`] is set). `max_tokens` (or
//! `max_completion_tokens`) is honoured and `chat_template_kwargs.
//! enable_thinking` read, as `behaviour.rs` says; `temperature` and the other
//! sampling fields are accepted and ignored. `content` may be a string or a
//! list of `{"type":"text","text"}` parts. With `"stream": true` the reply is
//! server-sent events: one chunk with the whole content, one with the
//! `finish_reason`, then `data: [DONE]`. Errors use OpenAI's
//! `{"error":{"message","type","param","code"}}`.
//!
//! [`Behaviour::models`]: crate::Behaviour

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, Call, Caller, MODEL_NAME, Shape, answer, served, tokens, unserved};
use crate::behaviour::{Asked, Composed};
use crate::phrases::translate;
use crate::prompt::{self, Turn};

/// Sent instead of a reply by the `malformed` fault: cut off mid-JSON.
pub(crate) const MALFORMED_BODY: &str = r#"{"id":"chatcmpl-devllm-malformed","object":"chat.completion","choices": ["#;

pub(crate) fn error_body(status: StatusCode, message: &str) -> Value {
    let (kind, code) = match status.as_u16() {
        401 => ("invalid_request_error", "invalid_api_key"),
        429 => ("rate_limit_error", "rate_limit_exceeded"),
        503 => ("server_error", "service_unavailable"),
        400..=499 => ("invalid_request_error", "invalid_request"),
        _ => ("server_error", "server_error"),
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CompletionRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    chat_template_kwargs: Value,
}

#[derive(Debug, Default, Deserialize)]
struct Message {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: Value,
}

/// The text of a `content` that is a string or a list of text parts.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

pub(crate) async fn chat_completions(State(app): State<App>, caller: Caller, body: Bytes) -> Response {
    let call = Call { shape: Shape::OpenAi, path: "/v1/chat/completions", caller: &caller, body: Some(&body) };
    answer(&app, call, |request: CompletionRequest, _| {
        let model = request.model.filter(|m| !m.is_empty()).unwrap_or_else(|| MODEL_NAME.to_owned());
        if let Some(not_found) = unserved(&app, Shape::OpenAi, &model) {
            return not_found;
        }
        let texts: Vec<(String, String)> =
            request.messages.iter().map(|m| (m.role.clone(), text_of(&m.content))).collect();
        let turns: Vec<Turn<'_>> = texts.iter().map(|(role, content)| Turn { role, content }).collect();
        let job = prompt::from_chat(&turns);
        let asked = Asked {
            target: &job.target,
            limit: request.max_completion_tokens.or(request.max_tokens),
            thinking: request.chat_template_kwargs["enable_thinking"] != json!(false),
        };
        let composed = app.behaviour.compose(&translate(&job.text, &job.target), asked);
        let reply = Reply { id: format!("chatcmpl-devllm-{:08x}", app.next_reply()), created: unix_now(), model };
        let prompt_tokens: u64 = texts.iter().map(|(_, text)| tokens(text)).sum();
        if request.stream { reply.events(&composed) } else { reply.completion(&composed, prompt_tokens) }
    })
    .await
}

pub(crate) async fn models(State(app): State<App>, caller: Caller) -> Response {
    let call = Call { shape: Shape::OpenAi, path: "/v1/models", caller: &caller, body: None };
    let created = app.started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    answer(&app, call, |(): (), _| {
        let data: Vec<Value> = served(&app)
            .map(|id| json!({ "id": id, "object": "model", "created": created, "owned_by": "lingo-devllm" }))
            .collect();
        Json(json!({ "object": "list", "data": data })).into_response()
    })
    .await
}

/// The fields every form of one reply shares.
struct Reply {
    id: String,
    created: u64,
    model: String,
}

impl Reply {
    fn completion(&self, reply: &Composed, prompt_tokens: u64) -> Response {
        let completion_tokens =
            reply.content.as_deref().map_or(0, tokens) + reply.reasoning.as_deref().map_or(0, tokens);
        let mut message = json!({ "role": "assistant", "content": reply.content });
        if let Some(reasoning) = &reply.reasoning {
            // vLLM's field, and the name newer servers use.
            message["reasoning_content"] = json!(reasoning);
            message["reasoning"] = json!(reasoning);
        }
        Json(json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "finish_reason": reply.finish,
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }))
        .into_response()
    }

    fn events(&self, reply: &Composed) -> Response {
        let mut delta = json!({ "role": "assistant", "content": reply.content });
        if let Some(reasoning) = &reply.reasoning {
            delta["reasoning_content"] = json!(reasoning);
        }
        let first = self.chunk(delta, Value::Null);
        let last = self.chunk(json!({}), json!(reply.finish));
        let body = format!("data: {first}\n\ndata: {last}\n\ndata: [DONE]\n\n");
        ([(CONTENT_TYPE, "text/event-stream")], body).into_response()
    }

    fn chunk(&self, delta: Value, finish_reason: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
