//! Bounded fuzzing of job decoding, as producers and the gateway feed it:
//! whatever the bytes, decoding never panics, and a job it accepts keeps
//! every limit. Cases per property: `PROPTEST_CASES` (256 by default; the
//! longer run in docs/RELIABILITY.md used 20,000).

use lingo_config::JobLimits;
use lingo_engine::TranslationJob;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn limits() -> JobLimits {
    JobLimits { max_text_bytes: 64, max_targets: 4, ..JobLimits::default() }
}

/// What a good job must be, whatever it came from.
fn holds_the_limits(job: &TranslationJob, limits: &JobLimits) {
    assert!(!job.text.trim().is_empty() && job.text.len() <= limits.max_text_bytes);
    assert!(!job.target_languages.is_empty() && job.target_languages.len() <= limits.max_targets);
    for code in &job.target_languages {
        assert!(code.len() <= 20 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{code}");
    }
}

/// JSON values shaped like job data, mostly: the keys a job has, values of every kind.
fn job_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,80}".prop_map(Value::String),
        prop::sample::select(vec!["en", "pt-BR", "zh-Hans", "EN", "e", "english", "", "ko_kr"])
            .prop_map(|s| Value::String(s.into())),
    ];
    let value = leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let key = prop::sample::select(vec!["text", "targetLanguages", "sourceLanguage", "other"]);
    prop::collection::vec((key, value), 0..4).prop_map(|pairs| {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(k.to_string(), v);
        }
        Value::Object(map)
    })
}

proptest! {
    #[test]
    fn any_text_decodes_or_says_why(data in "\\PC{0,200}") {
        if let Ok(job) = TranslationJob::parse(&data, &limits()) {
            holds_the_limits(&job, &limits());
        }
    }

    #[test]
    fn any_job_shaped_value_decodes_or_says_why(value in job_like()) {
        match TranslationJob::from_value(&value, &limits()) {
            Ok(job) => holds_the_limits(&job, &limits()),
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
    }

    /// The gateway's path: any body bytes, then the job check.
    #[test]
    fn any_gateway_body_decodes_or_says_why(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(value) = serde_json::from_slice::<Value>(&body)
            && let Ok(job) = TranslationJob::from_value(&value, &limits())
        {
            holds_the_limits(&job, &limits());
        }
    }

    /// A good job written back as the gateway writes it decodes to itself.
    #[test]
    fn a_good_job_round_trips(text in "[a-zㅋ가-힣!?][a-zㅋ가-힣 !?]{0,19}", targets in prop::collection::vec(prop::sample::select(vec!["en", "ja", "ko", "pt-BR"]), 1..4)) {
        let data = serde_json::json!({ "text": text, "targetLanguages": targets }).to_string();
        let job = TranslationJob::parse(&data, &limits()).unwrap();
        let again = serde_json::json!({ "text": job.text, "targetLanguages": job.target_languages, "sourceLanguage": job.source_language });
        prop_assert_eq!(TranslationJob::parse(&again.to_string(), &limits()).unwrap(), job);
    }
}
