//! The bundled `glossary` stage around an LLM that gets names wrong: the
//! stand-in (`lingo-devllm`, not a model) "translates" `Faker` to `Fakir`
//! and `T1` to `Tea One`, as models do. With the glossary in `pre` and
//! `post` the model never sees the terms, a cached translation is shared by
//! every channel, and a channel's own rendering comes from the job's
//! metadata.

mod common;

use std::time::Duration;

use common::{job as run, load, services};
use lingo_devllm::{Behaviour, DevLlm, DevLlmOptions};
use lingo_engine::pipeline::Decision;

const LINE: &str = "Faker 오늘 미쳤다 T1 가자";

async fn mangling_stand_in() -> DevLlm {
    mangling_stand_in_with(Duration::ZERO).await
}

async fn mangling_stand_in_with(latency: Duration) -> DevLlm {
    let mistranslate = vec![("Faker".into(), "Fakir".into()), ("T1".into(), "Tea One".into())];
    let options = DevLlmOptions {
        latency,
        behaviour: Behaviour { mistranslate, ..Behaviour::default() },
        ..DevLlmOptions::default()
    };
    DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.unwrap()
}

/// `glossary` (when given its config) → `cache` → `openai` at the stand-in.
fn pipeline_toml(url: &str, glossary: Option<&str>) -> String {
    let glossary = glossary.map_or(String::new(), |config| {
        format!(
            "[[stage]]\nname = \"glossary\"\nplugin = \"glossary\"\nphase = [\"pre\", \"post\"]\nmetadata = [\"channel\"]\n{config}\n"
        )
    });
    format!(
        r#"{glossary}
[[stage]]
name   = "cache"
plugin = "cache"

[[stage]]
name          = "llm"
plugin        = "openai"
allowed_hosts = ["{url}"]
config        = {{ url = "{url}", model = "stand-in" }}
"#
    )
}

const TERMS: &str = r#"
[stage.config]
keep = ["Faker"]
terms = { T1 = { ko = "티원" } }
channels = { lck_jp = { terms = { Faker = { ja = "フェイカー" } } } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_glossary_the_model_mangles_the_names() {
    let llm = mangling_stand_in().await;
    let pipeline = load(&pipeline_toml(&llm.url(), None), &services()).await;
    let report = run(&pipeline, serde_json::json!({"text": LINE, "targetLanguages": ["en"]})).await;
    assert_eq!(report.translations["en"], "[en] Fakir 오늘 미쳤다 Tea One 가자");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_glossary_keeps_terms_out_of_the_model_and_renders_them_per_language_and_channel() {
    let llm = mangling_stand_in().await;
    let pipeline = load(&pipeline_toml(&llm.url(), Some(TERMS)), &services()).await;
    let job = |targets: &[&str], channel: Option<&str>| {
        let mut data = serde_json::json!({"text": LINE, "targetLanguages": targets});
        if let Some(channel) = channel {
            data["channel"] = channel.into();
        }
        data
    };

    let report = run(&pipeline, job(&["en", "ko", "ja"], None)).await;
    assert_eq!(report.translations["en"], "[en] Faker 오늘 미쳤다 T1 가자");
    assert_eq!(report.translations["ko"], "[ko] Faker 오늘 미쳤다 티원 가자");
    assert_eq!(report.translations["ja"], "[ja] Faker 오늘 미쳤다 T1 가자");
    assert_eq!(report.providers["en"], "llm");
    assert_eq!(llm.requests("/v1/chat/completions"), 3);

    // Another channel, the same line: the cached translations (kept with
    // their markers) serve it, and the channel's own rendering applies.
    let report = run(&pipeline, job(&["en", "ja"], Some("lck_jp"))).await;
    assert_eq!(report.translations["ja"], "[ja] フェイカー 오늘 미쳤다 T1 가자");
    assert_eq!(report.translations["en"], "[en] Faker 오늘 미쳤다 T1 가자");
    assert_eq!(report.providers["ja"], "cache");
    assert_eq!(llm.requests("/v1/chat/completions"), 3, "no new request to the model");

    // The term table is written once: pre and post are one stage.
    let glossary_steps: Vec<_> = report.steps.iter().filter(|s| s.stage == "glossary").map(|s| s.phase).collect();
    assert_eq!(glossary_steps.len(), 3, "one pre call, one post call per target: {glossary_steps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_without_terms_passes_the_glossary_untouched() {
    let llm = mangling_stand_in().await;
    let pipeline = load(&pipeline_toml(&llm.url(), Some(TERMS)), &services()).await;
    let report = run(&pipeline, serde_json::json!({"text": "fakers in T10", "targetLanguages": ["en"]})).await;
    // The stand-in mangles `T1` even inside `T10`; the glossary, matching
    // whole words, had nothing to protect.
    assert_eq!(report.translations["en"], "[en] fakers in Tea One0");
    let glossary: Vec<_> = report.steps.iter().filter(|s| s.stage == "glossary").map(|s| &s.decision).collect();
    assert_eq!(glossary, [&Decision::Passed, &Decision::Passed]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_that_differ_only_in_fields_no_stage_sees_are_translated_once() {
    let llm = mangling_stand_in_with(Duration::from_millis(300)).await;
    let pipeline = load(&pipeline_toml(&llm.url(), Some(TERMS)), &services()).await;
    let job = |user: &str, channel: &str| serde_json::json!({"text": LINE, "targetLanguages": ["en"], "channel": channel, "user": user});
    // Same channel, another user: one unit in flight, one model call.
    let (a, b) = tokio::join!(run(&pipeline, job("u-1", "lck")), run(&pipeline, job("u-2", "lck")));
    assert_eq!(a.translations, b.translations);
    assert_eq!(pipeline.coalesced_units(), 1);
    assert_eq!(llm.requests("/v1/chat/completions"), 1);
    // Another channel is another unit (the glossary sees `channel`); the
    // cache answers it, and its rendering is its own.
    let c = run(&pipeline, job("u-3", "lck_jp")).await;
    assert_eq!(c.providers["en"], "cache");
    assert_eq!(pipeline.coalesced_units(), 1);
}
