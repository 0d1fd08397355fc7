//! `{{name}}`: a lingo stage ({{phase}} phase).
//!
//! It replaces the terms of its `config.terms` table: in the `pre` phase in
//! the chat line, in the `post` phase in the translation, and in the
//! `translate` phase it answers a line that is exactly one term. Change
//! `replace_terms` and `process` to make it yours; `cargo test` runs the
//! tests below natively.

use std::collections::BTreeMap;

use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage};
use serde::Deserialize;

/// The stage's `config` table in `pipeline.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Each term and what it becomes.
    #[serde(default)]
    pub terms: BTreeMap<String, String>,
}

struct Terms;

impl Stage for Terms {
    type Config = Config;

    fn init(config: &Config) -> Result<(), String> {
        match config.terms.keys().find(|term| term.trim().is_empty()) {
            Some(_) => Err("terms: a term must not be empty".into()),
            None => Ok(()),
        }
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        let outcome = match (request.phase, &request.translation) {
            (Phase::Translate, _) => config.terms.get(request.text.trim()).cloned().map(Outcome::Translated),
            (Phase::Pre, _) => replace_terms(&request.text, &config.terms).map(Outcome::Rewritten),
            (Phase::Post, Some(translation)) => replace_terms(translation, &config.terms).map(Outcome::Rewritten),
            (Phase::Post, None) => None,
        };
        Ok(outcome.unwrap_or(Outcome::Pass))
    }
}

export_stage!(Terms);

/// `text` with every term replaced, or `None` when it has none.
pub fn replace_terms(text: &str, terms: &BTreeMap<String, String>) -> Option<String> {
    let replaced = terms.iter().fold(text.to_string(), |text, (term, with)| text.replace(term.as_str(), with));
    (replaced != text).then_some(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> BTreeMap<String, String> {
        BTreeMap::from([("gg".to_string(), "good game".to_string())])
    }

    #[test]
    fn replaces_every_term() {
        assert_eq!(replace_terms("gg wp gg", &terms()).as_deref(), Some("good game wp good game"));
    }

    #[test]
    fn leaves_a_line_without_terms_alone() {
        assert_eq!(replace_terms("hello", &terms()), None);
    }
}
