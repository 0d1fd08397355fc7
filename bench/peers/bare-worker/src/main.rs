//! The bare Rust peer of lingo's benchmark: a `bullmq-official` worker whose
//! processor does natively what lingo's cache-hit pipeline does through its
//! WebAssembly stages — one Redis GET per target language of
//! `bench:tr:<lang>:<text>`, the same return value. It is the floor under
//! lingo's overhead: same queue library, no sandbox, no pipeline.
//!
//! Usage: `bench-bare-worker --redis URL --queue NAME --concurrency N`.
//! Prints `ready` once started; closes on SIGTERM.

use std::sync::Arc;

use bullmq::options::RedisConnectionOptions;
use bullmq::{Error as BullMqError, Job, WorkerOptions};
use clap::Parser;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde_json::{Map, Value, json};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    #[arg(long, default_value = "translation-jobs")]
    queue: String,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let kv = redis::Client::open(args.redis.as_str())?.get_multiplexed_async_connection().await?;
    let handler = move |job: Job, _cancel| {
        let kv = kv.clone();
        async move { translate(kv, job.data()).await }
    };
    let options = WorkerOptions {
        connection: RedisConnectionOptions::new().url(args.redis.clone()),
        concurrency: args.concurrency,
        ..WorkerOptions::default()
    };
    let worker = Arc::new(bullmq::Worker::with_options(&args.queue, handler, options).await?);
    // The crate queues an event per job; unread, they would grow without bound.
    let drain = tokio::spawn({
        let worker = worker.clone();
        async move { while worker.next_event().await.is_some() {} }
    });
    println!("ready");
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?.recv().await;
    worker.close(5_000).await?;
    drain.abort();
    Ok(())
}

/// One GET per target language; a miss fails the job (the bench pre-fills every key).
async fn translate(mut kv: MultiplexedConnection, data: &Value) -> Result<Value, BullMqError> {
    let text = data["text"].as_str().unwrap_or_default();
    let langs: Vec<&str> = data["targetLanguages"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let (mut translations, mut providers) = (Map::new(), Map::new());
    for lang in langs {
        let hit: Option<String> =
            kv.get(format!("bench:tr:{lang}:{text}")).await.map_err(|e| BullMqError::ProcessingError(e.to_string()))?;
        let hit = hit.ok_or_else(|| BullMqError::ProcessingError(format!("cache miss: {lang} {text}")))?;
        translations.insert(lang.into(), hit.into());
        providers.insert(lang.into(), "cache".into());
    }
    Ok(json!({"translations": translations, "sourceLanguage": null, "providers": providers}))
}
