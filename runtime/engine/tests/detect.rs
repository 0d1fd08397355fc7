//! The bundled `detect` stage in front of an LLM: lines that never needed
//! one are answered without it, and say why. The LLM is the stand-in
//! (`lingo-devllm`, not a model), which counts the requests it gets.

mod common;

use std::time::Duration;

use common::{job as run, load, services};
use lingo_devllm::{DevLlm, DevLlmOptions};
use lingo_engine::Pipeline;
use serde_json::json;

async fn stand_in() -> DevLlm {
    let options = DevLlmOptions { latency: Duration::ZERO, ..DevLlmOptions::default() };
    DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.unwrap()
}

/// `detect` (pre and translate) → `openai` at the stand-in.
async fn pipeline(llm: &DevLlm, detect_config: &str) -> Pipeline {
    let url = llm.url();
    let toml = format!(
        r#"
[[stage]]
name   = "detect"
plugin = "detect"
phase  = ["pre", "translate"]
config = {{ {detect_config} }}

[[stage]]
name          = "llm"
plugin        = "openai"
allowed_hosts = ["{url}"]
config        = {{ url = "{url}", model = "stand-in" }}
"#
    );
    load(&toml, &services()).await
}

const LLM: &str = "/v1/chat/completions";

/// A platform whose chat is Korean, English and Japanese.
const KO_EN_JA: &str = r#"languages = ["ko", "en", "ja"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detected_language_is_reported_and_its_own_target_costs_no_llm_call() {
    let llm = stand_in().await;
    let pipeline = pipeline(&llm, KO_EN_JA).await;
    let report = run(&pipeline, json!({"text": "오늘 방송 진짜 재밌다", "targetLanguages": ["ko", "en"]})).await;
    assert_eq!(report.source_language.as_deref(), Some("ko"));
    assert_eq!(report.translations["ko"], "오늘 방송 진짜 재밌다");
    assert_eq!(report.providers["ko"], "detect:same-language");
    assert_eq!(report.providers["en"], "llm");
    assert_eq!(llm.requests(LLM), 1, "only English went to the model");
    // The job's return value reports it.
    assert_eq!(report.return_value()["sourceLanguage"], "ko");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_line_with_nothing_to_translate_is_kept_with_its_reason() {
    let llm = stand_in().await;
    let pipeline = pipeline(&llm, KO_EN_JA).await;
    let cases = [
        ("ㅋㅋㅋㅋㅋ", "laughter"),
        ("LOLLL wwww", "laughter"),
        ("🔥🔥🔥 !!!", "no-text"),
        ("1:0 GG 3.5%", "laughter"),
        ("@mina_99 https://clips.tv/abc #speedrun", "no-text"),
        ("KEKW KEKW", "emote"),
    ];
    for (text, why) in cases {
        let report = run(&pipeline, json!({"text": text, "targetLanguages": ["en", "ja"]})).await;
        for target in ["en", "ja"] {
            assert_eq!(report.translations[target], text, "{text}");
            assert_eq!(report.providers[target], format!("detect:{why}"), "{text}");
        }
    }
    assert_eq!(llm.requests(LLM), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_below_the_confidence_threshold_still_goes_to_the_llm() {
    let llm = stand_in().await;
    // Every language the detector knows: a short Latin line could be many.
    let pipeline = pipeline(&llm, "languages = [], min_confidence = 0.5").await;
    let report = run(&pipeline, json!({"text": "ok nice one", "targetLanguages": ["en"]})).await;
    assert_eq!(report.source_language, None, "unsure: the language stays unknown");
    assert_eq!(report.providers["en"], "llm");
    assert_eq!(llm.requests(LLM), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_producers_language_is_taken_as_given() {
    let llm = stand_in().await;
    let pipeline = pipeline(&llm, KO_EN_JA).await;
    // Korean text the producer calls Japanese: its word stands, so `ja` is kept.
    let report =
        run(&pipeline, json!({"text": "오늘 방송", "sourceLanguage": "ja", "targetLanguages": ["ja", "ko"]})).await;
    assert_eq!(report.source_language.as_deref(), Some("ja"));
    assert_eq!(report.providers["ja"], "detect:same-language");
    assert_eq!(report.providers["ko"], "llm");
}
