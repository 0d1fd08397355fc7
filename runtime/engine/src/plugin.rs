//! Loading a component: compile (or fetch from the disk cache), check that
//! it targets this host's contract, and pre-instantiate it once so each call
//! only has to instantiate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::bindings::{CONTRACT, Contract, ExportsPre};
use crate::engine::StageEngine;

/// Why a component cannot be used as a stage.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Not a WebAssembly component wasmtime can compile.
    #[error("`{plugin}` is not a WebAssembly component: {reason}")]
    Invalid { plugin: String, reason: String },
    /// Built against a version of `lingo:pipeline` this host does not run.
    #[error(
        "`{plugin}` was built for `{found}`, but this lingo implements `{CONTRACT}` (and runs stages built for `lingo:pipeline@0.1.0`)"
    )]
    Contract { plugin: String, found: String },
    /// A component, but not a stage (wrong exports, unknown imports).
    #[error("`{plugin}` is not a lingo stage: {reason}")]
    NotAStage { plugin: String, reason: String },
}

/// A compiled, pre-instantiated stage component.
pub struct Plugin {
    /// The bundled name or file path it was loaded from.
    pub name: String,
    /// SHA-256 of its bytes, in hex: plugins are shared only when equal.
    pub digest: String,
    /// The contract it was built for.
    pub contract: Contract,
    pub(crate) pre: ExportsPre,
}

impl Plugin {
    /// Compiles and links `wasm`, named `name` in messages.
    pub fn load(engine: &StageEngine, name: &str, wasm: &[u8]) -> Result<Self, PluginError> {
        let invalid = |e: anyhow::Error| PluginError::Invalid { plugin: name.into(), reason: format!("{e:#}") };
        let component = match &engine.cache {
            Some(cache) => cache.load_or_compile(&engine.engine, wasm).map_err(invalid)?,
            None => Component::new(&engine.engine, wasm).map_err(|e| invalid(e.into()))?,
        };
        let contract = contract_of(engine, name, &component)?;
        let not_a_stage = |e: wasmtime::Error| PluginError::NotAStage { plugin: name.into(), reason: format!("{e:#}") };
        let pre = engine.linker.instantiate_pre(&component).map_err(not_a_stage)?;
        let pre = ExportsPre::new(contract, pre).map_err(not_a_stage)?;
        Ok(Self { name: name.into(), digest: hex_digest(wasm), contract, pre })
    }
}

/// The contract a component's `lingo:pipeline` imports name; refused when
/// this host does not run it, or when they name two. A component that
/// imports nothing of the host is taken at the current contract.
fn contract_of(engine: &StageEngine, name: &str, component: &Component) -> Result<Contract, PluginError> {
    let (package, current) = CONTRACT.split_once('@').expect("contract has a version");
    let component_type = component.component_type();
    let mut found: Option<&str> = None;
    for (import, item) in component_type.imports(&engine.engine) {
        let Some(rest) = import.strip_prefix(package) else { continue };
        let version = rest.rsplit_once('@').map(|(_, v)| v).unwrap_or("unversioned");
        let refused = || PluginError::Contract { plugin: name.into(), found: format!("{package}@{version}") };
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) || found.is_some_and(|f| f != version) {
            return Err(refused());
        }
        found = Some(version);
    }
    let version = found.unwrap_or(current);
    Contract::of_version(version)
        .ok_or_else(|| PluginError::Contract { plugin: name.into(), found: format!("{package}@{version}") })
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Loaded plugins by content: the same bytes are compiled and linked once,
/// whichever stage or tenant names them.
#[derive(Default)]
pub struct Plugins {
    loaded: Mutex<HashMap<String, Arc<Plugin>>>,
}

impl Plugins {
    /// The plugin for `wasm`, loading it on first use.
    pub fn get(&self, engine: &StageEngine, name: &str, wasm: &[u8]) -> Result<Arc<Plugin>, PluginError> {
        let digest = hex_digest(wasm);
        if let Some(plugin) = self.loaded.lock().expect("plugins lock").get(&digest) {
            return Ok(plugin.clone());
        }
        let plugin = Arc::new(Plugin::load(engine, name, wasm)?);
        self.loaded.lock().expect("plugins lock").insert(digest, plugin.clone());
        Ok(plugin)
    }
}
