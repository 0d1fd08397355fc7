//! The control endpoints of the stand-in server (it is not a model). They
//! are never delayed, faulted, authenticated or counted.
//!
//! - `GET /` — one plain-text line saying what this server is.
//! - `GET /stats` — `{"requests": {"<path>": n, ...}, "stand_in": true}`;
//!   `POST /stats/reset` zeroes the counts and returns them.
//! - `GET /faults` — current settings:
//!   `{"fault": "status:503:1", "fail_rate": 1.0, "latency_ms": 200, "jitter_ms": 0, "seed": 1}`.
//! - `POST /faults` — change them; every field is optional:
//!   `{"fault": "status:503" | "status:429:2" | "slow:2s" | "malformed" | "drop" | "redirect:URL" | "none",
//!   "fail_rate": 0.5, "latency_ms": 200, "jitter_ms": 50, "seed": 7}`.
//!   A `fault` without `fail_rate` sets the rate to `1`; a `fail_rate` alone
//!   keeps the fault. Unknown fields are rejected. Every change restarts the
//!   request sequence the fault dice are rolled on. Answers the new settings,
//!   or `400 {"error": "..."}`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::faults::{Fault, Settings, check_fail_rate};

/// The answer of `GET /`.
pub(crate) const BANNER: &str = "lingo-devllm: lingo's stand-in LLM server (Ollama and OpenAI API shapes) for \
tests, demos and benchmarks. It is not a real model: replies are a deterministic pseudo-translation.\n";

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/", get(|| async { BANNER }))
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/faults", get(faults).post(set_faults))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such endpoint on lingo's stand-in LLM server\n") })
}

async fn stats(State(app): State<App>) -> Json<Value> {
    Json(app.stats.to_json())
}

async fn reset_stats(State(app): State<App>) -> Json<Value> {
    app.stats.reset();
    Json(app.stats.to_json())
}

async fn faults(State(app): State<App>) -> Json<Value> {
    Json(view(&app.faults.settings()))
}

/// The body of `POST /faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultUpdate {
    fault: Option<String>,
    fail_rate: Option<f64>,
    latency_ms: Option<u64>,
    jitter_ms: Option<u64>,
    seed: Option<u64>,
}

async fn set_faults(State(app): State<App>, body: Bytes) -> Response {
    match parse_update(&body) {
        Ok((update, fault)) => Json(view(&app.faults.update(|s| apply(s, &update, fault)))).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response(),
    }
}

fn parse_update(body: &[u8]) -> Result<(FaultUpdate, Option<Fault>), String> {
    let update: FaultUpdate = serde_json::from_slice(body).map_err(|e| format!("invalid `/faults` body: {e}"))?;
    let fault = update.fault.as_deref().map(str::parse::<Fault>).transpose().map_err(|e| e.to_string())?;
    if let Some(rate) = update.fail_rate {
        check_fail_rate(rate)?;
    }
    Ok((update, fault))
}

fn apply(settings: &mut Settings, update: &FaultUpdate, fault: Option<Fault>) {
    if let Some(fault) = fault {
        settings.fault = fault;
        settings.fail_rate = 1.0;
    }
    if let Some(rate) = update.fail_rate {
        settings.fail_rate = rate;
    }
    if let Some(ms) = update.latency_ms {
        settings.latency = Duration::from_millis(ms);
    }
    if let Some(ms) = update.jitter_ms {
        settings.jitter = Duration::from_millis(ms);
    }
    if let Some(seed) = update.seed {
        settings.seed = seed;
    }
}

fn view(settings: &Settings) -> Value {
    json!({
        "fault": settings.fault.to_string(),
        "fail_rate": settings.fail_rate,
        "latency_ms": settings.latency.as_millis() as u64,
        "jitter_ms": settings.jitter.as_millis() as u64,
        "seed": settings.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        Settings {
            latency: Duration::from_millis(200),
            jitter: Duration::ZERO,
            fail_rate: 0.25,
            fault: Fault::None,
            seed: 1,
        }
    }

    fn updated(body: &str) -> Result<Settings, String> {
        let (update, fault) = parse_update(body.as_bytes())?;
        let mut settings = base();
        apply(&mut settings, &update, fault);
        Ok(settings)
    }

    #[test]
    fn fault_alone_means_always() {
        let s = updated(r#"{"fault": "status:503"}"#).unwrap();
        assert_eq!((s.fault, s.fail_rate), (Fault::Status { code: 503, retry_after_secs: 1 }, 1.0));
    }

    #[test]
    fn rate_alone_keeps_the_fault_and_both_together_apply() {
        assert_eq!(updated(r#"{"fail_rate": 0.5}"#).unwrap().fail_rate, 0.5);
        let s = updated(r#"{"fault": "drop", "fail_rate": 0.5, "latency_ms": 10}"#).unwrap();
        assert_eq!((s.fault, s.fail_rate, s.latency), (Fault::DropConnection, 0.5, Duration::from_millis(10)));
    }

    #[test]
    fn bad_updates_say_why() {
        assert!(updated(r#"{"fault": "explode"}"#).unwrap_err().contains("unknown fault `explode`"));
        assert!(updated(r#"{"fail_rate": 2}"#).unwrap_err().contains("fail_rate"));
        assert!(updated(r#"{"latency": 5}"#).unwrap_err().contains("unknown field"));
        assert!(updated("not json").is_err());
    }
}
