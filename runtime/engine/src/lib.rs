//! The plugin host and the pipeline executor.
//!
//! - [`engine`]: the wasmtime engine (async, pooling allocator, epoch
//!   deadlines) and the linker with WASI (empty) and the capabilities;
//! - [`plugin`]: a compiled, contract-checked, pre-instantiated component,
//!   with a disk cache of compiled code ([`compile_cache`]);
//! - [`stage`]: one configured stage, called on a warm instance of its own
//!   (`warm.rs`) or a new one, with its memory cap, deadline and permissions;
//! - [`capabilities`]: `http`, `kv` and `log`, the only doors out of a stage;
//! - [`pipeline`]: a job through pre, translate and post stages;
//! - [`wall`]: a tenant's share of the process (instances) and the count
//!   of the limits it hit;
//! - [`cpu`]: the opt-in count of the CPU each stage call and host call used.
//!
//! It knows nothing of Bull: a job is a [`pipeline::TranslationJob`] in and
//! a [`pipeline::JobReport`] or [`pipeline::JobFailed`] out.

pub mod bindings;
pub mod capabilities;
pub mod compile_cache;
pub mod cpu;
pub mod engine;
pub mod pipeline;
pub mod plugin;
pub mod stage;
mod state;
pub mod wall;
mod warm;

pub use engine::{EngineOptions, StageEngine};
pub use pipeline::{Failure, JobFailed, JobReport, Pipeline, TranslationJob};
pub use plugin::{Plugin, PluginError, Plugins};
pub use stage::{Services, Stage, StageFailure, StageFault};
pub use wall::{Limit, LimitHits, Wall};
