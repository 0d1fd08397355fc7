//! The hosted config (`lingo.toml` with `[[tenant]]` tables): the example is
//! valid, tenants are bounded by their limits, and every mistake is reported
//! with its file and TOML path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lingo_config::load_hosted;

/// A temp dir with `files` written into it.
fn dir_with(files: &[(&str, &str)]) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lingo-hosted-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

const VLLM: &str = r#"
[[stage]]
name = "vllm"
plugin = "vllm"
timeout = "20s"
memory = "128MiB"
allowed_hosts = ["*", "http://127.0.0.1:8000"]
config = { url = "http://127.0.0.1:8000", model = "m" }
"#;

#[test]
fn the_example_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hosted/lingo.toml");
    let hosted = load_hosted(&example).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = hosted.tenants.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["streamhub", "indiecast"]);
    assert!(hosted.requires_api_keys);
    assert_eq!(hosted.worker.concurrency, 64);
}

#[test]
fn a_tenant_is_bounded_by_its_limits() {
    let dir = dir_with(&[
        (
            "lingo.toml",
            r#"
[worker]
concurrency = 16
[[tenant]]
id = "acme"
pipeline = "acme.toml"
max_slots = 4
weight = 3
api_keys = ["acme-key-123456"]
jobs_per_second = 50
limits = { memory = "32MiB", stage_timeout = "2s", job_timeout = "5s", allowed_hosts = ["127.0.0.1:8000"] }
"#,
        ),
        (
            "acme.toml",
            &format!("[worker]\nqueue = \"ignored\"\nconcurrency = 99\n[limits]\njob_timeout = \"9s\"\n{VLLM}"),
        ),
    ]);
    let hosted = load_hosted(&dir.join("lingo.toml")).unwrap_or_else(|e| panic!("{e}"));
    let acme = &hosted.tenants[0];
    assert_eq!((acme.max_slots, acme.weight, acme.jobs_per_second), (4, 3, Some(50.0)));
    let worker = &acme.pipeline.worker;
    assert_eq!(
        (worker.queue.as_str(), worker.tenant.as_str(), worker.concurrency),
        ("translation-jobs-acme", "acme", 4)
    );
    let stage = &acme.pipeline.stages[0];
    assert_eq!(stage.memory, 32 << 20, "the lower of the stage's 128 MiB and the tenant's 32 MiB");
    assert_eq!(stage.timeout, Duration::from_secs(2));
    let hosts: Vec<String> = stage.allowed_hosts.iter().map(ToString::to_string).collect();
    assert_eq!(hosts, ["127.0.0.1:8000", "http://127.0.0.1:8000"], "`*` narrowed to the ceiling");
    assert_eq!(acme.pipeline.limits.job_timeout, Some(Duration::from_secs(5)));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_plain_pipeline_is_one_tenant_with_every_slot() {
    let dir = dir_with(&[("pipeline.toml", &format!("[worker]\nconcurrency = 12\nqueue = \"q\"\n{VLLM}"))]);
    let hosted = load_hosted(&dir.join("pipeline.toml")).unwrap();
    assert!(!hosted.requires_api_keys);
    let only = &hosted.tenants[0];
    assert_eq!((only.id.as_str(), only.max_slots, only.pipeline.worker.queue.as_str()), ("default", 12, "q"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bull_pool_needs_more_slots_than_tenants() {
    let tenant = |id: &str| format!("[[tenant]]\nid = \"{id}\"\npipeline = \"p.toml\"\nmax_slots = 1\n");
    let config = format!("[worker]\nconcurrency = 2\n{}{}", tenant("a"), tenant("b"));
    let dir = dir_with(&[("lingo.toml", &config), ("p.toml", VLLM)]);
    let errors = load_hosted(&dir.join("lingo.toml")).unwrap_err().to_string();
    assert!(errors.contains("worker.concurrency: 2 slots are too few for 2 tenants"), "{errors}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_mistake_is_reported_with_its_path() {
    let dir = dir_with(&[
        (
            "lingo.toml",
            r#"
[worker]
concurrency = 8
queue = "shared"
[[tenant]]
id = "a"
pipeline = "a.toml"
queue = "q"
max_slots = 20
api_keys = ["same-key-123"]
[[tenant]]
id = "a"
pipeline = "a.toml"
queue = "q"
api_keys = ["same-key-123", "short"]
wieght = 2
[[tenant]]
id = "broken"
pipeline = "broken.toml"
[[tenant]]
id = "lost"
pipeline = "missing.toml"
"#,
        ),
        ("a.toml", VLLM),
        ("broken.toml", "[[stage]]\nname = \"x\"\nplugin = \"cache\"\nphase = \"sideways\"\n"),
    ]);
    let errors = load_hosted(&dir.join("lingo.toml")).unwrap_err().to_string();
    for expected in [
        "lingo.toml: worker.queue: unknown key `queue`",
        "lingo.toml: tenant[1].wieght: unknown key `wieght`\n  hint: did you mean `weight`?",
        "lingo.toml: tenant[1].api_keys[1]: an API key must be at least 8 characters",
        "lingo.toml: tenant[1].id: `a` is already a tenant's id",
        "lingo.toml: tenant[1].queue: tenant `a` already takes from queue `q`",
        "lingo.toml: tenant[1].api_keys: an API key of tenant `a` is also a key of tenant `a`",
        "lingo.toml: tenant[0].max_slots: 20 is more than the 8 slots of the pool (`worker.concurrency`)",
        "lingo.toml: tenant[2].pipeline: tenant `broken`: its pipeline `broken.toml` is not valid",
        "broken.toml: stage[0].phase: expected `pre`, `translate` or `post`, found `sideways`",
        "missing.toml: cannot read the file",
    ] {
        assert!(errors.contains(expected), "missing `{expected}` in:\n{errors}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Before: `max_targets = 256` in a tenant's own file fanned each of its
/// jobs out to 256 units, whatever the operator wanted.
#[test]
fn a_tenants_own_file_cannot_raise_its_limits_past_the_operators() {
    let dir = dir_with(&[
        (
            "lingo.toml",
            r#"
[worker]
concurrency = 16
[[tenant]]
id = "evil"
pipeline = "evil.toml"
max_slots = 4
[[tenant]]
id = "trusted"
pipeline = "evil.toml"
queue = "trusted"
max_slots = 4
limits = { max_targets = 64, max_log_lines = 10 }
"#,
        ),
        (
            "evil.toml",
            &format!(
                "[limits]\nmax_targets = 256\nmax_text_bytes = \"64KiB\"\nmax_log_lines = 100000\nmax_kv_keys = 5\n{VLLM}"
            ),
        ),
    ]);
    let hosted = load_hosted(&dir.join("lingo.toml")).unwrap_or_else(|e| panic!("{e}"));
    let evil = &hosted.tenants[0].pipeline.limits;
    assert_eq!(evil.max_targets, 16, "capped at the default: the operator allowed no more");
    assert_eq!(evil.max_text_bytes, 4096);
    assert_eq!(evil.max_log_lines, 100);
    assert_eq!(evil.max_kv_keys, 5, "a tenant may lower its own limits");
    let trusted = &hosted.tenants[1].pipeline.limits;
    assert_eq!((trusted.max_targets, trusted.max_log_lines), (64, 10), "the operator's ceilings");
}

#[test]
fn a_limit_out_of_range_names_its_path() {
    let dir = dir_with(&[
        (
            "lingo.toml",
            "[[tenant]]\nid = \"a\"\npipeline = \"a.toml\"\nlimits = { max_targets = 0, max_log_bytes = \"1TiB\" }\n",
        ),
        ("a.toml", VLLM),
    ]);
    let errors = load_hosted(&dir.join("lingo.toml")).unwrap_err().to_string();
    assert!(
        errors.contains("tenant[0].limits.max_targets: expected a whole number from 1 to 256, found `0`"),
        "{errors}"
    );
    assert!(errors.contains("tenant[0].limits.max_log_bytes: expected a size from 1 byte to 16MiB"), "{errors}");
}
