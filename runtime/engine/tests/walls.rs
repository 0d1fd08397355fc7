//! The walls around a tenant, not only around a call: what a job or a
//! tenant's pipeline holds and produces is bounded, and given back when the
//! job ends however it ends. Real components (the misbehave fixture), a
//! real `redis-server` for `kv`, and the stand-in LLM server
//! (`lingo-devllm`, not a model) as an HTTP backend.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lingo_config::Env;
use lingo_devllm::{DevLlm, DevLlmOptions};
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{
    EngineOptions, JobFailed, JobReport, Limit, Pipeline, Plugins, Services, StageEngine, TranslationJob,
};
use lingo_testkit::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIXTURE: &str = lingo_bundled::FIXTURE_MISBEHAVE;

/// An engine of `instances` instances for a worker of `slots` slots.
fn services(kv: KvStore, instances: u32, slots: usize) -> Services {
    let cache = std::env::temp_dir().join("lingo-test-compile-cache");
    let options = EngineOptions {
        max_instances: instances,
        pool_slots: slots,
        max_memory: 256 << 20,
        cache_dir: Some(cache),
        ..EngineOptions::default()
    };
    Services::new(StageEngine::new(&options).unwrap(), Arc::new(HttpClient::default()), kv)
}

/// A pipeline of one fixture stage doing `act`, with `[limits]` and
/// `[worker]` lines and the stage's `extra` lines.
async fn load(tenant: &str, head: &str, act: &str, extra: &str, services: &Services) -> Pipeline {
    let toml = format!(
        "{head}\n[[stage]]\nname = \"s\"\nplugin = \"{FIXTURE}\"\non_error = \"fail\"\n{extra}\nconfig = {act}\n"
    );
    let config =
        lingo_config::parse(&toml, Path::new("test.toml"), &Env::from_pairs([])).unwrap_or_else(|e| panic!("{e}"));
    Pipeline::load(&config, tenant, services, &Plugins::default()).await.unwrap_or_else(|e| panic!("{e}"))
}

fn job(text: &str, targets: usize) -> TranslationJob {
    let languages = ["en", "ja", "ko", "de", "fr", "es", "it", "pt", "ru", "zh", "ar", "hi", "tr", "pl", "nl", "sv"];
    TranslationJob {
        text: text.into(),
        target_languages: languages[..targets].iter().map(|t| t.to_string()).collect(),
        source_language: None,
        metadata: "{}".into(),
    }
}

async fn run(pipeline: &Pipeline, text: &str, targets: usize) -> Result<JobReport, JobFailed> {
    pipeline.run("1", &job(text, targets)).await
}

fn failure(result: Result<JobReport, JobFailed>) -> String {
    result.expect_err("the job fails").failure.message().to_string()
}

/// Before: the timed-out job's units stayed parked in the coalescing map,
/// each holding an instance, until no instance was left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_by_its_deadline_gives_back_every_instance_at_once() {
    let services = services(KvStore::memory(), 8, 8);
    let head = "[worker]\nconcurrency = 4\n[limits]\njob_timeout = \"100ms\"";
    let stuck = load("t", head, r#"{ act = "loop" }"#, "timeout = \"60s\"", &services).await;
    let share = stuck.wall().free_instances();
    assert_eq!(share, 4, "4 of the worker's 8 slots: half of the 8 instances");
    for line in 0..12 {
        let message = failure(run(&stuck, &format!("line {line}"), 3).await);
        assert!(message.contains("longer than its deadline"), "{message}");
    }
    assert_eq!(stuck.units_in_flight(), 0, "no unit is left behind");
    assert_eq!(stuck.wall().free_instances(), share, "every instance came back");
    let upper = load("t", "[worker]\nconcurrency = 4", r#"{ act = "upper" }"#, "", &services).await;
    assert_eq!(run(&upper, "after", 3).await.unwrap().translations["en"], "AFTER");
}

/// Before: one tenant's 16-target jobs held every instance of the engine and
/// the other tenant's jobs waited for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_fanning_out_waits_on_its_own_share_not_on_anothers() {
    let services = services(KvStore::memory(), 8, 8);
    let head = "[worker]\nconcurrency = 4";
    let evil = load("evil", head, r#"{ act = "loop" }"#, "timeout = \"1s\"", &services).await;
    let good = load("good", head, r#"{ act = "upper" }"#, "", &services).await;
    // 16 units, 4 at a time on evil's share: 4 s of spinning.
    let hog = tokio::spawn(async move { vec![run(&evil, "spin", 16).await] });
    // Let evil take all it can.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for line in 0..5 {
        let report = run(&good, &format!("hello {line}"), 2).await.unwrap();
        assert_eq!(report.translations["ja"], format!("HELLO {line}"));
    }
    assert!(!hog.is_finished(), "good's jobs completed while evil's still held their whole share");
    for result in hog.await.unwrap() {
        assert!(failure(result).contains("timed out"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_and_errors_are_bounded() {
    let services = services(KvStore::memory(), 16, 16);
    let huge = load("evil", "", r#"{ act = "huge", bytes = 200000 }"#, "", &services).await;
    let message = failure(run(&huge, "hi", 1).await);
    assert!(
        message.contains("produced 200000 bytes of text; the limit is 16384 (limits.max_translation_bytes)"),
        "{message}"
    );

    let loud = load("evil", "", r#"{ act = "huge_error", bytes = 5000000 }"#, "", &services).await;
    let message = failure(run(&loud, "hi", 1).await);
    assert!(message.len() < 2200, "a 5 MB error is cut to about max_error_bytes: {} bytes", message.len());
    assert!(message.contains("bytes cut)"), "and says so");

    let lowered =
        load("evil", "[limits]\nmax_translation_bytes = \"1KiB\"", r#"{ act = "huge", bytes = 2000 }"#, "", &services)
            .await;
    assert!(failure(run(&lowered, "hi", 1).await).contains("the limit is 1024"));
    assert_eq!(services.hits.get("evil", Limit::TranslationBytes), 2);
    assert_eq!(services.hits.get("evil", Limit::ErrorBytes), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_log_is_cut_and_counted_and_the_job_still_completes() {
    let services = services(KvStore::memory(), 16, 16);
    let flood =
        load("evil", "[limits]\nmax_log_lines = 50", r#"{ act = "flood", lines = 5000, bytes = 10 }"#, "", &services)
            .await;
    assert_eq!(run(&flood, "hi", 1).await.unwrap().translations["en"], "logged");
    assert_eq!(services.hits.get("evil", Limit::LogLines), 4950);
    let wide = load("evil", "", r#"{ act = "flood", lines = 100, bytes = 4000 }"#, "", &services).await;
    assert_eq!(run(&wide, "hi", 1).await.unwrap().translations["en"], "logged");
    assert_eq!(services.hits.get("evil", Limit::LogBytes), 96, "16 KiB hold 4 lines of 4,000 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_keeps_each_tenant_within_its_quota_across_namespaces() {
    let redis = RedisServer::start();
    let services = services(KvStore::redis(&redis.url()).await.unwrap(), 16, 16);
    let head = "[limits]\nmax_kv_keys = 5";
    let fill = r#"{ act = "kv_fill", keys = 8, bytes = 10 }"#;
    let first = load("evil", head, fill, "kv_namespace = \"a\"", &services).await;
    assert_eq!(
        run(&first, "hi", 1).await.unwrap().translations["en"],
        "stored 5, then: kv unavailable: the tenant's kv quota is full: 5 keys (limits.max_kv_keys)"
    );
    let second = load("evil", head, fill, "kv_namespace = \"b\"", &services).await;
    assert!(
        run(&second, "hi", 1).await.unwrap().translations["en"].starts_with("stored 0,"),
        "the quota is the tenant's, not the namespace's"
    );
    // Rewriting a key it has is no new key.
    assert!(run(&first, "hi", 1).await.unwrap().translations["en"].starts_with("stored 5,"));
    let other = load("good", head, fill, "kv_namespace = \"a\"", &services).await;
    assert!(
        run(&other, "hi", 1).await.unwrap().translations["en"].starts_with("stored 5,"),
        "another tenant has its own"
    );

    let bytes = load(
        "big",
        "[limits]\nmax_kv_bytes = \"10KiB\"",
        r#"{ act = "kv_fill", keys = 100, bytes = 1000 }"#,
        "",
        &services,
    )
    .await;
    let answer = run(&bytes, "hi", 1).await.unwrap().translations["en"].clone();
    assert!(answer.starts_with("stored 10,") && answer.contains("10240 bytes (limits.max_kv_bytes)"), "{answer}");
    assert!(services.hits.get("evil", Limit::KvQuota) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_sends_at_most_max_http_requests() {
    let llm =
        DevLlm::start("127.0.0.1:0".parse().unwrap(), DevLlmOptions { latency: Duration::ZERO, ..Default::default() })
            .await
            .unwrap();
    let services = services(KvStore::memory(), 16, 16);
    let act = format!("{{ act = \"fetch_many\", url = \"{}/api/tags\", times = 10 }}", llm.url());
    let allowed = format!("allowed_hosts = [\"{}\"]", llm.url());
    let many = load("evil", "[limits]\nmax_http_requests = 3", &act, &allowed, &services).await;
    let answer = run(&many, "hi", 1).await.unwrap().translations["en"].clone();
    assert!(answer.starts_with("sent 3, then: invalid request: this call sent its 3 requests already"), "{answer}");
    assert_eq!(llm.requests("/api/tags"), 3);
}

/// A server that answers every request with a redirect to `location`.
async fn redirector(location: String) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let location = location.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let reply = format!(
                    "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

/// Before: the shared client followed redirects, and only the first URL
/// was checked against `allowed_hosts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_never_leaves_allowed_hosts() {
    let llm =
        DevLlm::start("127.0.0.1:0".parse().unwrap(), DevLlmOptions { latency: Duration::ZERO, ..Default::default() })
            .await
            .unwrap();
    let hop = redirector(format!("{}/api/tags", llm.url())).await;
    let services = services(KvStore::memory(), 16, 16);
    let act = format!("{{ act = \"fetch\", url = \"http://{hop}/\" }}");
    let only_hop = format!("allowed_hosts = [\"{hop}\"]");

    let unfollowed = load("t", "", &act, &only_hop, &services).await;
    assert_eq!(run(&unfollowed, "hi", 1).await.unwrap().translations["en"], "", "the 302 itself reaches the stage");

    let followed = load("t", "", &act, &format!("{only_hop}\nmax_redirects = 3"), &services).await;
    let message = failure(run(&followed, "hi", 1).await);
    assert!(message.contains(&format!("host `http://{}` is not in allowed_hosts", llm.addr())), "{message}");
    assert_eq!(llm.requests("/api/tags"), 0, "no hop left the allowed hosts");
    assert_eq!(services.hits.get("t", Limit::HttpDenied), 1);

    let both = format!("allowed_hosts = [\"{hop}\", \"{}\"]\nmax_redirects = 1", llm.url());
    let allowed = load("t", "", &act, &both, &services).await;
    assert!(run(&allowed, "hi", 1).await.unwrap().translations["en"].contains("\"models\""));
    assert_eq!(llm.requests("/api/tags"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_own_addresses_are_refused_whatever_allowed_hosts_says() {
    let llm =
        DevLlm::start("127.0.0.1:0".parse().unwrap(), DevLlmOptions { latency: Duration::ZERO, ..Default::default() })
            .await
            .unwrap();
    let mut services = services(KvStore::memory(), 16, 16);
    services.http = Arc::new(HttpClient::default().forbid([llm.addr()]));
    let act = format!("{{ act = \"fetch\", url = \"http://localhost:{}/api/tags\" }}", llm.addr().port());
    let anywhere = load("t", "", &act, "allowed_hosts = [\"*\"]", &services).await;
    let message = failure(run(&anywhere, "hi", 1).await);
    assert!(message.contains("is not in allowed_hosts"), "{message}");
    assert_eq!(llm.requests("/api/tags"), 0);
}

/// With `memory = "16MiB"` and `max_memory_in_use = "32MiB"`, two calls
/// of the tenant run at once and the third waits for room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_calls_in_flight_share_max_memory_in_use() {
    let services = services(KvStore::memory(), 16, 16);
    let head = "[limits]\nmax_memory_in_use = \"32MiB\"";
    let spin = load("evil", head, r#"{ act = "loop" }"#, "memory = \"16MiB\"\ntimeout = \"1s\"", &services).await;
    let wall = spin.wall().clone();
    let started = std::time::Instant::now();
    let calls = (0..3).map(|i| {
        let spin = spin.clone();
        tokio::spawn(async move { run(&spin, &format!("spin {i}"), 1).await })
    });
    let results = futures::future::join_all(calls).await;
    for result in results {
        assert!(failure(result.unwrap()).contains("timed out"));
    }
    // Two rounds of the 1 s timeout: the third call waited for the first two.
    assert!(started.elapsed() >= std::time::Duration::from_millis(1900), "took {:?}", started.elapsed());
    assert_eq!(wall.free_instances(), 4, "and everything came back: 4 of 16 slots, 16 instances");
}
