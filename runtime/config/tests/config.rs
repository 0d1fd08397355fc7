//! Config validation, driven by data: every `invalid/<case>.toml` must fail
//! with exactly the message in `invalid/<case>.expected`. Set
//! `LINGO_BLESS=1` to write the expected files after checking them by eye.

use std::path::Path;

use lingo_config::{Env, OnError, Phase, PluginRef, Protocol, parse};

fn env() -> Env {
    Env::from_pairs([])
}

#[test]
fn every_invalid_case_fails_with_its_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut cases: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    cases.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    cases.sort();
    assert!(cases.len() >= 10, "expected at least 10 invalid cases, found {}", cases.len());
    let bless = std::env::var_os("LINGO_BLESS").is_some();
    let mut mismatches = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap();
        let text = std::fs::read_to_string(case).unwrap();
        let actual = match parse(&text, Path::new(name), &env()) {
            Ok(_) => format!("<accepted: {} should have been refused>", name.to_string_lossy()),
            Err(errors) => errors.to_string(),
        };
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, format!("{actual}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected.trim_end() != actual {
            mismatches.push(format!(
                "{}:\n--- expected\n{}\n--- actual\n{actual}",
                name.to_string_lossy(),
                expected.trim_end()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

#[test]
fn the_example_pipelines_are_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["pipeline.toml", "cache-only.toml", "ollama.toml"] {
        let path = examples.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(errors) = parse(&text, &path, &env()) {
            panic!("{name}: {errors}");
        }
    }
}

#[test]
fn defaults_and_seed_variables() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pipeline.toml")).unwrap();
    let file = Path::new("pipeline.toml");

    let plain = parse(&text, file, &env()).unwrap();
    assert_eq!(plain.worker.protocol, Protocol::Bull);
    assert_eq!(plain.worker.prefix, "bull");
    assert_eq!(plain.worker.queue, "translation-jobs");
    assert_eq!(plain.worker.concurrency, 4);
    assert_eq!(plain.worker.redis_url, "redis://127.0.0.1:6379");
    assert_eq!(plain.worker.kv_url, plain.worker.redis_url);
    let names: Vec<&str> = plain.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["detect", "glossary", "cache", "vllm", "ollama", "tidy"]);
    assert_eq!(plain.stages[0].phases, [Phase::Pre, Phase::Translate]);
    assert_eq!(plain.stages[1].phases, [Phase::Pre, Phase::Post]);
    assert_eq!(plain.stages[2].plugin, PluginRef::Bundled("cache".into()));
    assert_eq!(plain.stages[2].on_error, OnError::Next);
    assert_eq!(plain.stages[5].phases, [Phase::Post]);
    assert_eq!(plain.stages[3].config["url"], "http://127.0.0.1:8000");

    let seed = Env::from_pairs([
        ("WORKER_CONCURRENCY", "32"),
        ("USE_OLLAMA", "false"),
        ("REDIS_URL", "redis://10.0.0.2:6380"),
        ("VLLM_URL", "http://10.0.0.5:9000"),
    ]);
    let tuned = parse(&text, file, &seed).unwrap();
    assert_eq!(tuned.worker.concurrency, 32);
    assert_eq!(tuned.worker.redis_url, "redis://10.0.0.2:6380");
    assert!(!tuned.stages[4].enabled, "USE_OLLAMA=false disables the ollama stage");
    let vllm = &tuned.stages[3];
    assert_eq!(vllm.config["url"], "http://10.0.0.5:9000");
    assert!(vllm.allowed_hosts[0].allows("http", "10.0.0.5", 9000), "allowed_hosts follows VLLM_URL");
}

#[test]
fn worker_concurrency_overrides_the_file() {
    let text = "[worker]\nconcurrency = 8\n[[stage]]\nname = \"c\"\nplugin = \"cache\"\n";
    let pipeline = parse(text, Path::new("p.toml"), &Env::from_pairs([("WORKER_CONCURRENCY", "100")])).unwrap();
    assert_eq!(pipeline.worker.concurrency, 100);
    let bad = parse(text, Path::new("p.toml"), &Env::from_pairs([("WORKER_CONCURRENCY", "many")])).unwrap_err();
    assert!(bad.to_string().contains("WORKER_CONCURRENCY: expected a whole number"), "{bad}");
}

#[test]
fn dotenv_file_beside_the_config_is_read() {
    let dir = tempfile_dir();
    std::fs::write(dir.join(".env"), "LINGO_TEST_QUEUE_FROM_DOTENV=chat-lines\n").unwrap();
    std::fs::write(
        dir.join("pipeline.toml"),
        "[worker]\nqueue = \"${LINGO_TEST_QUEUE_FROM_DOTENV:-x}\"\n[[stage]]\nname = \"c\"\nplugin = \"cache\"\n",
    )
    .unwrap();
    let pipeline = lingo_config::load(&dir.join("pipeline.toml")).unwrap();
    assert_eq!(pipeline.worker.queue, "chat-lines");
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lingo-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// docs/CONFIG.md lists every numeric limit with its default.
#[test]
fn every_limit_is_documented_with_its_default() {
    let doc =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md")).unwrap();
    for knob in lingo_config::limits::KNOBS {
        let default = match knob.kind {
            lingo_config::limits::Kind::Size => lingo_config::limits::size_text(knob.default),
            lingo_config::limits::Kind::Count => knob.default.to_string(),
        };
        let row = format!("| `{}` | `{default}` |", knob.key);
        assert!(doc.contains(&row), "docs/CONFIG.md lacks the row `{row}`");
    }
}
