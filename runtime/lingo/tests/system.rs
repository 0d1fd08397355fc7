//! The `lingo` binary as users run it: `check`, `try`, and `run` + `gateway`
//! against a real `redis-server` and the stand-in LLM server (`lingo
//! dev-llm`, not a model), each a separate process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lingo_testkit::{RedisServer, free_port};

const LINGO: &str = env!("CARGO_BIN_EXE_lingo");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lingo(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(LINGO);
    command
        .args(args)
        .env_remove("WORKER_CONCURRENCY")
        .env("LINGO_CACHE_DIR", std::env::temp_dir().join("lingo-test-compile-cache"));
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run lingo")
}

/// A child process killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Process {
    let mut command = Command::new(LINGO);
    command.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    command.env("LINGO_CACHE_DIR", std::env::temp_dir().join("lingo-test-compile-cache"));
    for (k, v) in env {
        command.env(k, v);
    }
    Process(command.spawn().expect("spawn lingo"))
}

/// `lingo run` with its log in `dir`, returned once it consumes the queue
/// (its plugins compiled, which on a fresh machine takes a moment).
fn spawn_worker(config: &str, dir: &Path) -> Process {
    let log = dir.join("worker.log");
    let mut command = Command::new(LINGO);
    command.args(["run", "--config", config]).stdout(Stdio::null());
    command.stderr(std::fs::File::create(&log).expect("worker log"));
    command.env("LINGO_CACHE_DIR", std::env::temp_dir().join("lingo-test-compile-cache"));
    // Only the file decides: the check below must not pass thanks to NO_COLOR.
    command.env_remove("NO_COLOR");
    let worker = Process(command.spawn().expect("spawn lingo run"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("Starting Bull-compatible worker") {
        assert!(
            Instant::now() < deadline,
            "lingo run did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!started.contains('\u{1b}'), "a log written to a file has no terminal colour codes:\n{started}");
    worker
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The stand-in LLM server on a free port; returns it and its URL.
fn stand_in(latency: &str) -> (Process, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let process = spawn(&["dev-llm", "--listen", &listen, "--latency", latency], &[]);
    wait_for_port(port);
    (process, format!("http://{listen}"))
}

#[test]
fn check_lists_stages_or_every_error() {
    let example = repo().join("examples/pipeline.toml");
    let ok = lingo(&["check", "--config", example.to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    for stage in ["detect", "glossary", "cache", "vllm", "ollama", "tidy"] {
        assert!(stdout.contains(stage), "{stdout}");
    }
    assert!(stdout.contains("ok: 6 stages"), "{stdout}");

    let bad = repo().join("runtime/config/tests/invalid/many-errors.toml");
    let failed = lingo(&["check", "--config", bad.to_str().unwrap()], &[]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(stderr.matches("error: ").count(), 5, "every error, not just the first: {stderr}");
    assert!(stderr.contains("stage[0].enabled: expected `true` or `false`, found `perhaps`"), "{stderr}");
}

#[test]
fn try_gives_the_same_json_twice_and_a_per_stage_trace() {
    let (_llm, url) = stand_in("10ms");
    let config = repo().join("examples/pipeline.toml");
    let env = [("VLLM_URL", url.as_str()), ("USE_OLLAMA", "false")];
    let args =
        ["try", "--config", config.to_str().unwrap(), "--json", "--to", "en,ja", "--from", "ko", "안녕하세요 @mina 🎉"];
    let first = lingo(&args, &env);
    let second = lingo(&args, &env);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(first.stdout, second.stdout);
    let value: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(value["providers"]["en"], "vllm");
    assert_eq!(value["sourceLanguage"], "ko");
    assert_eq!(value["translations"]["en"], "[en] 안녕하세요 @mina 🎉");

    let trace = lingo(&args.iter().copied().filter(|a| *a != "--json").collect::<Vec<_>>(), &env);
    let stdout = String::from_utf8_lossy(&trace.stdout);
    for line in [
        "detect         pre        -       passed",
        "detect         translate  en      passed",
        "cache          translate  en      passed",
        "vllm           translate  en      translated",
        "tidy           post       ja",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
}

fn pipeline_file(dir: &Path, redis: &str, llm: &str) -> PathBuf {
    let path = dir.join("pipeline.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[worker]
redis_url   = "{redis}"
concurrency = 32

[gateway]
queue_timeout = "5s"

[[stage]]
name   = "cache"
plugin = "cache"

[[stage]]
name          = "vllm"
plugin        = "vllm"
allowed_hosts = ["{llm}"]
config        = {{ url = "{llm}", model = "stand-in" }}

[[stage]]
name   = "tidy"
plugin = "postprocess"
phase  = "post"
"#
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_serves_the_seed_load_test_and_reports_bad_requests() {
    let mut redis = RedisServer::start();
    let (_llm, llm) = stand_in("200ms");
    let dir = tempfile::tempdir().unwrap();
    let config = pipeline_file(dir.path(), &redis.url(), &llm);
    let config = config.to_str().unwrap();
    let _worker = spawn_worker(config, dir.path());
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _gateway = spawn(&["gateway", "--config", config, "--listen", &listen], &[]);
    wait_for_port(port);
    let url = format!("http://{listen}/api/v1/translate");
    let client = reqwest::Client::new();

    // The seed's load test: 100 concurrent requests, every one a 200 with a translation.
    let lines = ["안녕하세요", "ㅋㅋㅋ", "오늘 방송 최고", "gg", "こんにちは"];
    let requests = (0..100).map(|i| {
        let body = serde_json::json!({ "text": lines[i % lines.len()], "targetLanguages": ["en"] });
        client.post(&url).json(&body).send()
    });
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["translations"]["en"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
        assert!(body["jobId"].is_string(), "{body}");
    }

    // A request's other fields go on to the job as its metadata, for the stages.
    let body = serde_json::json!({ "text": "gg", "targetLanguages": ["en"], "channel": "lck" });
    let answer: serde_json::Value = client.post(&url).json(&body).send().await.unwrap().json().await.unwrap();
    let id = answer["jobId"].as_str().expect("a job id");
    let mut conn = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let data: String =
        redis::cmd("HGET").arg(format!("bull:translation-jobs:{id}")).arg("data").query(&mut conn).unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["channel"], "lck", "{data}");

    // Bad bodies: each its 4xx, with a message naming the problem.
    let cases: [(Option<&str>, String, u16, &str); 6] = [
        (None, "{\"text\":\"hi\",\"targetLanguages\":[\"en\"]}".into(), 415, "Content-Type: application/json"),
        (Some("application/json"), "hello".into(), 400, "not JSON"),
        (Some("application/json"), "{\"targetLanguages\":[\"en\"]}".into(), 400, "no `text`"),
        (
            Some("application/json"),
            "{\"text\":\"hi\",\"targetLanguages\":\"en\"}".into(),
            400,
            "`targetLanguages` must be an array",
        ),
        (
            Some("application/json"),
            "{\"text\":\"hi\",\"targetLanguages\":[\"english\"]}".into(),
            400,
            "`targetLanguages[0]` is `english`",
        ),
        (
            Some("application/json"),
            format!("{{\"text\":\"{}\",\"targetLanguages\":[\"en\"]}}", "a".repeat(5000)),
            413,
            "the limit is 4096",
        ),
    ];
    for (content_type, body, status, words) in cases {
        let mut request = client.post(&url).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{words}");
        let error: serde_json::Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "expected `{words}` in {error}");
    }

    // Redis stopped: 503; back when Redis is.
    let health = format!("http://{listen}/healthz");
    assert_eq!(client.get(&health).send().await.unwrap().status(), 200);
    redis.stop();
    let down =
        client.post(&url).json(&serde_json::json!({ "text": "hi", "targetLanguages": ["en"] })).send().await.unwrap();
    assert_eq!(down.status(), 503);
    assert_eq!(client.get(&health).send().await.unwrap().status(), 503);
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = client
            .post(&url)
            .json(&serde_json::json!({ "text": "back", "targetLanguages": ["en"] }))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "service did not come back: {}", response.status());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `POST /reload` changes what every tenant runs: beyond loopback it needs
/// `worker.admin_token`, and with a token set it needs the token anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_over_http_needs_the_admin_token_beyond_loopback() {
    let redis = RedisServer::start();
    let (_llm, llm) = stand_in("0ms");
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline_file(dir.path(), &redis.url(), &llm);
    let base = std::fs::read_to_string(&pipeline).unwrap();
    let http = reqwest::Client::new();
    for (token, header, expected) in [
        (None, None, 401),
        (Some("s3cret-admin-token"), None, 401),
        (Some("s3cret-admin-token"), Some("s3cret-admin-token"), 200),
    ] {
        let port = free_port();
        let token_line = token.map(|t| format!("admin_token = \"{t}\"\n")).unwrap_or_default();
        let text =
            base.replacen("[worker]\n", &format!("[worker]\nadmin_listen = \"0.0.0.0:{port}\"\n{token_line}"), 1);
        std::fs::write(&pipeline, text).unwrap();
        let _worker = spawn_worker(pipeline.to_str().unwrap(), dir.path());
        wait_for_port(port);
        let mut request = http.post(format!("http://127.0.0.1:{port}/reload"));
        if let Some(header) = header {
            request = request.bearer_auth(header);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, expected, "token {token:?}, header {header:?}: {body}");
        if expected == 401 {
            assert!(body.contains("admin_token"), "the refusal says what to set: {body}");
        }
        assert_eq!(
            http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap().status().as_u16(),
            200,
            "reading stays open"
        );
    }
}
