//! The first contract, `lingo:pipeline@0.1.0` (`wit/0.1.0/pipeline.wit`),
//! kept so stages built for it still load. Its imports are the current
//! ones under another version, so each is answered by the current
//! implementation, its types converted field by field; its exports are
//! called with the current request minus what 0.1.0 does not have.

use super::lingo::pipeline as current;
use crate::state::StageState;

wasmtime::component::bindgen!({
    path: "../../wit/0.1.0/pipeline.wit",
    world: "stage",
    imports: { default: async | trappable },
    exports: { default: async },
});

use lingo::pipeline::{http, kv, log, types};

/// A current request as 0.1.0 has it: without `original` and `metadata`.
pub(super) fn request(request: &current::types::Request) -> types::Request {
    types::Request {
        phase: match request.phase {
            current::types::Phase::Pre => types::Phase::Pre,
            current::types::Phase::Translate => types::Phase::Translate,
            current::types::Phase::Post => types::Phase::Post,
        },
        job_id: request.job_id.clone(),
        text: request.text.clone(),
        source_language: request.source_language.clone(),
        target_language: request.target_language.clone(),
        translation: request.translation.clone(),
    }
}

pub(super) fn outcome(outcome: types::Outcome) -> current::types::Outcome {
    match outcome {
        types::Outcome::Translated(text) => current::types::Outcome::Translated(text),
        types::Outcome::Rewritten(text) => current::types::Outcome::Rewritten(text),
        types::Outcome::Pass => current::types::Outcome::Pass,
    }
}

pub(super) fn stage_error(error: types::StageError) -> current::types::StageError {
    match error {
        types::StageError::Retryable(m) => current::types::StageError::Retryable(m),
        types::StageError::Fatal(m) => current::types::StageError::Fatal(m),
        types::StageError::RateLimited(r) => current::types::StageError::RateLimited(current::types::RateLimit {
            message: r.message,
            retry_after_ms: r.retry_after_ms,
        }),
    }
}

impl types::Host for StageState {}

impl http::Host for StageState {
    async fn send(&mut self, request: http::Request) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let http::Request { method, url, headers, body } = request;
        let request = current::http::Request { method, url, headers, body };
        let reply = current::http::Host::send(self, request).await?;
        Ok(match reply {
            Ok(current::http::Response { status, headers, body }) => Ok(http::Response { status, headers, body }),
            Err(error) => Err(match error {
                current::http::HttpError::Denied(m) => http::HttpError::Denied(m),
                current::http::HttpError::Timeout => http::HttpError::Timeout,
                current::http::HttpError::Connect(m) => http::HttpError::Connect(m),
                current::http::HttpError::TooLarge(n) => http::HttpError::TooLarge(n),
                current::http::HttpError::InvalidRequest(m) => http::HttpError::InvalidRequest(m),
            }),
        })
    }
}

fn kv_error(error: current::kv::KvError) -> kv::KvError {
    match error {
        current::kv::KvError::Unavailable(m) => kv::KvError::Unavailable(m),
        current::kv::KvError::TooLarge(n) => kv::KvError::TooLarge(n),
        current::kv::KvError::InvalidKey(m) => kv::KvError::InvalidKey(m),
    }
}

impl kv::Host for StageState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::KvError>> {
        Ok(current::kv::Host::get(self, key).await?.map_err(kv_error))
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl: Option<u64>,
    ) -> wasmtime::Result<Result<(), kv::KvError>> {
        Ok(current::kv::Host::set(self, key, value, ttl).await?.map_err(kv_error))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), kv::KvError>> {
        Ok(current::kv::Host::delete(self, key).await?.map_err(kv_error))
    }
}

impl log::Host for StageState {
    async fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => current::log::Level::Trace,
            log::Level::Debug => current::log::Level::Debug,
            log::Level::Info => current::log::Level::Info,
            log::Level::Warn => current::log::Level::Warn,
            log::Level::Error => current::log::Level::Error,
        };
        current::log::Host::write(self, level, message).await
    }
}
