//! What the contract, detect and glossary tests share: an engine that keeps
//! its compiled components between test runs, a pipeline loaded from TOML
//! text for tenant `acme`, and a job run from its data.

// Each test crate uses a part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use lingo_config::Env;
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{EngineOptions, JobFailed, JobReport, Pipeline, Plugins, Services, StageEngine};

pub fn services() -> Services {
    let options = EngineOptions {
        max_instances: 64,
        cache_dir: Some(std::env::temp_dir().join("lingo-test-compile-cache")),
        ..EngineOptions::default()
    };
    Services::new(StageEngine::new(&options).unwrap(), Arc::new(HttpClient::default()), KvStore::memory())
}

pub async fn load(toml: &str, services: &Services) -> Pipeline {
    let config =
        lingo_config::parse(toml, Path::new("test.toml"), &Env::from_pairs([])).unwrap_or_else(|e| panic!("{e}"));
    Pipeline::load(&config, "acme", services, &Plugins::default()).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The job with `data` (JSON text) through `pipeline`.
pub async fn try_job(pipeline: &Pipeline, data: &str) -> Result<JobReport, JobFailed> {
    let job = pipeline.parse_job(data).unwrap();
    pipeline.run("1", &job).await
}

/// The job with `data` through `pipeline`, which must complete.
pub async fn job(pipeline: &Pipeline, data: serde_json::Value) -> JobReport {
    try_job(pipeline, &data.to_string()).await.unwrap_or_else(|f| panic!("{}", f.failure.message()))
}
