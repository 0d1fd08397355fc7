//! `pipeline.toml`: read once, validated once, into a typed [`Pipeline`].
//!
//! The flow is raw text → TOML tree → `${VAR:-default}` interpolation (from
//! the process environment and a `.env` file beside the config) → a validated
//! model with durations parsed, hosts normalised and defaults applied. Every
//! problem found on the way is collected, not just the first, and each names
//! the file, the TOML path (`stage[2].timeout`) and what was expected, with a
//! `hint:` where the fix is known.
//!
//! Nothing downstream reads TOML. This crate does not load plugins: a
//! plugin's own check of its `config` happens in the engine, which reports it
//! as a [`ConfigError`] too.

mod bundled;
mod env;
mod error;
mod hosted;
mod hosts;
pub mod limits;
mod model;
mod reader;
mod units;

use std::path::Path;

pub use env::Env;
pub use error::{ConfigError, ConfigErrors};
pub use hosted::{Hosted, Tenant};
pub use hosts::{AllowedHost, intersect};
pub use limits::JobLimits;
pub use model::{
    Gateway, Instances, MAX_STAGE_MEMORY, OnError, Phase, Pipeline, PluginRef, Protocol, StageSpec, Worker,
};
pub use units::{parse_bytes, parse_duration};

/// Reads and validates the pipeline at `path`, with the process environment
/// and the `.env` file next to it (the process environment wins).
pub fn load(path: &Path) -> Result<Pipeline, ConfigErrors> {
    let text = read(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let env = Env::from_process_and_dotenv(&dir.join(".env"));
    parse(&text, path, &env)
}

/// Reads the config at `path` as a [`Hosted`] one: a hosted file (one with
/// `[[tenant]]` tables) as it is, a plain pipeline as a single tenant.
pub fn load_hosted(path: &Path) -> Result<Hosted, ConfigErrors> {
    let text = read(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let env = Env::from_process_and_dotenv(&dir.join(".env"));
    let table = parse_toml(&text, path)?;
    if hosted::is_hosted(&table) {
        hosted::build(table, path, &env)
    } else {
        model::build(table, path, &env).map(Hosted::single)
    }
}

/// Validates pipeline text as if read from `file` (for messages and for
/// resolving relative plugin paths), with variables from `env`.
pub fn parse(text: &str, file: &Path, env: &Env) -> Result<Pipeline, ConfigErrors> {
    model::build(parse_toml(text, file)?, file, env)
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::one(ConfigError::new(path, "", format!("cannot read the file: {e}"))))
}

fn parse_toml(text: &str, file: &Path) -> Result<toml::Table, ConfigErrors> {
    text.parse().map_err(|e: toml::de::Error| {
        ConfigErrors::one(
            ConfigError::new(file, "", format!("not valid TOML: {}", e.message().trim()))
                .with_line(line_of(text, e.span())),
        )
    })
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> Option<usize> {
    span.map(|s| text[..s.start.min(text.len())].lines().count().max(1))
}
