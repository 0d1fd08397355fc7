//! The bare Rust peer of lingo's benchmark: a `bullmq-official` worker whose
//! processor does natively what lingo's pipeline does through its
//! WebAssembly stages. It is the floor under lingo's overhead: same queue
//! library, no sandbox, no pipeline.
//!
//! - By default, a cache hit: one Redis GET per target language of
//!   `bench:tr:<lang>:<text>`, the same return value as lingo's.
//! - With `--llm URL`, what lingo's `vllm` stage does: one OpenAI-style chat
//!   request per target language to `URL/v1/chat/completions` (the stand-in
//!   LLM server), with the same prompt, through one pooled HTTP client.
//!
//! Usage: `bench-bare-worker --redis URL --queue NAME --concurrency N [--llm URL]`.
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
    /// The base URL of an OpenAI-compatible server: translate through it instead of the cache.
    #[arg(long)]
    llm: Option<String>,
}

/// Where a job's translations come from.
#[derive(Clone)]
enum Source {
    Cache(MultiplexedConnection),
    Llm { http: reqwest::Client, endpoint: Arc<str> },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = match &args.llm {
        Some(url) => Source::Llm {
            http: reqwest::Client::new(),
            endpoint: format!("{}/v1/chat/completions", url.trim_end_matches('/')).into(),
        },
        None => Source::Cache(redis::Client::open(args.redis.as_str())?.get_multiplexed_async_connection().await?),
    };
    let handler = move |job: Job, _cancel| {
        let source = source.clone();
        async move { translate(source, job.data()).await.map_err(BullMqError::ProcessingError) }
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

/// Each target language from the source: a cache miss or an LLM error fails the job.
async fn translate(source: Source, data: &Value) -> Result<Value, String> {
    let text = data["text"].as_str().unwrap_or_default();
    let langs: Vec<&str> = data["targetLanguages"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let (mut translations, mut providers) = (Map::new(), Map::new());
    for lang in langs {
        let (translation, provider) = match &source {
            Source::Cache(kv) => (cache_get(kv.clone(), lang, text).await?, "cache"),
            Source::Llm { http, endpoint } => (chat(http, endpoint, lang, text).await?, "vllm"),
        };
        translations.insert(lang.into(), translation.into());
        providers.insert(lang.into(), provider.into());
    }
    Ok(json!({"translations": translations, "sourceLanguage": null, "providers": providers}))
}

/// The bench pre-fills every key, so a miss is an error.
async fn cache_get(mut kv: MultiplexedConnection, lang: &str, text: &str) -> Result<String, String> {
    let hit: Option<String> = kv.get(format!("bench:tr:{lang}:{text}")).await.map_err(|e| e.to_string())?;
    hit.ok_or_else(|| format!("cache miss: {lang} {text}"))
}

/// The request lingo's `vllm` stage sends, and the answer's first choice.
async fn chat(http: &reqwest::Client, endpoint: &str, lang: &str, text: &str) -> Result<String, String> {
    let body = json!({
        "model": "stand-in",
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": format!("Source language: auto-detect\nTarget language: {lang}\nText:\n{text}")},
        ],
        "temperature": 0.2,
        "max_tokens": 512,
    });
    let response = http.post(endpoint).json(&body).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("LLM server answered {status}"));
    }
    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
    answer["choices"][0]["message"]["content"]
        .as_str()
        .map(|t| t.trim().to_string())
        .ok_or_else(|| format!("no choices[0].message.content in {answer}"))
}

/// lingo's system prompt (plugins/sdk's `prompt::SYSTEM`).
const SYSTEM_PROMPT: &str = "You translate live-stream chat messages. Translate the text into the target language \
    and reply with the translation only, without quotes, notes or explanations. Keep @mentions, #hashtags, emoji, \
    URLs and numbers exactly as they appear. Keep the tone and slang of chat.";
