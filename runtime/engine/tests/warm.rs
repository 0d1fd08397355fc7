//! Warm instances: within one tenant and one stage an instance serves many
//! calls; it never serves another tenant, another stage or another loaded
//! pipeline, and it is dropped at the first sign of trouble. The misbehave
//! fixture's `count` act counts its instance's calls in a global.

use std::path::Path;
use std::sync::Arc;

use lingo_config::Env;
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{EngineOptions, Pipeline, Plugins, Services, StageEngine, TranslationJob};

const FIXTURE: &str = lingo_bundled::FIXTURE_MISBEHAVE;

fn services() -> Services {
    let cache = std::env::temp_dir().join("lingo-test-compile-cache");
    let options = EngineOptions {
        max_instances: 64,
        max_idle: 32,
        pool_slots: 16,
        cache_dir: Some(cache),
        ..EngineOptions::default()
    };
    Services::new(StageEngine::new(&options).unwrap(), Arc::new(HttpClient::default()), KvStore::memory())
}

async fn counter(tenant: &str, extra: &str, services: &Services) -> Pipeline {
    let toml = format!(
        "[[stage]]\nname = \"count\"\nplugin = \"{FIXTURE}\"\non_error = \"fail\"\ntimeout = \"300ms\"\nmemory = \"32MiB\"\n{extra}\nconfig = {{ act = \"count\" }}\n"
    );
    let config =
        lingo_config::parse(&toml, Path::new("test.toml"), &Env::from_pairs([])).unwrap_or_else(|e| panic!("{e}"));
    Pipeline::load(&config, tenant, services, &Plugins::default()).await.unwrap_or_else(|e| panic!("{e}"))
}

/// What the counting stage answers for `text`, or its failure.
async fn count(pipeline: &Pipeline, text: &str) -> Result<u32, String> {
    let job = TranslationJob {
        text: text.into(),
        target_languages: vec!["en".into()],
        source_language: None,
        metadata: "{}".into(),
    };
    match pipeline.run("1", &job).await {
        Ok(report) => Ok(report.translations["en"].parse().unwrap()),
        Err(failed) => Err(failed.failure.message().to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_instance_serves_its_calls_and_no_other_tenants() {
    let services = services();
    let acme = counter("acme", "", &services).await;
    let globex = counter("globex", "", &services).await;
    for expected in 1..=5 {
        assert_eq!(count(&acme, "hi").await, Ok(expected), "acme's instance is warm across jobs");
    }
    assert_eq!(count(&globex, "hi").await, Ok(1), "globex's instance never continues acme's count");
    assert_eq!(count(&acme, "hi").await, Ok(6));
    // A reload loads a new pipeline: its instances start afresh, the old
    // generation's are never handed to it.
    let reloaded = counter("acme", "", &services).await;
    assert_eq!(count(&reloaded, "hi").await, Ok(1));
    assert_eq!(count(&acme, "hi").await, Ok(7), "jobs still on the old pipeline finish on it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_dropped_at_the_first_sign_of_trouble_and_the_next_call_succeeds() {
    let services = services();
    let stage = counter("acme", "", &services).await;
    for (trouble, cause) in
        [("panic", "panicked"), ("spin", "timed out"), ("alloc", "ran out of memory"), ("stderr", ""), ("grow", "")]
    {
        assert_eq!(count(&stage, "hi").await, Ok(1), "{trouble}: a new instance");
        assert_eq!(count(&stage, "hi").await, Ok(2), "{trouble}: warm");
        match count(&stage, trouble).await {
            Err(message) => assert!(message.contains(cause), "{trouble}: {message}"),
            // A line on stderr, or memory grown past the warm bound: the call
            // succeeds, and the instance is not kept.
            Ok(n) => assert_eq!(n, 3, "{trouble}"),
        }
    }
    assert_eq!(count(&stage, "hi").await, Ok(1), "after the last discard, a new instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_reuse_and_fresh_instances_bound_what_an_instance_serves() {
    let services = services();
    let three = counter("acme", "max_reuse = 3", &services).await;
    let mut counts = vec![];
    for _ in 0..7 {
        counts.push(count(&three, "hi").await.unwrap());
    }
    assert_eq!(counts, [1, 2, 3, 1, 2, 3, 1]);
    let fresh = counter("acme", "instances = \"fresh\"", &services).await;
    for _ in 0..3 {
        assert_eq!(count(&fresh, "hi").await, Ok(1));
    }
}

/// One `[[stage]]` in several phases: it learns each phase from its request,
/// and one set of warm instances serves them all (the count runs on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stage_in_every_phase_is_one_stage() {
    let services = services();
    let toml = format!(
        "[[stage]]\nname = \"mark\"\nplugin = \"{FIXTURE}\"\nphase = [\"post\", \"pre\", \"translate\"]\nconfig = {{ act = \"mark\" }}\n"
    );
    let config = lingo_config::parse(&toml, Path::new("test.toml"), &Env::from_pairs([])).unwrap();
    assert_eq!(
        config.stages[0].phases,
        [lingo_config::Phase::Pre, lingo_config::Phase::Translate, lingo_config::Phase::Post]
    );
    let pipeline = Pipeline::load(&config, "acme", &services, &Plugins::default()).await.unwrap();
    let job = TranslationJob {
        text: "hi".into(),
        target_languages: vec!["en".into()],
        source_language: None,
        metadata: "{}".into(),
    };
    let report = pipeline.run("1", &job).await.unwrap_or_else(|failed| panic!("{}", failed.failure.message()));
    assert_eq!(report.translations["en"], "hi <pre 1> <translate 2> <post 3>");
    assert_eq!(report.providers["en"], "mark");
    let phases: Vec<_> = report.steps.iter().map(|step| (step.stage.as_str(), step.phase)).collect();
    assert_eq!(
        phases,
        [
            ("mark", lingo_config::Phase::Pre),
            ("mark", lingo_config::Phase::Translate),
            ("mark", lingo_config::Phase::Post)
        ]
    );
}
