//! The HTTP surface of the stand-in server (it is not a model).
//!
//! Owns the router, the shared [`AppState`] and [`answer`], the one path every
//! model API request takes: count it, check the API key, parse the body, wait
//! out latency (cut short by shutdown), inject the planned fault, or let the
//! endpoint reply. The endpoint shapes live in [`ollama`] and [`openai`]; the
//! control endpoints (`/`, `/stats`, `/faults`) in [`control`].

mod control;
mod ollama;
mod openai;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::behaviour::Behaviour;
use crate::conn::ConnHandle;
use crate::faults::{Fault, FaultState};
use crate::stats::Stats;

/// The header every response carries.
pub const STAND_IN_HEADER: &str = "x-lingo-stand-in";

/// The model name we list; requests may name any model.
pub(crate) const MODEL_NAME: &str = "lingo-stand-in";

/// Everything handlers share.
#[derive(Debug)]
pub(crate) struct AppState {
    pub stats: Stats,
    pub faults: FaultState,
    /// When set, model requests need `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// The reply shapes beyond the happy path.
    pub behaviour: Behaviour,
    /// Turns `true` on shutdown, cutting every pending delay short.
    pub closing: watch::Receiver<bool>,
    /// Reported as the models' creation time.
    pub started: SystemTime,
    /// Numbers `chatcmpl-` ids.
    pub replies: AtomicU64,
}

pub(crate) type App = Arc<AppState>;

impl AppState {
    pub fn next_reply(&self) -> u64 {
        self.replies.fetch_add(1, Ordering::Relaxed)
    }

    fn authorized(&self, authorization: Option<&str>) -> bool {
        let Some(key) = &self.api_key else {
            return true;
        };
        authorization.and_then(|h| h.strip_prefix("Bearer ")).is_some_and(|given| given.trim() == key)
    }

    /// Sleeps `delay`; `false` if shutdown came first.
    async fn pause(&self, delay: Duration) -> bool {
        let mut closing = self.closing.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            _ = closing.wait_for(|closing| *closing) => false,
        }
    }
}

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/api/chat", post(ollama::chat))
        .route("/api/generate", post(ollama::generate))
        .route("/api/tags", get(ollama::tags))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(openai::models))
        .merge(control::router())
        .layer(axum::middleware::map_response(mark_stand_in))
        .with_state(app)
}

async fn mark_stand_in(mut response: Response) -> Response {
    response.headers_mut().insert(HeaderName::from_static(STAND_IN_HEADER), HeaderValue::from_static("true"));
    response
}

/// What a handler knows of its caller beyond the body.
#[derive(Debug)]
pub(crate) struct Caller {
    authorization: Option<String>,
    /// Absent only if the router is served without our listener.
    conn: Option<ConnHandle>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let authorization = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let conn = parts.extensions.get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
        Ok(Caller { authorization, conn })
    }
}

/// Which API's error and broken bodies to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Ollama,
    OpenAi,
}

impl Shape {
    pub fn error(self, status: StatusCode, message: &str) -> Response {
        let body = match self {
            Shape::Ollama => ollama::error_body(message),
            Shape::OpenAi => openai::error_body(status, message),
        };
        (status, axum::Json(body)).into_response()
    }

    fn malformed(self) -> Response {
        let body = match self {
            Shape::Ollama => ollama::MALFORMED_BODY,
            Shape::OpenAi => openai::MALFORMED_BODY,
        };
        ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// One model endpoint's request, from its route.
pub(crate) struct Call<'a> {
    pub shape: Shape,
    pub path: &'static str,
    pub caller: &'a Caller,
    /// `None` for `GET` endpoints, whose request is `T::default()`.
    pub body: Option<&'a [u8]>,
}

/// Serves one model API request; `reply` builds the normal answer from the
/// parsed request and the time spent so far.
pub(crate) async fn answer<T: DeserializeOwned + Default>(
    app: &AppState,
    call: Call<'_>,
    reply: impl FnOnce(T, Duration) -> Response,
) -> Response {
    let started = Instant::now();
    app.stats.hit(call.path);
    if !app.authorized(call.caller.authorization.as_deref()) {
        return call.shape.error(StatusCode::UNAUTHORIZED, "Incorrect API key provided");
    }
    let request = match call.body.map(serde_json::from_slice::<T>).transpose() {
        Ok(request) => request.unwrap_or_default(),
        Err(err) => {
            return call.shape.error(StatusCode::BAD_REQUEST, &format!("invalid request body: {err}"));
        }
    };
    let plan = app.faults.plan();
    if !app.pause(plan.delay).await {
        return call.shape.error(StatusCode::SERVICE_UNAVAILABLE, "the stand-in server is shutting down");
    }
    if plan.fault != Fault::None {
        tracing::debug!(path = call.path, fault = %plan.fault, "injecting fault");
    }
    match plan.fault {
        Fault::None | Fault::Slow(_) => reply(request, started.elapsed()),
        Fault::Status { code, retry_after_secs } => status_fault(app, call.shape, code, retry_after_secs),
        Fault::Redirect(to) => redirect(&to),
        Fault::MalformedJson => call.shape.malformed(),
        Fault::DropConnection => drop_connection(call.shape, call.caller),
    }
}

fn status_fault(app: &AppState, shape: Shape, code: u16, retry_after_secs: u64) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let message = format!("injected fault: status {code} from lingo's stand-in LLM server");
    let mut response = shape.error(status, &message);
    let retry_after = HeaderValue::from_str(&app.behaviour.retry_after(retry_after_secs));
    if matches!(code, 429 | 503)
        && let Ok(retry_after) = retry_after
    {
        response.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    response
}

/// A `307` to `to`, as a proxy or a moved server answers.
fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, location)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The model names to list: the served ones, or [`MODEL_NAME`].
pub(crate) fn served(app: &AppState) -> impl Iterator<Item = &str> {
    let models = &app.behaviour.models;
    let listed: &[String] = models;
    listed.iter().map(String::as_str).chain(models.is_empty().then_some(MODEL_NAME))
}

/// The 404 vLLM and Ollama answer for a model they do not serve, or `None`
/// when `model` is served.
pub(crate) fn unserved(app: &AppState, shape: Shape, model: &str) -> Option<Response> {
    if app.behaviour.serves(model) {
        return None;
    }
    let message = match shape {
        Shape::OpenAi => format!("The model `{model}` does not exist."),
        Shape::Ollama => format!("model \"{model}\" not found, try pulling it first"),
    };
    Some(shape.error(StatusCode::NOT_FOUND, &message))
}

/// Kills the caller's connection; the returned response is never written.
fn drop_connection(shape: Shape, caller: &Caller) -> Response {
    match &caller.conn {
        Some(conn) => {
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => shape.error(StatusCode::BAD_GATEWAY, "`drop` fault needs lingo-devllm's own listener"),
    }
}

/// Rough token count for `usage` and `eval_count`: a token per 4 characters.
pub(crate) fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}
