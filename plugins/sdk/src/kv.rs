//! The stage's key-value store. Keys are scoped by the host to the tenant and
//! the stage's namespace, so two stages never see each other's keys.

use crate::StageError;
use crate::bindings::lingo::pipeline::kv;

pub use kv::KvError;

/// Reads a value as UTF-8 text; `None` when absent, expired or not text.
pub fn get_string(key: &str) -> Result<Option<String>, KvError> {
    Ok(kv::get(key)?.and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// Writes text under `key`, expiring after `ttl_seconds` when given.
pub fn set_string(key: &str, value: &str, ttl_seconds: Option<u64>) -> Result<(), KvError> {
    kv::set(key, value.as_bytes(), ttl_seconds)
}

/// Reads raw bytes.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    kv::get(key)
}

/// Writes raw bytes.
pub fn set(key: &str, value: &[u8], ttl_seconds: Option<u64>) -> Result<(), KvError> {
    kv::set(key, value, ttl_seconds)
}

/// Removes a key.
pub fn delete(key: &str) -> Result<(), KvError> {
    kv::delete(key)
}

/// A person-readable sentence for a kv error.
pub fn describe(err: &KvError) -> String {
    match err {
        KvError::Unavailable(why) => format!("kv unavailable: {why}"),
        KvError::TooLarge(cap) => format!("kv value larger than the cap of {cap} bytes"),
        KvError::InvalidKey(why) => format!("invalid kv key: {why}"),
    }
}

impl From<KvError> for StageError {
    /// A store that cannot be reached may come back; a value over the cap or
    /// a bad key will not.
    fn from(err: KvError) -> Self {
        let message = describe(&err);
        match err {
            KvError::Unavailable(_) => StageError::Retryable(message),
            _ => StageError::Fatal(message),
        }
    }
}
