//! The host side of the WIT imports: one module per capability, each laid out
//! alike — the capability's shared resources, the per-call handle with its
//! permissions, and the `Host` trait impl with the check inside it.

pub mod http;
pub mod kv;
pub mod log;
pub mod scratch;

pub use http::{Http, HttpClient};
pub use kv::{Kv, KvStore};
pub use log::Log;
pub use scratch::Scratch;

use crate::bindings::lingo::pipeline::types;
use crate::state::StageState;

impl types::Host for StageState {}
