//! The two routes: translate, and a health check that asks Redis.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use lingo_job::TranslationJob;
use lingo_queue::Finished;
use serde_json::{Value, json};

use crate::{ApiError, Gateway};

/// `POST /api/v1/translate` with `{"text", "targetLanguages", "sourceLanguage"?}`.
pub async fn translate(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let tenant = gateway.tenant_for(api_key(&headers))?;
    if let Some(rate) = &tenant.rate
        && let Err(wait) = rate.take()
    {
        return Err(ApiError::rate_limited(&tenant.id, rate.per_second(), wait));
    }
    if !is_json(&headers) {
        return Err(ApiError::not_json());
    }
    let limit = gateway.max_body_bytes;
    let bytes =
        to_bytes(body, limit).await.map_err(|_| ApiError::too_large(format!("the body is over {limit} bytes")))?;
    let request: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    if let Some(text) = request.get("text").and_then(Value::as_str)
        && text.len() > tenant.limits.max_text_bytes
    {
        return Err(ApiError::too_large(format!(
            "`text` is {} bytes; the limit is {}",
            text.len(),
            tenant.limits.max_text_bytes
        )));
    }
    let job = TranslationJob::from_value(&request, &tenant.limits).map_err(ApiError::bad_request)?;
    // Checked and normalised, with the request's other fields as the job's metadata.
    let data = job.data();
    let id = tenant.producer.add(&data).await.map_err(ApiError::queue_unavailable)?;
    match tenant.producer.wait(&id, gateway.queue_timeout).await.map_err(ApiError::queue_unavailable)? {
        Some(Finished::Completed(mut value)) => {
            value["jobId"] = json!(id);
            Ok(Json(value))
        }
        Some(Finished::Failed(reason)) => Err(ApiError::job_failed(reason)),
        None => Err(ApiError::queue_timeout(&id, gateway.queue_timeout)),
    }
}

/// `GET /healthz`: 200 when the queue's Redis answers, 503 when not.
pub async fn healthz(State(gateway): State<Arc<Gateway>>) -> Result<Json<Value>, ApiError> {
    // Every tenant's queue lives on the same Redis.
    gateway.tenants[0].producer.ping().await.map_err(ApiError::queue_unavailable)?;
    Ok(Json(json!({ "status": "ok", "redis": "ok" })))
}

/// `Authorization: Bearer <key>` or `X-API-Key: <key>`.
fn api_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok())).map(str::trim).filter(|k| !k.is_empty())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
        |mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        },
    )
}
