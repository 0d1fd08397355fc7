//! The contract's additions in 0.2.0, and its first version still running:
//! a stage's `scratch` carries from a unit's earlier phases to its later
//! ones and no further, every phase sees the line as sent and the job's
//! metadata, and a stage built for `lingo:pipeline@0.1.0` loads and runs
//! with its `kv` and `log` imports answered.

mod common;

use std::path::Path;

use common::{load, services, try_job as run};
use lingo_config::Env;
use lingo_engine::{Pipeline, Plugins};

/// The `keep` act in every phase, behind a `pre` stage that rewrites the line.
fn keeper(pad: usize, limits: &str) -> String {
    let fixture = lingo_bundled::FIXTURE_MISBEHAVE;
    format!(
        r#"{limits}
[[stage]]
name   = "shout"
plugin = "{fixture}"
phase  = "pre"
config = {{ act = "mark" }}

[[stage]]
name   = "keep"
plugin = "{fixture}"
phase  = ["pre", "translate", "post"]
on_error = "fail"
metadata = ["channel", "viewer"]
config = {{ act = "keep", pad = {pad} }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_carries_from_pre_to_post_of_each_unit_and_no_further() {
    let services = services();
    let pipeline = load(&keeper(0, ""), &services).await;
    let data = r#"{"text":"hi","targetLanguages":["en","ja"],"channel":"lck","viewer":{"id":7},"user":"u-81"}"#;
    let report = run(&pipeline, data).await.unwrap_or_else(|f| panic!("{}", f.failure.message()));
    // Each unit sees what pre kept, then only what its own translate call
    // kept; and of the metadata, only the fields the stage lists.
    let meta = r#"{"channel":"lck","viewer":{"id":7}}"#;
    assert_eq!(report.translations["en"], format!("hi <pre 1> | pre(hi <pre 1>) translate(en) post | hi | {meta}"));
    assert_eq!(report.translations["ja"], format!("hi <pre 1> | pre(hi <pre 1>) translate(ja) post | hi | {meta}"));
    // The next job starts with nothing kept, and no metadata.
    let report = run(&pipeline, r#"{"text":"bye","targetLanguages":["en"]}"#).await.unwrap();
    let shown = &report.translations["en"];
    assert!(shown.contains(" | pre(bye <pre ") && shown.ends_with(">) translate(en) post | bye | {}"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_past_its_limit_is_refused_by_name() {
    let services = services();
    let pipeline = load(&keeper(100, "[limits]\nmax_scratch_bytes = 64"), &services).await;
    let failed = run(&pipeline, r#"{"text":"hi","targetLanguages":["en"]}"#).await.unwrap_err();
    let message = failed.failure.message();
    assert!(message.contains("stage `keep`") && message.contains("(limits.max_scratch_bytes)"), "{message}");
    assert!(message.contains("over the scratch limit of 64"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_built_for_the_first_contract_still_runs() {
    let services = services();
    let toml = format!(
        "[[stage]]\nname = \"old\"\nplugin = \"{}\"\non_error = \"fail\"\n",
        lingo_bundled::FIXTURE_CONTRACT_0_1
    );
    let pipeline = load(&toml, &services).await;
    for call in 1..=2 {
        let report = run(&pipeline, r#"{"text":"hi","targetLanguages":["en"],"channel":"x"}"#).await.unwrap();
        // The count went through kv, which 0.1.0 reaches through the current host.
        assert_eq!(report.translations["en"], format!("(en by 0.1.0, call {call}) hi"));
        assert_eq!(report.providers["en"], "old");
    }
    // Its config check runs too.
    let refused = format!("{toml}config = {{ refuse = true }}\n");
    let config = lingo_config::parse(&refused, Path::new("test.toml"), &Env::from_pairs([])).unwrap();
    let errors = Pipeline::load(&config, "acme", &services, &Plugins::default()).await.err().unwrap().to_string();
    assert!(errors.contains("refused by a 0.1.0 stage"), "{errors}");
}
