//! `glossary`: terms the LLM must not touch. One stage in two phases
//! (`phase = ["pre", "post"]`):
//!
//! - in `pre` it finds each term in the line and puts a marker (`⟦0⟧`,
//!   `⟦1⟧`, ...) in its place, keeping in `scratch` which term each marker
//!   stands for, so the model never sees the term and cannot mangle it;
//! - in `post` it puts back, for each marker in the translation, the term's
//!   rendering in the target language, or the term as the line wrote it.
//!
//! `keep` lists terms kept as written in every language (names, teams,
//! emotes); `terms` gives a term its rendering per language. A `channels`
//! table adds terms for the jobs whose metadata names that channel
//! (`channel_field`, default `channel`). Terms match whole words at their
//! ASCII edges (`T1` is not found in `T10`, `Faker` is in `Faker가`), and
//! ignore ASCII case unless `ignore_case = false`; the longest term wins.

mod markers;

use std::collections::BTreeMap;

use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage, log, scratch};
use serde::Deserialize;

pub use markers::{Found, find_terms, restore};

/// The stage's `config` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Terms kept as written, in every language.
    #[serde(default)]
    pub keep: Vec<String>,
    /// Terms with a rendering per language code (`ko`, `ja`); a language
    /// without one keeps the term as written.
    #[serde(default)]
    pub terms: Renderings,
    /// More terms for one channel, by the channel's name.
    #[serde(default)]
    pub channels: BTreeMap<String, Terms>,
    /// The job data field that names the channel.
    #[serde(default = "default_channel_field")]
    pub channel_field: String,
    /// Whether `faker` matches the term `Faker`.
    #[serde(default = "yes")]
    pub ignore_case: bool,
}

/// A channel's own terms, added to the stage's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    #[serde(default)]
    pub keep: Vec<String>,
    #[serde(default)]
    pub terms: Renderings,
}

fn default_channel_field() -> String {
    "channel".into()
}

fn yes() -> bool {
    true
}

impl Config {
    /// The channel table `request`'s metadata names, if any.
    fn channel(&self, request: &Request) -> Option<&Terms> {
        request.meta_str(&self.channel_field).and_then(|name| self.channels.get(&name))
    }

    /// Every term that applies in `channel`: the stage's and the channel's.
    fn terms_for<'a>(&'a self, channel: Option<&'a Terms>) -> Vec<&'a str> {
        let own = self.keep.iter().chain(self.terms.keys());
        let channel = channel.into_iter().flat_map(|c| c.keep.iter().chain(c.terms.keys()));
        own.chain(channel).map(String::as_str).collect()
    }

    /// The rendering of `term` in `language` (`pt-BR`, else `pt`), the
    /// channel's before the stage's.
    fn rendering<'a>(&'a self, channel: Option<&'a Terms>, term: &str, language: &str) -> Option<&'a str> {
        let primary = language.split(['-', '_']).next().unwrap_or(language);
        let tables = channel.map(|c| &c.terms).into_iter().chain([&self.terms]);
        tables.into_iter().find_map(|table| {
            let renderings = table.get(term)?;
            renderings.get(language).or_else(|| renderings.get(primary)).map(String::as_str)
        })
    }
}

type Renderings = BTreeMap<String, BTreeMap<String, String>>;

struct Glossary;

impl Stage for Glossary {
    type Config = Config;

    fn init(config: &Config) -> Result<(), String> {
        let channels = config.channels.iter().flat_map(|(name, c)| {
            let at = move |what: &str| format!("channels.{name}.{what}");
            c.keep.iter().map(move |t| (at("keep"), t)).chain(c.terms.keys().map(move |t| (at("terms"), t)))
        });
        let own =
            config.keep.iter().map(|t| ("keep".to_string(), t)).chain(config.terms.keys().map(|t| ("terms".into(), t)));
        match own.chain(channels).find(|(_, term)| term.trim().is_empty() || term.contains(['⟦', '⟧'])) {
            Some((at, term)) => Err(format!("{at}: `{term}` cannot be a term (empty, or holds a ⟦ ⟧ marker)")),
            None => Ok(()),
        }
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        match request.phase {
            Phase::Pre => protect(config, request),
            Phase::Post => put_back(config, request),
            Phase::Translate => Ok(Outcome::Pass),
        }
    }
}

export_stage!(Glossary);

/// `pre`: each term becomes a marker; which term is kept in scratch. A line
/// that already holds a marker's brackets, or whose terms do not fit in
/// scratch, is left as it is: unprotected, never garbled.
fn protect(config: &Config, request: &Request) -> Result<Outcome, StageError> {
    if request.text.contains(['⟦', '⟧']) {
        log::warn("the line holds ⟦ or ⟧ already; its terms are not protected");
        return Ok(Outcome::Pass);
    }
    let terms = config.terms_for(config.channel(request));
    let Some(found) = find_terms(&request.text, &terms, config.ignore_case) else { return Ok(Outcome::Pass) };
    if let Err(why) = scratch::store(&found.terms) {
        log::warn(&format!("{} terms not protected: {why}", found.terms.len()));
        return Ok(Outcome::Pass);
    }
    Ok(Outcome::Rewritten(found.text))
}

/// `post`: each marker becomes its term's rendering, or the term as written.
fn put_back(config: &Config, request: &Request) -> Result<Outcome, StageError> {
    let Some(terms) = scratch::load::<Vec<(String, String)>>() else { return Ok(Outcome::Pass) };
    let Some(translation) = &request.translation else { return Ok(Outcome::Pass) };
    let target = request.target_language.as_deref().unwrap_or_default();
    let channel = config.channel(request);
    let rendered: Vec<String> = terms
        .iter()
        .map(|(written, term)| config.rendering(channel, term, target).unwrap_or(written).to_string())
        .collect();
    let restored = restore(translation, |index| rendered.get(index).cloned());
    if !restored.missing.is_empty() {
        let lost: Vec<&str> = restored.missing.iter().filter_map(|&i| terms.get(i)).map(|(w, _)| w.as_str()).collect();
        log::warn(&format!("the translation into `{target}` lost the marker of {}", lost.join(", ")));
    }
    Ok(Outcome::Rewritten(restored.text))
}
