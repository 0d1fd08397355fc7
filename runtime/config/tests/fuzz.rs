//! Bounded fuzzing of config parsing: whatever the text, parsing never
//! panics, and every error names the file and says something. Cases per
//! property: `PROPTEST_CASES` (256 by default).

use std::path::Path;

use lingo_config::Env;
use proptest::prelude::*;

const GOOD: &str = r#"
[worker]
redis_url = "redis://127.0.0.1:6379"
concurrency = 8

[limits]
max_targets = 4
max_log_lines = 50

[[stage]]
name = "cache"
plugin = "cache"

[[stage]]
name = "vllm"
plugin = "vllm"
timeout = "5s"
max_redirects = 1
allowed_hosts = ["http://127.0.0.1:8000"]
config = { url = "http://127.0.0.1:8000", model = "m" }
"#;

fn parse(text: &str) -> Result<lingo_config::Pipeline, lingo_config::ConfigErrors> {
    lingo_config::parse(text, Path::new("fuzz.toml"), &Env::from_pairs([]))
}

fn every_error_names_the_file(text: &str) {
    if let Err(errors) = parse(text) {
        for error in &errors.0 {
            let line = error.to_string();
            assert!(line.starts_with("fuzz.toml"), "{line}");
        }
    }
}

proptest! {
    #[test]
    fn any_text_parses_or_says_why(text in "\\PC{0,300}") {
        every_error_names_the_file(&text);
    }

    /// The good file with one line dropped, doubled or given a random value.
    #[test]
    fn a_mangled_good_file_parses_or_says_why(line in 0..24usize, how in 0..3u8, value in "[a-zA-Z0-9\"{}\\[\\]=.,:$ -]{0,20}") {
        let mut lines: Vec<String> = GOOD.lines().map(str::to_string).collect();
        let at = line % lines.len();
        match how {
            0 => { lines.remove(at); }
            1 => { let copy = lines[at].clone(); lines.insert(at, copy); }
            _ => {
                if let Some((key, _)) = lines[at].split_once('=') {
                    lines[at] = format!("{key}= {value}");
                }
            }
        }
        every_error_names_the_file(&lines.join("\n"));
    }
}

#[test]
fn the_good_file_is_good() {
    parse(GOOD).unwrap_or_else(|e| panic!("{e}"));
}
