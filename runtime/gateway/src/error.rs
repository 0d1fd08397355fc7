//! Errors as the gateway answers them: a status and `{"error": {"code",
//! "message"}}`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request that could not be answered with a translation.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 400: the body is not what the API takes; the message names the field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 413: the body or the text is over its limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 415: not JSON.
    pub fn not_json() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        )
    }

    /// 503: the queue's Redis cannot be reached.
    pub fn queue_unavailable(cause: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable", format!("the queue cannot be reached: {cause}"))
    }

    /// 504: the job did not finish in time; it stays queued and will finish.
    pub fn queue_timeout(job_id: &str, waited: std::time::Duration) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "queue_timeout",
            format!("job {job_id} did not finish within {} s; it stays queued and will finish", waited.as_secs()),
        )
    }

    /// 401: no API key, or one that selects no tenant.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 429: over the tenant's requests per second; retry after `retry_after`.
    pub fn rate_limited(tenant: &str, rate: f64, retry_after: std::time::Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("tenant `{tenant}` is over its {rate} requests per second"),
        );
        error.retry_after = Some(retry_after.as_secs_f64().ceil().max(1.0) as u64);
        error
    }

    /// 502: the worker failed the job.
    pub fn job_failed(reason: String) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "translation_failed", reason)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code, "message": self.message } }));
        match self.retry_after {
            Some(seconds) => (self.status, [(header::RETRY_AFTER, seconds.to_string())], body).into_response(),
            None => (self.status, body).into_response(),
        }
    }
}
