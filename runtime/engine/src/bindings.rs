//! The one `bindgen!` of the host: Rust types and traits generated from
//! `wit/pipeline.wit`. Host functions are async (HTTP and Redis wait) and
//! trappable (a host fault ends the call instead of lying to the guest).

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "stage",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use lingo::pipeline::types::{Phase, RateLimit};

/// The WIT package this host implements; components built against another
/// version are refused at load.
pub const CONTRACT: &str = "lingo:pipeline@0.1.0";
