//! The stage's scratch space: a few bytes kept from one phase of a unit to
//! a later phase of the same unit (a `pre` call's placeholders, read back in
//! `post`). What a `pre` call keeps starts every unit of its job; what a
//! `translate` or `post` call keeps is seen by its own unit's later calls.
//! It is kept only when the call that wrote it succeeds, and is bounded by
//! the host's `limits.max_scratch_bytes` (4 KiB unless raised).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::lingo::pipeline::scratch;

/// What this stage kept in an earlier phase of this unit.
pub fn get() -> Option<Vec<u8>> {
    scratch::get()
}

/// Keeps `value` for this unit's later phases, replacing what was kept.
pub fn set(value: &[u8]) -> Result<(), String> {
    scratch::set(value)
}

/// What was kept with [`store`], read back as `T`; `None` when nothing was
/// kept or it is not a `T`.
pub fn load<T: DeserializeOwned>() -> Option<T> {
    serde_json::from_slice(&get()?).ok()
}

/// Keeps `value`, as JSON, for this unit's later phases.
pub fn store<T: Serialize>(value: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec(value).map_err(|e| format!("scratch value is not JSON: {e}"))?;
    set(&bytes)
}
