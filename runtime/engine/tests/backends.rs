//! The LLM stages against what real vLLM and Ollama servers send beyond the
//! happy path: replies cut off at the length limit, reasoning inline or
//! apart, thinking that uses the whole limit, 503s with `Retry-After` in
//! seconds or as a date, base URLs with `/v1`, models not served, Ollama's
//! `keep_alive`, API keys. The servers are played by the stand-in
//! (`lingo-devllm`, not a model), each behaviour switched on by its options.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lingo_config::Env;
use lingo_devllm::{Behaviour, DevLlm, DevLlmOptions, Fault, Reasoning, translate};
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{
    EngineOptions, Failure, JobFailed, JobReport, Pipeline, Plugins, Services, StageEngine, TranslationJob,
};

/// What each LLM stage's API is called at the stand-in.
#[derive(Debug, Clone, Copy)]
enum Api {
    OpenAi,
    Ollama,
}

impl Api {
    const BOTH: [Api; 2] = [Api::OpenAi, Api::Ollama];

    fn plugin(self) -> &'static str {
        match self {
            Api::OpenAi => "openai",
            Api::Ollama => "ollama",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Api::OpenAi => "/v1/chat/completions",
            Api::Ollama => "/api/chat",
        }
    }
}

fn services(kv: KvStore) -> Services {
    let options = EngineOptions {
        max_instances: 64,
        max_memory: 256 << 20,
        cache_dir: Some(std::env::temp_dir().join("lingo-test-compile-cache")),
        ..EngineOptions::default()
    };
    Services::new(StageEngine::new(&options).unwrap(), Arc::new(HttpClient::default()), kv)
}

/// `cache` → the `api` stage at `url` with `extra` in its config table.
fn pipeline_toml(api: Api, url: &str, allowed: &str, extra: &str) -> String {
    format!(
        r#"
[[stage]]
name   = "cache"
plugin = "cache"

[[stage]]
name          = "llm"
plugin        = "{plugin}"
timeout       = "3s"
allowed_hosts = ["{allowed}"]
config        = {{ url = "{url}", model = "stand-in" {extra} }}
"#,
        plugin = api.plugin(),
    )
}

async fn load(toml: &str, services: &Services) -> Result<Pipeline, String> {
    let config = lingo_config::parse(toml, Path::new("test.toml"), &Env::from_pairs([])).map_err(|e| e.to_string())?;
    Pipeline::load(&config, "default", services, &Plugins::default()).await.map_err(|e| e.to_string())
}

async fn stand_in(behaviour: Behaviour) -> DevLlm {
    stand_in_with(DevLlmOptions { behaviour, ..quick() }).await
}

fn quick() -> DevLlmOptions {
    DevLlmOptions { latency: Duration::ZERO, ..DevLlmOptions::default() }
}

async fn stand_in_with(options: DevLlmOptions) -> DevLlm {
    DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.unwrap()
}

async fn run(pipeline: &Pipeline, text: &str) -> Result<JobReport, JobFailed> {
    let job = TranslationJob {
        text: text.into(),
        target_languages: vec!["de".into()],
        source_language: Some("en".into()),
        metadata: "{}".into(),
    };
    pipeline.run("1", &job).await
}

/// Loads `cache` → `api` at the stand-in with `extra` config and runs one line.
async fn translate_with(api: Api, llm: &DevLlm, kv: &KvStore, extra: &str) -> Result<JobReport, JobFailed> {
    let services = services(kv.clone());
    let pipeline = load(&pipeline_toml(api, &llm.url(), &llm.url(), extra), &services).await.unwrap();
    run(&pipeline, "good game everyone").await
}

fn fatal(result: Result<JobReport, JobFailed>) -> String {
    match result.map(|r| r.translations).map_err(|f| f.failure) {
        Err(Failure::Fatal(message)) => message,
        other => panic!("expected a fatal failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_cut_off_at_the_length_limit_is_never_a_translation_and_never_cached() {
    for api in Api::BOTH {
        let llm = stand_in(Behaviour::default()).await;
        let kv = KvStore::memory();
        let message = fatal(translate_with(api, &llm, &kv, ", max_tokens = 2").await);
        assert!(message.contains("cut its reply off at the length limit (max_tokens = 2"), "{api:?}: {message}");
        // Nothing was cached: with room enough the LLM is asked again.
        let whole = translate_with(api, &llm, &kv, "").await.unwrap();
        assert_eq!(whole.providers["de"], "llm", "{api:?}");
        assert_eq!(whole.translations["de"], translate("good game everyone", "de"), "{api:?}");
        assert_eq!(llm.requests(api.path()), 2, "{api:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_inline_or_apart_never_reaches_chat() {
    for api in Api::BOTH {
        for reasoning in [Reasoning::Inline, Reasoning::Separate] {
            let llm = stand_in(Behaviour { reasoning, reasoning_tokens: 40, ..Behaviour::default() }).await;
            let report = translate_with(api, &llm, &KvStore::memory(), "").await.unwrap();
            let expected = translate("good game everyone", "de");
            assert_eq!(report.translations["de"], expected, "{api:?} {reasoning:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_that_uses_up_the_limit_fails_the_stage_unless_switched_off() {
    for api in Api::BOTH {
        for reasoning in [Reasoning::Inline, Reasoning::Separate] {
            let llm = stand_in(Behaviour { reasoning, reasoning_tokens: 600, ..Behaviour::default() }).await;
            let message = fatal(translate_with(api, &llm, &KvStore::memory(), ", max_tokens = 512").await);
            assert!(message.contains("whole length limit") && message.contains("think = false"), "{api:?}: {message}");
            // The stage tells the server not to think (vLLM's
            // chat_template_kwargs, Ollama's `think`).
            let report = translate_with(api, &llm, &KvStore::memory(), ", think = false").await.unwrap();
            assert_eq!(report.translations["de"], translate("good game everyone", "de"), "{api:?} {reasoning:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_waits_its_retry_after_in_seconds_or_as_a_date_without_spending_an_attempt() {
    for api in Api::BOTH {
        for retry_after_date in [false, true] {
            let options = DevLlmOptions {
                fault: Fault::Status { code: 503, retry_after_secs: 30 },
                fail_rate: 1.0,
                behaviour: Behaviour { retry_after_date, ..Behaviour::default() },
                ..quick()
            };
            let llm = stand_in_with(options).await;
            let failed = translate_with(api, &llm, &KvStore::memory(), "").await.unwrap_err();
            let Failure::RateLimited { retry_after, .. } = failed.failure else {
                panic!("{api:?}: expected rate-limited, got {:?}", failed.failure)
            };
            // An HTTP date has whole seconds: up to one is lost to rounding.
            let (least, most) = (Duration::from_secs(28), Duration::from_secs(30));
            assert!((least..=most).contains(&retry_after), "{api:?} date={retry_after_date}: waits {retry_after:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_ending_in_v1_reaches_the_same_endpoint() {
    let llm = stand_in(Behaviour::default()).await;
    let services = services(KvStore::memory());
    let url = format!("{}/v1", llm.url());
    let pipeline = load(&pipeline_toml(Api::OpenAi, &url, &llm.url(), ""), &services).await.unwrap();
    let report = run(&pipeline, "good game everyone").await.unwrap();
    assert_eq!(report.providers["de"], "llm");
    assert_eq!(llm.requests("/v1/chat/completions"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_the_server_does_not_serve_fails_at_once_and_says_so() {
    let served = Behaviour { models: vec!["Qwen/Qwen2.5-7B-Instruct".into()], ..Behaviour::default() };
    let llm = stand_in(served).await;
    let openai = fatal(translate_with(Api::OpenAi, &llm, &KvStore::memory(), "").await);
    assert!(openai.contains("404") && openai.contains("The model `stand-in` does not exist"), "{openai}");
    let ollama = fatal(translate_with(Api::Ollama, &llm, &KvStore::memory(), "").await);
    assert!(ollama.contains("404") && ollama.contains("not found, try pulling it first"), "{ollama}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_keep_alive_is_sent_the_way_ollama_reads_it() {
    let llm = stand_in(Behaviour::default()).await;
    for keep_alive in ["-1", "\"-1\"", "300", "\"5m\"", "\"1h30m\""] {
        let extra = format!(", keep_alive = {keep_alive}");
        let report = translate_with(Api::Ollama, &llm, &KvStore::memory(), &extra).await;
        assert!(report.is_ok(), "keep_alive = {keep_alive}: {:?}", report.err().map(|f| f.failure));
    }
    let services = services(KvStore::memory());
    let toml = pipeline_toml(Api::Ollama, &llm.url(), &llm.url(), ", keep_alive = \"forever\"");
    let refused = load(&toml, &services).await.err().expect("an unreadable keep_alive fails at load");
    assert!(refused.contains("keep_alive `forever`"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_and_extra_headers_reach_both_servers() {
    let llm = stand_in_with(DevLlmOptions { api_key: Some("sekrit".into()), ..quick() }).await;
    for api in Api::BOTH {
        let refused = fatal(translate_with(api, &llm, &KvStore::memory(), "").await);
        assert!(refused.contains("401"), "{api:?}: {refused}");
        let extra = ", api_key = \"sekrit\", headers = { x-team = \"chat\" }";
        let report = translate_with(api, &llm, &KvStore::memory(), extra).await;
        assert!(report.is_ok(), "{api:?}: {:?}", report.err().map(|f| f.failure));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_url_outside_allowed_hosts_fails_the_config() {
    let toml = pipeline_toml(Api::OpenAi, "http://127.0.0.1:8000", "127.0.0.1:9000", "");
    let errors = lingo_config::parse(&toml, Path::new("test.toml"), &Env::from_pairs([])).unwrap_err().to_string();
    assert!(errors.contains("stage[1].config.url") && errors.contains("not in this stage's allowed_hosts"), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_followed_only_when_allowed_and_only_to_allowed_hosts() {
    let moved = stand_in(Behaviour::default()).await;
    let redirect = Fault::Redirect(format!("{}/v1/chat/completions", moved.url()));
    let llm = stand_in_with(DevLlmOptions { fault: redirect, fail_rate: 1.0, ..quick() }).await;
    let services = services(KvStore::memory());
    let stage = |allowed: &str, redirects: u32| {
        pipeline_toml(Api::OpenAi, &llm.url(), allowed, "")
            .replace("timeout       = \"3s\"", &format!("max_redirects = {redirects}"))
    };
    // No redirect is followed unless the stage allows it.
    let not_followed = load(&stage(&llm.url(), 0), &services).await.unwrap();
    let message = fatal(run(&not_followed, "good game everyone").await);
    assert!(message.contains("answered 307"), "{message}");
    // Followed, but the new host is not allowed.
    let refused = load(&stage(&llm.url(), 1), &services).await.unwrap();
    let message = fatal(run(&refused, "good game everyone").await);
    assert!(message.contains("not in allowed_hosts"), "{message}");
    // Followed to an allowed host.
    let both = format!("{}\", \"{}", llm.url(), moved.url());
    let followed = load(&stage(&both, 1), &services).await.unwrap();
    let report = run(&followed, "good game everyone").await.unwrap();
    assert_eq!(report.translations["de"], translate("good game everyone", "de"));
    assert_eq!(moved.requests("/v1/chat/completions"), 1);
}
