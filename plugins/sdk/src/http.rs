//! HTTP through the host's pooled client, and the mapping of HTTP failures to
//! stage errors that every LLM stage shares.
//!
//! The host checks each URL against the stage's `allowed_hosts` and applies
//! the stage's deadline; a refused or timed-out request comes back as an
//! [`HttpError`], never as a panic.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::lingo::pipeline::http;
use crate::{RateLimit, StageError};

pub use http::{HttpError, Request, Response};

/// How long to wait after a 429 or 503 that gives no `Retry-After`.
const DEFAULT_RETRY_AFTER_MS: u64 = 1_000;

/// Sends any request.
pub fn send(request: &Request) -> Result<Response, HttpError> {
    http::send(request)
}

/// POSTs `body` as JSON with the given extra headers.
pub fn post_json<T: Serialize>(url: &str, headers: &[(&str, &str)], body: &T) -> Result<Response, HttpError> {
    let body = serde_json::to_vec(body).map_err(|e| HttpError::InvalidRequest(format!("body is not JSON: {e}")))?;
    let mut all = vec![("content-type".to_string(), "application/json".to_string())];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    send(&Request { method: "POST".into(), url: url.into(), headers: all, body })
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in milliseconds, when given in seconds.
    pub fn retry_after_ms(&self) -> Option<u64> {
        let secs: f64 = self.header("retry-after")?.trim().parse().ok()?;
        Some((secs.max(0.0) * 1000.0) as u64)
    }

    /// The body parsed as JSON; an unreadable body is retryable, with its
    /// first bytes in the message so the log shows what came back.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, StageError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| StageError::Retryable(format!("unreadable reply ({e}): {}", self.body_prefix(120))))
    }

    /// Up to `max` bytes of the body as lossy UTF-8.
    pub fn body_prefix(&self, max: usize) -> String {
        let end = self.body.len().min(max);
        String::from_utf8_lossy(&self.body[..end]).into_owned()
    }

    /// Maps a non-2xx status to the error a backend call should report:
    /// 429 is rate-limited, 5xx retryable, any other 4xx fatal. `backend`
    /// names the server in the message.
    pub fn error_for_status(&self, backend: &str) -> Result<(), StageError> {
        let status = self.status;
        let detail = || format!("{backend} answered {status}: {}", self.body_prefix(200));
        match status {
            200..=299 => Ok(()),
            429 => Err(self.rate_limited(detail())),
            500..=599 => Err(StageError::Retryable(detail())),
            _ => Err(StageError::Fatal(detail())),
        }
    }

    /// A rate-limited error carrying this response's `Retry-After`.
    pub fn rate_limited(&self, message: String) -> StageError {
        let retry_after_ms = self.retry_after_ms().unwrap_or(DEFAULT_RETRY_AFTER_MS);
        StageError::RateLimited(RateLimit { message, retry_after_ms })
    }
}

/// A person-readable sentence for an HTTP error.
pub fn describe(err: &HttpError) -> String {
    match err {
        HttpError::Denied(host) => format!("host `{host}` is not in allowed_hosts"),
        HttpError::Timeout => "timed out".into(),
        HttpError::Connect(why) => format!("connection failed: {why}"),
        HttpError::TooLarge(cap) => format!("response larger than {cap} bytes"),
        HttpError::InvalidRequest(why) => format!("invalid request: {why}"),
    }
}

impl From<HttpError> for StageError {
    /// Network trouble may pass; a denied host or a malformed request will not.
    fn from(err: HttpError) -> Self {
        let message = describe(&err);
        match err {
            HttpError::Timeout | HttpError::Connect(_) | HttpError::TooLarge(_) => StageError::Retryable(message),
            HttpError::Denied(_) | HttpError::InvalidRequest(_) => StageError::Fatal(message),
        }
    }
}
