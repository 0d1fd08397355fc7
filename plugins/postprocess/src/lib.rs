//! `postprocess`: tidies a translation before it reaches the chat.
//!
//! In the `post` phase it trims and collapses whitespace, strips quotes an LLM
//! wrapped around its answer, puts back verbatim what LLMs tend to mangle
//! (emoji, `@mentions`, `#tags`, URLs, numbers present in the source) and caps
//! the length. In the `pre` phase it only tidies the source's whitespace.

mod text;

use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage};
use serde::Deserialize;

pub use text::{Options, tidy, tidy_whitespace};

/// The stage's `config` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Longest translation kept, in characters; longer ones are cut with `…`.
    pub max_length: Option<usize>,
    /// Remove quotes wrapped around the whole translation but not the source.
    pub strip_wrapping_quotes: bool,
    /// Restore emoji, mentions, tags, URLs and numbers of the source.
    pub keep_tokens: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { max_length: None, strip_wrapping_quotes: true, keep_tokens: true }
    }
}

struct PostProcess;

impl Stage for PostProcess {
    type Config = Config;

    fn init(config: &Config) -> Result<(), String> {
        match config.max_length {
            Some(0) => Err("max_length must be at least 1".into()),
            _ => Ok(()),
        }
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        let (before, after) = match (request.phase, &request.translation) {
            (Phase::Post, Some(translation)) => {
                let options = Options {
                    max_length: config.max_length,
                    strip_wrapping_quotes: config.strip_wrapping_quotes,
                    keep_tokens: config.keep_tokens,
                };
                (translation.as_str(), tidy(&request.text, translation, &options))
            }
            (Phase::Pre, _) => (request.text.as_str(), tidy_whitespace(&request.text)),
            _ => return Ok(Outcome::Pass),
        };
        Ok(if after == before { Outcome::Pass } else { Outcome::Rewritten(after) })
    }
}

export_stage!(PostProcess);
