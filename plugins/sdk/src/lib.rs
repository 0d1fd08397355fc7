//! Write a lingo translation stage in a few lines.
//!
//! A stage is a WebAssembly component that the lingo host calls once per
//! request. An instance serves one tenant's stage and may serve many of its
//! calls in turn (unless the stage asks for `instances = "fresh"`), so a
//! global may cache what is the same for every call, never what belongs to
//! one job. Implement [`Stage`] on a type, give it a serde-typed `Config`,
//! and export it with [`export_stage!`]:
//!
//! ```no_run
//! use lingo_sdk::{export_stage, Outcome, Request, Stage, StageError};
//!
//! #[derive(serde::Deserialize)]
//! struct Config { greeting: String }
//!
//! struct Greeter;
//! impl Stage for Greeter {
//!     type Config = Config;
//!     fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
//!         Ok(Outcome::Translated(format!("{} {}", config.greeting, request.text)))
//!     }
//! }
//! export_stage!(Greeter);
//! ```
//!
//! The host's world reaches the stage only through [`http`], [`kv`],
//! [`log`] and [`scratch`]: no files, no environment, no sockets.

pub mod http;
pub mod kv;
pub mod log;
pub mod prompt;
pub mod reply;
pub mod scratch;

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;

/// The bindings generated from `wit/pipeline.wit`; plugins use the re-exports.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated code: the WIT's `remember` export
pub mod bindings {
    wit_bindgen::generate!({
        world: "stage",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_stage_bindings",
        default_bindings_module: "lingo_sdk::bindings",
    });
}

pub use bindings::lingo::pipeline::types::{Outcome, Phase, RateLimit, Request, StageError};

impl Request {
    /// A request in `phase` for `text`, as a test would make one: no
    /// languages, no translation, no metadata, `original` equal to `text`.
    pub fn new(phase: Phase, text: &str) -> Self {
        Self {
            phase,
            job_id: "test".into(),
            text: text.into(),
            source_language: None,
            target_language: None,
            translation: None,
            original: text.into(),
            metadata: "{}".into(),
        }
    }

    /// The job's metadata field `key` (`channel`, ...), if the job has it.
    pub fn meta(&self, key: &str) -> Option<serde_json::Value> {
        let serde_json::Value::Object(mut fields) = serde_json::from_str(&self.metadata).ok()? else { return None };
        fields.remove(key)
    }

    /// The job's metadata field `key` when it is a string.
    pub fn meta_str(&self, key: &str) -> Option<String> {
        match self.meta(key)? {
            serde_json::Value::String(value) => Some(value),
            _ => None,
        }
    }
}

/// A translation stage: what a plugin author implements.
pub trait Stage {
    /// The stage's `config` table from `pipeline.toml`, as a serde type.
    /// Use `#[serde(deny_unknown_fields)]` so a typo fails at start-up.
    type Config: DeserializeOwned + 'static;

    /// Checks the config beyond its shape (ranges, URLs); runs once at load.
    fn init(config: &Self::Config) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// Decides on one request: translate, rewrite, or pass.
    fn process(config: &Self::Config, request: &Request) -> Result<Outcome, StageError>;

    /// Hears what a later stage translated after this one passed (a cache
    /// writes it back). Does nothing unless overridden.
    fn remember(config: &Self::Config, request: &Request, translation: &str, producer: &str) -> Result<(), StageError> {
        let _ = (config, request, translation, producer);
        Ok(())
    }
}

/// Exports a [`Stage`] implementation as the component's `stage` world.
#[macro_export]
macro_rules! export_stage {
    ($stage:ty) => {
        struct __LingoExport;

        impl $crate::bindings::Guest for __LingoExport {
            fn init(config: String) -> Result<(), String> {
                $crate::run_init::<$stage>(&config)
            }

            fn process(
                config: String,
                request: $crate::Request,
            ) -> Result<$crate::Outcome, $crate::StageError> {
                $crate::run_process::<$stage>(&config, &request)
            }

            fn remember(
                config: String,
                request: $crate::Request,
                translation: String,
                producer: String,
            ) -> Result<(), $crate::StageError> {
                $crate::run_remember::<$stage>(&config, &request, &translation, &producer)
            }
        }

        $crate::bindings::__export_stage_bindings!(__LingoExport with_types_in $crate::bindings);
    };
}

fn parse_config<S: Stage>(config: &str) -> Result<S::Config, String> {
    serde_json::from_str(config).map_err(|e| format!("invalid config: {e}"))
}

thread_local! {
    /// The config this instance parsed last, and its text. An instance
    /// serves one stage, whose config does not change, so a warm call
    /// compares the text instead of parsing it again.
    static PARSED: RefCell<Option<(String, Rc<dyn Any>)>> = const { RefCell::new(None) };
}

/// `config` parsed, from [`PARSED`] when it is the text parsed last.
fn config_of<S: Stage>(config: &str) -> Result<Rc<S::Config>, String> {
    let kept = PARSED.with_borrow(|parsed| match parsed {
        Some((text, value)) if text == config => value.clone().downcast::<S::Config>().ok(),
        _ => None,
    });
    if let Some(value) = kept {
        return Ok(value);
    }
    let value = Rc::new(parse_config::<S>(config)?);
    PARSED.set(Some((config.to_owned(), value.clone())));
    Ok(value)
}

#[doc(hidden)]
pub fn run_init<S: Stage>(config: &str) -> Result<(), String> {
    S::init(&parse_config::<S>(config)?)
}

#[doc(hidden)]
pub fn run_process<S: Stage>(config: &str, request: &Request) -> Result<Outcome, StageError> {
    let config = config_of::<S>(config).map_err(StageError::Fatal)?;
    S::process(&config, request)
}

#[doc(hidden)]
pub fn run_remember<S: Stage>(
    config: &str,
    request: &Request,
    translation: &str,
    producer: &str,
) -> Result<(), StageError> {
    let config = config_of::<S>(config).map_err(StageError::Fatal)?;
    S::remember(&config, request, translation, producer)
}
