//! Bringing the demo's parts up and down: Redis, the LLM (stand-in unless a
//! real one answers), a `lingo run` worker and a `lingo gateway`, the last two
//! as child processes of this same binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lingo_devllm::{DevLlm, DevLlmOptions};

use super::START_TIMEOUT;

/// Everything the demo started, stopped on [`System::stop`] (or on drop).
pub struct System {
    dir: tempfile::TempDir,
    redis_url: String,
    redis: Option<Child>,
    llm: Llm,
    worker: Child,
    gateway: Child,
    gateway_addr: String,
}

enum Llm {
    StandIn(DevLlm),
    Real { vllm: Option<String>, ollama: Option<String> },
}

impl System {
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("temp dir for the demo")?;
        let wanted = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let (redis_url, redis) = if answers_redis(&wanted).await {
            (wanted, None)
        } else {
            let (url, child) = start_redis(dir.path()).await?;
            (url, Some(child))
        };
        let llm = find_llm().await?;
        let config = write_pipeline(dir.path(), &redis_url, &llm)?;
        let worker = spawn_lingo(&["run", "--config", path(&config)], &dir.path().join("worker.log"))?;
        let port = if port_free(3000) { 3000 } else { lingo_port() };
        let gateway_addr = format!("127.0.0.1:{port}");
        let gateway = spawn_lingo(
            &["gateway", "--config", path(&config), "--listen", &gateway_addr],
            &dir.path().join("gateway.log"),
        )?;
        let system = Self { dir, redis_url, redis, llm, worker, gateway, gateway_addr };
        system.wait_healthy().await?;
        Ok(system)
    }

    pub fn translate_url(&self) -> String {
        format!("http://{}/api/v1/translate", self.gateway_addr)
    }

    /// LLM requests the stand-in served, when it is the stand-in.
    pub fn llm_requests(&self) -> Option<u64> {
        match &self.llm {
            Llm::StandIn(server) => Some(server.requests("/v1/chat/completions") + server.requests("/api/chat")),
            Llm::Real { .. } => None,
        }
    }

    pub fn describe(&self) -> String {
        let redis = if self.redis.is_some() { "started" } else { "already running" };
        let llm = match &self.llm {
            Llm::StandIn(server) => format!(
                "the stand-in LLM server at {} (not a model: a deterministic pseudo-translation, 200 ms per reply)",
                server.url()
            ),
            Llm::Real { vllm, ollama } => {
                format!("vLLM {} / Ollama {}", vllm.as_deref().unwrap_or("-"), ollama.as_deref().unwrap_or("-"))
            }
        };
        format!(
            "lingo demo\n  redis    {} ({redis})\n  llm      {llm}\n  worker   lingo run (logs: {})\n  gateway  http://{} (logs: {})",
            self.redis_url,
            self.dir.path().join("worker.log").display(),
            self.gateway_addr,
            self.dir.path().join("gateway.log").display()
        )
    }

    pub fn how_to_reach(&self) -> String {
        format!(
            "The system is up:\n  curl -s -X POST {} -H 'content-type: application/json' -d '{{\"text\": \"테스트\", \"targetLanguages\": [\"en\"]}}'\n  curl -s http://{}/healthz\n  redis-cli -u {} keys 'bull:translation-jobs:*'",
            self.translate_url(),
            self.gateway_addr,
            self.redis_url
        )
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("http://{}/healthz", self.gateway_addr);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the gateway did not come up; see {}", self.dir.path().join("gateway.log").display())
    }

    /// Stops the worker and gateway gracefully, then what else was started.
    pub async fn stop(mut self) {
        for child in [&mut self.gateway, &mut self.worker] {
            terminate(child);
        }
        if let Some(redis) = &mut self.redis {
            let _ = redis.kill();
            let _ = redis.wait();
        }
        if let Llm::StandIn(server) = std::mem::replace(&mut self.llm, Llm::Real { vllm: None, ollama: None }) {
            server.shutdown().await;
        }
    }
}

impl Drop for System {
    fn drop(&mut self) {
        for child in [Some(&mut self.gateway), Some(&mut self.worker), self.redis.as_mut()].into_iter().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// SIGTERM, then wait for a graceful exit (the worker finishes in-flight jobs).
fn terminate(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn answers_redis(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else { return false };
    let ping = async {
        let mut con = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING").query_async::<String>(&mut con).await.ok()
    };
    matches!(tokio::time::timeout(Duration::from_secs(1), ping).await, Ok(Some(_)))
}

async fn start_redis(dir: &Path) -> anyhow::Result<(String, Child)> {
    let port = lingo_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting redis-server\nhint: `make setup` installs it")?;
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + START_TIMEOUT;
    while !answers_redis(&url).await {
        if Instant::now() > deadline {
            bail!("redis-server did not answer on port {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((url, child))
}

/// A real server if `VLLM_URL` or `OLLAMA_URL` answers; else the stand-in.
async fn find_llm() -> anyhow::Result<Llm> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let answering = |var: &'static str, probe: &'static str| {
        let client = client.clone();
        async move {
            let url = std::env::var(var).ok()?;
            let ok =
                client.get(format!("{}{probe}", url.trim_end_matches('/'))).send().await.ok()?.status().is_success();
            ok.then_some(url)
        }
    };
    let vllm = answering("VLLM_URL", "/v1/models").await;
    let ollama = answering("OLLAMA_URL", "/api/tags").await;
    if vllm.is_some() || ollama.is_some() {
        return Ok(Llm::Real { vllm, ollama });
    }
    let options = DevLlmOptions { latency: Duration::from_millis(200), ..DevLlmOptions::default() };
    let server = DevLlm::start("127.0.0.1:0".parse().expect("address"), options)
        .await
        .context("starting the stand-in LLM server")?;
    Ok(Llm::StandIn(server))
}

/// `detect` answers what never needed a model, `glossary` keeps the names
/// chat uses out of it, and `cache` answers what it already translated.
const STAGES_BEFORE_THE_LLM: &str = r#"
[[stage]]
name   = "detect"
plugin = "detect"
phase  = ["pre", "translate"]
config = { languages = ["ko", "en", "ja"] }

[[stage]]
name   = "glossary"
plugin = "glossary"
phase  = ["pre", "post"]
metadata = ["channel"]
config = { keep = ["Faker", "T1", "Chovy", "Gen.G"], channels = { lck_jp = { terms = { Faker = { ja = "フェイカー" } } } } }

[[stage]]
name   = "cache"
plugin = "cache"
config = { ttl = "1h", namespace = "demo" }
"#;

fn write_pipeline(dir: &Path, redis_url: &str, llm: &Llm) -> anyhow::Result<PathBuf> {
    let (vllm, ollama) = match llm {
        Llm::StandIn(server) => (Some(server.url()), Some(server.url())),
        Llm::Real { vllm, ollama } => (vllm.clone(), ollama.clone()),
    };
    let mut toml = format!("[worker]\nredis_url = \"{redis_url}\"\nconcurrency = 64\n{STAGES_BEFORE_THE_LLM}");
    if let Some(url) = vllm {
        toml += &format!(
            "\n[[stage]]\nname = \"vllm\"\nplugin = \"vllm\"\ntimeout = \"5s\"\nallowed_hosts = [\"{url}\"]\nconfig = {{ url = \"{url}\", model = \"${{VLLM_MODEL:-Qwen/Qwen2.5-7B-Instruct}}\" }}\n"
        );
    }
    if let Some(url) = ollama {
        toml += &format!(
            "\n[[stage]]\nname = \"ollama\"\nplugin = \"ollama\"\ntimeout = \"10s\"\nallowed_hosts = [\"{url}\"]\nconfig = {{ url = \"{url}\", model = \"${{OLLAMA_MODEL:-qwen2.5:7b}}\" }}\n"
        );
    }
    toml += "\n[[stage]]\nname = \"tidy\"\nplugin = \"postprocess\"\nphase = \"post\"\n";
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, toml)?;
    Ok(path)
}

fn spawn_lingo(args: &[&str], log: &Path) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding the lingo binary")?;
    let log = std::fs::File::create(log)?;
    Ok(Command::new(exe).args(args).stdout(Stdio::null()).stderr(log).spawn()?)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn lingo_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}
