//! The host's bindings: Rust types and traits generated from
//! `wit/pipeline.wit`, the contract this host implements, and from each
//! earlier contract it still runs (`v0_1`). Host functions are async (HTTP
//! and Redis wait) and trappable (a host fault ends the call instead of
//! lying to the guest).
//!
//! A component is bound under the contract its imports name ([`Contract`]);
//! the rest of the engine sees only the current types, through [`ExportsPre`]
//! and [`Exports`].

pub mod v0_1;

use wasmtime::AsContextMut;
use wasmtime::component::{InstancePre, Linker};

wasmtime::component::bindgen!({
    path: "../../wit/pipeline.wit",
    world: "stage",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use lingo::pipeline::types::{Phase, RateLimit};

use crate::state::StageState;

/// The WIT package this host implements; components built for it or for
/// an earlier contract in [`Contract`] load, any other is refused.
pub const CONTRACT: &str = "lingo:pipeline@0.2.0";

/// The contracts this host runs, each a version of `lingo:pipeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `0.1.0`: no `original`, `metadata` or `scratch`.
    V0_1,
    /// `0.2.0`, the current one.
    V0_2,
}

impl Contract {
    /// The contract of a `lingo:pipeline` version, if this host runs it.
    pub fn of_version(version: &str) -> Option<Self> {
        match version {
            "0.1.0" => Some(Contract::V0_1),
            "0.2.0" => Some(Contract::V0_2),
            _ => None,
        }
    }

    /// Every import of every contract, into `linker`.
    pub(crate) fn add_all_to_linker(linker: &mut Linker<StageState>) -> wasmtime::Result<()> {
        use wasmtime::component::HasSelf;
        Stage::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
        v0_1::Stage::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
    }
}

/// A component linked and checked under its contract, ready to instantiate.
pub(crate) enum ExportsPre {
    V0_1(v0_1::StagePre<StageState>),
    V0_2(StagePre<StageState>),
}

impl ExportsPre {
    /// Checks that `component`'s exports are those of `contract`.
    pub fn new(contract: Contract, pre: InstancePre<StageState>) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::V0_1 => ExportsPre::V0_1(v0_1::StagePre::new(pre)?),
            Contract::V0_2 => ExportsPre::V0_2(StagePre::new(pre)?),
        })
    }

    /// A new instance in `store`, its exports resolved.
    pub async fn instantiate(&self, store: impl AsContextMut<Data = StageState>) -> wasmtime::Result<Exports> {
        Ok(match self {
            ExportsPre::V0_1(pre) => Exports::V0_1(pre.instantiate_async(store).await?),
            ExportsPre::V0_2(pre) => Exports::V0_2(pre.instantiate_async(store).await?),
        })
    }
}

/// An instance's exports under its contract; calls take and give the
/// current contract's types.
pub(crate) enum Exports {
    V0_1(v0_1::Stage),
    V0_2(Stage),
}

impl Exports {
    pub async fn call_init(
        &self,
        store: impl AsContextMut<Data = StageState>,
        config: &str,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Exports::V0_1(stage) => stage.call_init(store, config).await,
            Exports::V0_2(stage) => stage.call_init(store, config).await,
        }
    }

    pub async fn call_process(
        &self,
        store: impl AsContextMut<Data = StageState>,
        config: &str,
        request: &Request,
    ) -> wasmtime::Result<Result<Outcome, StageError>> {
        match self {
            Exports::V0_1(stage) => {
                let reply = stage.call_process(store, config, &v0_1::request(request)).await?;
                Ok(reply.map(v0_1::outcome).map_err(v0_1::stage_error))
            }
            Exports::V0_2(stage) => stage.call_process(store, config, request).await,
        }
    }

    pub async fn call_remember(
        &self,
        store: impl AsContextMut<Data = StageState>,
        config: &str,
        request: &Request,
        translation: &str,
        producer: &str,
    ) -> wasmtime::Result<Result<(), StageError>> {
        match self {
            Exports::V0_1(stage) => {
                let reply = stage.call_remember(store, config, &v0_1::request(request), translation, producer).await?;
                Ok(reply.map_err(v0_1::stage_error))
            }
            Exports::V0_2(stage) => stage.call_remember(store, config, request, translation, producer).await,
        }
    }
}
