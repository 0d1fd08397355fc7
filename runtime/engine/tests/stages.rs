//! The plugin host under misbehaving guests, permissions and the pipeline
//! semantics, with real components, a real `redis-server` and the stand-in
//! LLM server (`lingo-devllm`, not a model).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lingo_config::Env;
use lingo_devllm::{DevLlm, DevLlmOptions, Fault};
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{
    EngineOptions, Failure, JobFailed, JobReport, Pipeline, Plugins, Services, StageEngine, TranslationJob,
};
use lingo_testkit::RedisServer;

const FIXTURE: &str = lingo_bundled::FIXTURE_MISBEHAVE;

fn services(kv: KvStore) -> Services {
    services_with(kv, false)
}

fn services_with(kv: KvStore, cpu_accounting: bool) -> Services {
    let cache = std::env::temp_dir().join("lingo-test-compile-cache");
    let options = EngineOptions {
        max_instances: 256,
        max_memory: 256 << 20,
        cache_dir: Some(cache),
        cpu_accounting,
        ..EngineOptions::default()
    };
    Services::new(StageEngine::new(&options).unwrap(), Arc::new(HttpClient::default()), kv)
}

fn config(toml: &str) -> lingo_config::Pipeline {
    let toml = toml.replace("FIXTURE", FIXTURE);
    lingo_config::parse(&toml, Path::new("test.toml"), &Env::from_pairs([])).unwrap_or_else(|e| panic!("{e}"))
}

async fn load(toml: &str, services: &Services) -> Pipeline {
    Pipeline::load(&config(toml), "default", services, &Plugins::default()).await.unwrap_or_else(|e| panic!("{e}"))
}

fn job(text: &str, targets: &[&str]) -> TranslationJob {
    TranslationJob {
        text: text.into(),
        target_languages: targets.iter().map(|t| t.to_string()).collect(),
        source_language: Some("ko".into()),
        metadata: "{}".into(),
    }
}

async fn run(pipeline: &Pipeline, text: &str, targets: &[&str]) -> Result<JobReport, JobFailed> {
    pipeline.run("1", &job(text, targets)).await
}

fn fixture_stage(name: &str, act: &str, extra: &str) -> String {
    format!("[[stage]]\nname = \"{name}\"\nplugin = \"FIXTURE\"\non_error = \"fail\"\n{extra}\nconfig = {act}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_stage_fails_only_its_own_call() {
    let services = services(KvStore::memory());
    let upper = load(&fixture_stage("upper", r#"{ act = "upper" }"#, ""), &services).await;
    let cases = [
        ("spin", r#"{ act = "loop" }"#, "timeout = \"300ms\"", "timed out after 300 ms"),
        ("hog", r#"{ act = "alloc", mib = 200 }"#, "memory = \"32MiB\"", "ran out of memory (limit 32 MiB)"),
        ("deep", r#"{ act = "recurse" }"#, "", "stack overflow"),
        ("boom", r#"{ act = "panic" }"#, "", "panicked: fixtures/misbehave/src/lib.rs"),
        ("snoop", r#"{ act = "read_file", path = "/etc/passwd" }"#, "", "read file:"),
        ("env", r#"{ act = "read_env", name = "HOME" }"#, "", "read env: environment variable not found"),
        ("net", r#"{ act = "socket", addr = "127.0.0.1:6379" }"#, "", "socket:"),
    ];
    for (name, act, extra, cause) in cases {
        let bad = load(&fixture_stage(name, act, extra), &services).await;
        let started = Instant::now();
        let failed = run(&bad, "hi", &["en"]).await.expect_err(name);
        let message = failed.failure.message().to_string();
        assert!(message.contains(&format!("stage `{name}`")), "{name}: the error names the stage: {message}");
        assert!(message.contains(cause), "{name}: expected `{cause}` in: {message}");
        assert!(started.elapsed() < Duration::from_secs(10), "{name} took {:?}", started.elapsed());
        // The host is fine, and the next call succeeds.
        let report = run(&upper, "still here", &["en"]).await.unwrap();
        assert_eq!(report.translations["en"], "STILL HERE");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_stage_gets_its_message_reported() {
    let services = services(KvStore::memory());
    let boom = load(&fixture_stage("boom", r#"{ act = "panic" }"#, ""), &services).await;
    let failed = run(&boom, "hi", &["en"]).await.unwrap_err();
    assert!(failed.failure.message().contains("misbehave fixture panicked on purpose"), "{}", failed.failure.message());
    assert!(matches!(failed.failure, Failure::Fatal(_)), "a panic happens again on retry: fatal");
}

/// Calls hand their WASI context on to later calls: every panic must still
/// be read from a stderr of its own, not from one holding an earlier panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_of_a_stage_that_always_panics_reports_its_panic() {
    let services = services(KvStore::memory());
    let boom = load(&fixture_stage("boom", r#"{ act = "panic" }"#, ""), &services).await;
    let upper = load(&fixture_stage("upper", r#"{ act = "upper" }"#, ""), &services).await;
    for call in 0..60 {
        let text = format!("line {call}");
        let failed = run(&boom, &text, &["en"]).await.unwrap_err();
        let message = failed.failure.message();
        assert!(message.contains(&format!("panicked on purpose on `{text}`")), "call {call}: {message}");
        assert_eq!(run(&upper, "fine", &["en"]).await.unwrap().translations["en"], "FINE", "call {call}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_rejecting_its_config_is_a_config_error_at_load() {
    let services = services(KvStore::memory());
    let errors = Pipeline::load(
        &config(&fixture_stage("picky", r#"{ act = "reject_config" }"#, "")),
        "default",
        &services,
        &Plugins::default(),
    )
    .await
    .err()
    .expect("init refuses");
    let text = errors.to_string();
    assert!(text.contains("test.toml: stage[0].config: plugin"), "{text}");
    assert!(text.contains("rejected its config: this stage rejects every config"), "{text}");

    let typo = config("[[stage]]\nname = \"cache\"\nplugin = \"cache\"\nconfig = { ttl = \"a week\" }\n");
    let errors = Pipeline::load(&typo, "default", &services, &Plugins::default()).await.err().unwrap().to_string();
    assert!(
        errors.contains("stage[0].config: plugin `cache` rejected its config: ttl `a week` is not a duration"),
        "{errors}"
    );

    let unknown = config("[[stage]]\nname = \"c\"\nplugin = \"memcache\"\n");
    let errors = Pipeline::load(&unknown, "default", &services, &Plugins::default()).await.err().unwrap().to_string();
    assert!(errors.contains("stage[0].plugin: no bundled plugin is called `memcache`"), "{errors}");
    assert!(
        errors.contains("hint: bundled plugins: cache, detect, glossary, ollama, openai, postprocess, vllm"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_outside_allowed_hosts_is_denied_and_names_host_and_stage() {
    let llm =
        DevLlm::start("127.0.0.1:0".parse().unwrap(), DevLlmOptions { latency: Duration::ZERO, ..Default::default() })
            .await
            .unwrap();
    let services = services(KvStore::memory());
    let url = format!("{}/api/tags", llm.url());
    let act = format!("{{ act = \"fetch\", url = \"{url}\" }}");
    let denied = load(&fixture_stage("fetcher", &act, "allowed_hosts = [\"127.0.0.1:1\"]"), &services).await;
    let message = run(&denied, "hi", &["en"]).await.unwrap_err().failure.message().to_string();
    let origin = format!("http://{}", llm.addr());
    assert!(message.contains(&format!("stage `fetcher`: host `{origin}` is not in allowed_hosts")), "{message}");
    assert_eq!(llm.requests("/api/tags"), 0, "a denied request never leaves the host");

    let allowed =
        load(&fixture_stage("fetcher", &act, &format!("allowed_hosts = [\"{}\"]", llm.url())), &services).await;
    let report = run(&allowed, "hi", &["en"]).await.unwrap();
    assert!(report.translations["en"].contains("\"models\""), "{report:?}");
    assert_eq!(llm.requests("/api/tags"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_keys_stay_under_the_tenant_and_namespace_prefix() {
    let redis = RedisServer::start();
    let services = services(KvStore::redis(&redis.url()).await.unwrap());
    let writer = "[[stage]]\nname = \"writer\"\nplugin = \"FIXTURE\"\nkv_namespace = \"notes\"\nconfig = { act = \"kv_set\", key = \"../../other:secret\", value = \"v\" }\n";
    let pipeline = Pipeline::load(&config(writer), "acme", &services, &Plugins::default()).await.unwrap();
    run(&pipeline, "hi", &["en"]).await.unwrap();

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("lingo:kv:*").query_async(&mut conn).await.unwrap();
    assert_eq!(keys, ["lingo:kv:acme:notes:../../other:secret"]);

    // Another tenant's stage with the same namespace and key sees nothing.
    let reader = "[[stage]]\nname = \"reader\"\nplugin = \"FIXTURE\"\nkv_namespace = \"notes\"\nconfig = { act = \"kv_get\", key = \"../../other:secret\" }\n";
    let other = Pipeline::load(&config(reader), "globex", &services, &Plugins::default()).await.unwrap();
    let failed = run(&other, "hi", &["en"]).await.unwrap_err();
    assert!(failed.failure.message().contains("no stage translated"), "{}", failed.failure.message());
    let same = Pipeline::load(&config(reader), "acme", &services, &Plugins::default()).await.unwrap();
    assert_eq!(run(&same, "hi", &["en"]).await.unwrap().translations["en"], "v");
}

/// cache → vllm → ollama → postprocess against the stand-in server(s).
fn llm_pipeline(vllm: &str, ollama: &str) -> String {
    format!(
        r#"
[[stage]]
name   = "cache"
plugin = "cache"

[[stage]]
name          = "vllm"
plugin        = "vllm"
timeout       = "3s"
allowed_hosts = ["{vllm}"]
config        = {{ url = "{vllm}", model = "stand-in" }}

[[stage]]
name          = "ollama"
plugin        = "ollama"
timeout       = "3s"
allowed_hosts = ["{ollama}"]
config        = {{ url = "{ollama}", model = "stand-in" }}

[[stage]]
name   = "tidy"
plugin = "postprocess"
phase  = "post"
"#
    )
}

async fn stand_in(latency_ms: u64) -> DevLlm {
    let options = DevLlmOptions { latency: Duration::from_millis(latency_ms), ..Default::default() };
    DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.unwrap()
}

const DEAD: &str = "http://127.0.0.1:9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_goes_to_vllm_is_stored_and_the_same_line_is_then_a_hit() {
    let redis = RedisServer::start();
    let llm = stand_in(20).await;
    let services = services(KvStore::redis(&redis.url()).await.unwrap());
    let pipeline = load(&llm_pipeline(&llm.url(), DEAD), &services).await;

    let first = run(&pipeline, "안녕하세요 @mina 🎉", &["en", "ja"]).await.unwrap();
    assert_eq!(first.providers["en"], "vllm");
    assert_eq!(first.providers["ja"], "vllm");
    assert!(first.translations["en"].contains("@mina") && first.translations["en"].contains("🎉"), "{first:?}");
    assert_eq!(llm.requests("/v1/chat/completions"), 2);

    let again = run(&pipeline, "안녕하세요 @mina 🎉", &["en", "ja"]).await.unwrap();
    assert_eq!(again.providers["en"], "cache");
    assert_eq!(again.providers["ja"], "cache");
    assert_eq!(again.translations, first.translations);
    assert_eq!(llm.requests("/v1/chat/completions"), 2, "cache hits for every target: no LLM request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_accounting_splits_every_call_into_sandbox_and_host_calls() {
    let redis = RedisServer::start();
    let llm = stand_in(20).await;
    let kv = KvStore::redis(&redis.url()).await.unwrap();
    let pipeline = load(&llm_pipeline(&llm.url(), DEAD), &services_with(kv.clone(), true)).await;

    let report = run(&pipeline, "안녕하세요", &["en"]).await.unwrap();
    let calls: Vec<(&str, &str)> = report.steps.iter().map(|s| (s.stage.as_str(), s.decision.label())).collect();
    assert_eq!(calls, [("cache", "passed"), ("vllm", "translated"), ("cache", "remembered"), ("tidy", "passed")]);
    for step in &report.steps {
        let cpu = step.cpu.unwrap_or_else(|| panic!("{}: no CPU counted", step.stage));
        assert!(!cpu.sandbox.is_zero(), "{}: instantiating and running the guest costs CPU: {cpu:?}", step.stage);
        match step.stage.as_str() {
            // kv GET and SET; the chat request, its own task included.
            "cache" | "vllm" => assert!(!cpu.host.is_zero(), "{}: its host calls are counted: {cpu:?}", step.stage),
            // postprocess makes no host call.
            _ => assert!(cpu.host.is_zero(), "{}: no host call, no host CPU: {cpu:?}", step.stage),
        }
    }

    let uncounted = load(&llm_pipeline(&llm.url(), DEAD), &services_with(kv, false)).await;
    let report = run(&uncounted, "안녕하세요", &["en"]).await.unwrap();
    assert!(report.steps.iter().all(|s| s.cpu.is_none()), "off by default: {:?}", report.steps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_down_falls_back_to_ollama_and_both_down_is_retryable() {
    let llm = stand_in(0).await;
    let services = services(KvStore::memory());
    let fallback = load(&llm_pipeline(DEAD, &llm.url()), &services).await;
    let report = run(&fallback, "ㅋㅋㅋ", &["en"]).await.unwrap();
    assert_eq!(report.providers["en"], "ollama");
    assert_eq!(llm.requests("/api/chat"), 1);

    let dead = load(&llm_pipeline(DEAD, "http://127.0.0.1:7"), &services).await;
    let failed = run(&dead, "a line nobody has cached", &["en"]).await.unwrap_err();
    let Failure::Retryable(message) = &failed.failure else { panic!("expected retryable: {:?}", failed.failure) };
    assert!(message.contains("stage `vllm`") && message.contains("stage `ollama`"), "names both: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_rate_limits_the_unit_for_that_long() {
    let options = DevLlmOptions {
        latency: Duration::ZERO,
        fault: Fault::Status { code: 429, retry_after_secs: 7 },
        fail_rate: 1.0,
        ..Default::default()
    };
    let llm = DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.unwrap();
    let services = services(KvStore::memory());
    let pipeline = load(&llm_pipeline(&llm.url(), DEAD), &services).await;
    let failed = run(&pipeline, "ㅋㅋㅋ", &["en"]).await.unwrap_err();
    match failed.failure {
        Failure::RateLimited { retry_after, .. } => assert_eq!(retry_after, Duration::from_secs(7)),
        other => panic!("expected rate-limited, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_languages_take_about_one_llm_latency() {
    let llm = stand_in(400).await;
    let services = services(KvStore::memory());
    let pipeline = load(&llm_pipeline(&llm.url(), DEAD), &services).await;
    let started = Instant::now();
    run(&pipeline, "first line", &["en"]).await.unwrap();
    let one = started.elapsed();
    let started = Instant::now();
    run(&pipeline, "second line", &["en", "ja", "es"]).await.unwrap();
    let three = started.elapsed();
    assert!(three < one * 2, "three languages took {three:?}, one took {one:?}: they should overlap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_identical_lines_at_once_make_one_llm_request() {
    let llm = stand_in(300).await;
    let services = services(KvStore::memory());
    let pipeline = load(&llm_pipeline(&llm.url(), DEAD), &services).await;
    let jobs = (0..100).map(|i| {
        let pipeline = pipeline.clone();
        tokio::spawn(async move { pipeline.run(&i.to_string(), &job("ㅋㅋㅋ", &["en"])).await })
    });
    let reports: Vec<JobReport> =
        futures::future::join_all(jobs).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
    for report in &reports {
        assert_eq!(report.providers["en"], "vllm");
    }
    assert_eq!(llm.requests("/v1/chat/completions"), 1);
    assert_eq!(pipeline.coalesced_units(), 99);
    // The calls are reported (and so counted in /metrics) once, by the job that made them.
    let vllm_calls = reports.iter().flat_map(|r| &r.steps).filter(|s| s.stage == "vllm").count();
    assert_eq!(vllm_calls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_built_for_another_contract_is_refused_by_name() {
    let services = services(KvStore::memory());
    let toml = format!("[[stage]]\nname = \"future\"\nplugin = \"{}\"\n", lingo_bundled::FIXTURE_FUTURE_CONTRACT);
    let errors = Pipeline::load(&config(&toml), "default", &services, &Plugins::default())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(errors.contains("stage[0].plugin:"), "{errors}");
    assert!(
        errors.contains("was built for `lingo:pipeline@0.3.0`, but this lingo implements `lingo:pipeline@0.2.0`"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_components_are_cached_on_disk_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        max_instances: 16,
        max_memory: 64 << 20,
        cache_dir: Some(dir.path().to_path_buf()),
        ..EngineOptions::default()
    };
    let wasm = lingo_bundled::find("postprocess").unwrap().wasm;
    let engine = StageEngine::new(&options).unwrap();
    lingo_engine::Plugin::load(&engine, "postprocess", wasm).unwrap();
    let entries: Vec<_> =
        walk(dir.path()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect();
    assert_eq!(entries.len(), 1, "one compiled entry: {entries:?}");
    let written = std::fs::metadata(&entries[0]).unwrap().modified().unwrap();

    // A new engine (a restart) loads the entry instead of compiling again.
    let restarted = StageEngine::new(&options).unwrap();
    lingo_engine::Plugin::load(&restarted, "postprocess", wasm).unwrap();
    assert_eq!(
        std::fs::metadata(&entries[0]).unwrap().modified().unwrap(),
        written,
        "the entry was reused, not rewritten"
    );

    // A corrupt entry is ignored and replaced.
    std::fs::write(&entries[0], b"not a compiled component").unwrap();
    lingo_engine::Plugin::load(&StageEngine::new(&options).unwrap(), "postprocess", wasm).unwrap();
    assert!(std::fs::metadata(&entries[0]).unwrap().len() > 1000);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_reply_is_retryable_and_shows_its_first_bytes() {
    let options =
        DevLlmOptions { latency: Duration::ZERO, fault: Fault::MalformedJson, fail_rate: 1.0, ..Default::default() };
    let llm = DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.unwrap();
    let services = services(KvStore::memory());
    let pipeline = load(&llm_pipeline(&llm.url(), DEAD), &services).await;
    let failed = run(&pipeline, "ㅋㅋㅋ", &["en"]).await.unwrap_err();
    let Failure::Retryable(message) = &failed.failure else { panic!("expected retryable: {:?}", failed.failure) };
    assert!(message.contains("stage `vllm`: unreadable reply"), "{message}");
    assert!(message.contains("chatcmpl-devllm-malformed"), "the body's first bytes: {message}");
}
