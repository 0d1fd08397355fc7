//! `lingo gateway`: `POST /api/v1/translate` as the platform's Node gateway
//! has it, for users without one.
//!
//! A request becomes a job added exactly as the configured library's
//! producer adds it, then waits (up to `queue_timeout`) for the job's outcome
//! through one shared listener. Errors are JSON `{"error": {"code",
//! "message"}}` with the status a client can act on. The gateway never runs
//! a stage itself: a `lingo run` worker (or a Node worker) does.
//!
//! In hosted mode the API key (`Authorization: Bearer` or `X-API-Key`)
//! selects the tenant, and so its queue and limits; each tenant has its own
//! requests-per-second budget.

mod error;
mod rate;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use lingo_config::JobLimits;
use lingo_queue::Producer;

pub use error::ApiError;
pub use rate::RateLimit;

/// One tenant as the gateway serves it.
pub struct TenantRoute {
    /// The tenant's id, for messages.
    pub id: String,
    /// Adds to the tenant's queue.
    pub producer: Producer,
    /// What its jobs may hold.
    pub limits: JobLimits,
    /// Keys that select it.
    pub api_keys: Vec<String>,
    /// Its requests-per-second budget, if any.
    pub rate: Option<RateLimit>,
}

/// What every request handler shares.
pub struct Gateway {
    tenants: Vec<TenantRoute>,
    /// Whether a request must carry an API key (hosted mode).
    require_key: bool,
    queue_timeout: Duration,
    max_body_bytes: usize,
}

impl Gateway {
    /// A gateway over one queue, open to any caller.
    pub fn single(tenant: TenantRoute, config: &lingo_config::Gateway) -> Self {
        Self::new(vec![tenant], false, config)
    }

    /// A gateway over `tenants`; with `require_key`, each request's API key
    /// selects its tenant.
    pub fn new(tenants: Vec<TenantRoute>, require_key: bool, config: &lingo_config::Gateway) -> Self {
        Self { tenants, require_key, queue_timeout: config.queue_timeout, max_body_bytes: config.max_body_bytes }
    }

    /// Overrides how long requests wait for their job.
    pub fn with_queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// The HTTP routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/api/v1/translate", post(routes::translate))
            .route("/healthz", get(routes::healthz))
            .with_state(Arc::new(self))
    }

    /// The tenant a request's API key selects (the only one when keys are not required).
    fn tenant_for(&self, key: Option<&str>) -> Result<&TenantRoute, ApiError> {
        if !self.require_key {
            return Ok(&self.tenants[0]);
        }
        let key = key.ok_or_else(|| {
            ApiError::unauthorized("an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
        })?;
        self.tenants
            .iter()
            .find(|t| t.api_keys.iter().any(|k| k == key))
            .ok_or_else(|| ApiError::unauthorized("the API key is not known"))
    }
}
