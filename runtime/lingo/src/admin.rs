//! The worker's admin endpoints (`worker.admin_listen`): `GET /metrics`
//! (Prometheus text, labelled by tenant), `GET /healthz` (Redis, tenants, the
//! last reload and why it was refused) and `POST /reload`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::host::Host;

pub fn router(host: Arc<Host>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/reload", post(reload))
        .with_state(host)
}

async fn metrics(State(host): State<Arc<Host>>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], host.metrics_text().await).into_response()
}

async fn healthz(State(host): State<Arc<Host>>) -> Response {
    let (ok, body) = host.health().await;
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn reload(State(host): State<Arc<Host>>) -> Response {
    match host.reload().await {
        Ok(applied) => (StatusCode::OK, Json(json!({ "result": "applied", "tenants": applied }))).into_response(),
        Err(reason) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "result": "refused", "error": { "code": "config_refused", "message": reason } })),
        )
            .into_response(),
    }
}
