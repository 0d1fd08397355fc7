//! What a stage call costs, on a warm instance and on a fresh one (from
//! `InstancePre`, one `process`, drop) — alone, and as a three-stage chain
//! (pre tidy → cache hit → post tidy). Criterion gives the mean; the p50/p99
//! lines below come from 20,000 timed calls after warm-up, because a chat
//! line's latency is its tail.
//!
//! With `LINGO_BENCH_JS_STAGE` naming a component (the bench builds one from
//! `bench/js-stage/` with componentize-js), a JavaScript post stage is
//! measured the same way, warm and fresh.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lingo_config::Env;
use lingo_engine::bindings::{Phase, Request};
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{EngineOptions, Pipeline, Plugins, Services, Stage, StageEngine, TranslationJob};

/// The allocator `lingo` runs with (`runtime/lingo/src/allocator.rs`), so a
/// call here costs what it costs in the worker.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The chain; `MODE` becomes `reuse` or `fresh`.
const CHAIN: &str = r#"
[[stage]]
name      = "clean"
plugin    = "postprocess"
phase     = "pre"
instances = "MODE"

[[stage]]
name      = "cache"
plugin    = "cache"
instances = "MODE"

[[stage]]
name      = "tidy"
plugin    = "postprocess"
phase     = "post"
instances = "MODE"
"#;

/// A JavaScript post stage at `PATH`, after the cache (a pipeline must translate); `MODE` as above.
const JS_STAGE: &str = r#"
[[stage]]
name      = "cache"
plugin    = "cache"

[[stage]]
name      = "tidy-js"
plugin    = "PATH"
phase     = "post"
instances = "MODE"
"#;

/// The two ways an instance serves calls: (config value, label).
const MODES: [(&str, &str); 2] = [("fresh", "fresh"), ("reuse", "warm")];

fn services() -> Services {
    let engine = StageEngine::new(&EngineOptions { max_instances: 64, ..EngineOptions::default() }).unwrap();
    Services::new(engine, Arc::new(HttpClient::default()), KvStore::memory())
}

fn request() -> Request {
    Request {
        phase: Phase::Post,
        job_id: "bench".into(),
        text: "@mina 오늘 방송 최고 ㅋㅋㅋ 🔥".into(),
        source_language: Some("ko".into()),
        target_language: Some("en".into()),
        translation: Some("\"@Mina today's stream is the best lol\"".into()),
        original: "@mina 오늘 방송 최고 ㅋㅋㅋ 🔥".into(),
        metadata: "{}".into(),
    }
}

async fn setup(mode: &str) -> (Stage, Pipeline, TranslationJob) {
    let services = services();
    let config =
        lingo_config::parse(&CHAIN.replace("MODE", mode), Path::new("bench.toml"), &Env::from_pairs([])).unwrap();
    let plugins = Plugins::default();
    let pipeline = Pipeline::load(&config, "bench", &services, &plugins).await.unwrap();
    let tidy_spec = config.stages.iter().find(|s| s.name == "tidy").unwrap();
    let plugin =
        plugins.get(&services.engine, "postprocess", lingo_bundled::find("postprocess").unwrap().wasm).unwrap();
    let stage = Stage::new(tidy_spec, plugin, bench_wall(&services), services.clone());
    let job = TranslationJob {
        text: "ㅋㅋㅋ".into(),
        target_languages: vec!["en".into()],
        source_language: Some("ko".into()),
        metadata: "{}".into(),
    };
    // Fill the cache so the chain's translate stage hits.
    let mut hit = request();
    hit.phase = Phase::Translate;
    hit.text = "ㅋㅋㅋ".into();
    hit.translation = None;
    let cache_spec = config.stages.iter().find(|s| s.name == "cache").unwrap();
    let cache_plugin = plugins.get(&services.engine, "cache", lingo_bundled::find("cache").unwrap().wasm).unwrap();
    Stage::new(cache_spec, cache_plugin, bench_wall(&services), services.clone())
        .remember("bench", &hit, ("lol", "seed"), &mut None)
        .await
        .0
        .unwrap();
    (stage, pipeline, job)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let request = request();
    for (mode, label) in MODES {
        let (stage, pipeline, job) = rt.block_on(setup(mode));
        assert_eq!(rt.block_on(pipeline.run("bench", &job)).unwrap().providers["en"], "cache");

        c.bench_function(&format!("stage call, {label} instance"), |b| {
            b.to_async(&rt).iter(|| async { stage.process("bench", &request, &mut None).await.0.unwrap() })
        });
        c.bench_function(&format!("three-stage chain, {label} instances (pre → cache hit → post)"), |b| {
            b.to_async(&rt).iter(|| async { pipeline.run("bench", &job).await.unwrap() })
        });

        let one = rt.block_on(percentiles(|| async {
            stage.process("bench", &request, &mut None).await.0.unwrap();
        }));
        let chain = rt.block_on(percentiles(|| async {
            pipeline.run("bench", &job).await.unwrap();
        }));
        println!("stage call ({label}):         p50 {:>6.1} µs   p99 {:>6.1} µs", one.0, one.1);
        println!("three-stage chain ({label}):  p50 {:>6.1} µs   p99 {:>6.1} µs", chain.0, chain.1);
    }
    if let Some(path) = std::env::var_os("LINGO_BENCH_JS_STAGE") {
        for (mode, label) in MODES {
            let stage = rt.block_on(async { js_stage(Path::new(&path), mode) });
            c.bench_function(&format!("JavaScript stage call, {label} instance"), |b| {
                b.to_async(&rt).iter(|| async { stage.process("bench", &request, &mut None).await.0.unwrap() })
            });
            let one = rt.block_on(percentiles(|| async {
                stage.process("bench", &request, &mut None).await.0.unwrap();
            }));
            println!("JavaScript stage call ({label}):  p50 {:>6.1} µs   p99 {:>6.1} µs", one.0, one.1);
        }
    }
}

/// The JavaScript post stage at `path`, its instances in `mode`.
fn js_stage(path: &Path, mode: &str) -> Stage {
    let services = services();
    let toml = JS_STAGE.replace("PATH", &path.display().to_string()).replace("MODE", mode);
    let config = lingo_config::parse(&toml, Path::new("bench.toml"), &Env::from_pairs([])).unwrap();
    let wasm = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let plugin = Plugins::default().get(&services.engine, "tidy-js", &wasm).unwrap();
    let spec = config.stages.iter().find(|s| s.name == "tidy-js").unwrap();
    Stage::new(spec, plugin, bench_wall(&services), services.clone())
}

/// p50 and p99 in µs over 20,000 calls after 2,000 of warm-up.
async fn percentiles<F, Fut>(call: F) -> (f64, f64)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..2_000 {
        call().await;
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64) * q) as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);

/// A wall as wide as the engine, so only the stage call is measured.
fn bench_wall(services: &Services) -> lingo_engine::Wall {
    lingo_engine::Wall::new("bench", lingo_config::JobLimits::default(), 64, 2, services.hits.clone())
}
