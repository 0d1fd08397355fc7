//! `lingo gateway`: `POST /api/v1/translate` as the platform's Node gateway
//! has it, for users without one.
//!
//! A request becomes a job added exactly as the configured library's
//! producer adds it, then waits (up to `queue_timeout`) for the job's outcome
//! through one shared listener. Errors are JSON `{"error": {"code",
//! "message"}}` with the status a client can act on. The gateway never runs
//! a stage itself: a `lingo run` worker (or a Node worker) does.

mod error;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use lingo_config::JobLimits;
use lingo_queue::Producer;

pub use error::ApiError;

/// What every request handler shares.
pub struct Gateway {
    producer: Producer,
    limits: JobLimits,
    queue_timeout: Duration,
    max_body_bytes: usize,
}

impl Gateway {
    /// A gateway adding to `producer`'s queue with the pipeline's limits.
    pub fn new(producer: Producer, config: &lingo_config::Pipeline) -> Self {
        Self {
            producer,
            limits: config.limits,
            queue_timeout: config.gateway.queue_timeout,
            max_body_bytes: config.gateway.max_body_bytes,
        }
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
}
