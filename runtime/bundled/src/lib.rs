//! The stages that ship inside `lingo`, as WebAssembly component bytes, and
//! the paths of the test fixtures. `build.rs` compiles `plugins/` for
//! wasm32-wasip2 before this crate builds, and embeds what
//! `plugins/bundled.toml` lists.

/// A stage bundled into the binary, named as `plugin = "<name>"` in
/// `pipeline.toml`.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The name used in `pipeline.toml`.
    pub name: &'static str,
    /// The component's bytes.
    pub wasm: &'static [u8],
}

// `PLUGINS`: every bundled stage, written by `build.rs` from
// `plugins/bundled.toml`, the one list of them.
include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled stage called `name`.
pub fn find(name: &str) -> Option<Bundled> {
    PLUGINS.iter().copied().find(|p| p.name == name)
}

/// The names of all bundled stages, for error messages.
pub fn names() -> Vec<&'static str> {
    PLUGINS.iter().map(|p| p.name).collect()
}

/// Path of the `misbehave` test fixture component (tests only).
pub const FIXTURE_MISBEHAVE: &str = env!("LINGO_FIXTURE_MISBEHAVE");

/// Path of a test fixture built against `lingo:pipeline@0.3.0`, a contract
/// newer than this host's (tests only).
pub const FIXTURE_FUTURE_CONTRACT: &str = env!("LINGO_FIXTURE_FUTURE_CONTRACT");

/// Path of a test fixture built against `lingo:pipeline@0.1.0`, the first
/// contract, which this host still runs (tests only).
pub const FIXTURE_CONTRACT_0_1: &str = env!("LINGO_FIXTURE_CONTRACT_0_1");
