//! The worker's admin endpoints (`worker.admin_listen`): `GET /metrics`
//! (Prometheus text, labelled by tenant), `GET /healthz` (Redis, tenants, the
//! last reload and why it was refused) and `POST /reload`.
//!
//! `POST /reload` changes what every tenant runs, so it wants
//! `Authorization: Bearer <worker.admin_token>` when a token is set, and is
//! refused outright on an address beyond loopback when none is.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::host::{Host, ReloadRefused};

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

async fn reload(State(host): State<Arc<Host>>, headers: HeaderMap) -> Response {
    if let Err(why) = authorize(&host, &headers) {
        let body = json!({ "result": "refused", "error": { "code": "unauthorized", "message": why } });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    match host.reload().await {
        Ok(applied) => (StatusCode::OK, Json(json!({ "result": "applied", "tenants": applied }))).into_response(),
        Err(reason) => {
            let (status, code) = match reason {
                ReloadRefused::Stopping => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, "config_refused"),
            };
            let body = json!({ "result": "refused", "error": { "code": code, "message": reason.to_string() } });
            (status, Json(body)).into_response()
        }
    }
}

/// Whether this request may reload the worker.
fn authorize(host: &Host, headers: &HeaderMap) -> Result<(), String> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match (host.admin_token(), given) {
        (Some(token), Some(given)) if constant_time_eq(token.as_bytes(), given.as_bytes()) => Ok(()),
        (Some(_), _) => Err("POST /reload needs `Authorization: Bearer <worker.admin_token>`".into()),
        (None, _) if host.admin_listen().is_some_and(|a| a.ip().is_loopback()) => Ok(()),
        (None, _) => Err(
            "POST /reload is served beyond loopback only with `worker.admin_token` set; set one, or send the worker SIGHUP"
                .into(),
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
