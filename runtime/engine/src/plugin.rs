//! Loading a component: compile (or fetch from the disk cache), check that
//! it targets this host's contract, and pre-instantiate it once so each call
//! only has to instantiate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::bindings::{CONTRACT, StagePre};
use crate::engine::StageEngine;
use crate::state::StageState;

/// Why a component cannot be used as a stage.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Not a WebAssembly component wasmtime can compile.
    #[error("`{plugin}` is not a WebAssembly component: {reason}")]
    Invalid { plugin: String, reason: String },
    /// Built against another version of `lingo:pipeline`.
    #[error("`{plugin}` was built for `{found}`, but this lingo implements `{CONTRACT}`")]
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
    pub(crate) pre: StagePre<StageState>,
}

impl Plugin {
    /// Compiles and links `wasm`, named `name` in messages.
    pub fn load(engine: &StageEngine, name: &str, wasm: &[u8]) -> Result<Self, PluginError> {
        let invalid = |e: anyhow::Error| PluginError::Invalid { plugin: name.into(), reason: format!("{e:#}") };
        let component = match &engine.cache {
            Some(cache) => cache.load_or_compile(&engine.engine, wasm).map_err(invalid)?,
            None => Component::new(&engine.engine, wasm).map_err(|e| invalid(e.into()))?,
        };
        check_contract(engine, name, &component)?;
        let not_a_stage = |e: wasmtime::Error| PluginError::NotAStage { plugin: name.into(), reason: format!("{e:#}") };
        let pre = engine.linker.instantiate_pre(&component).map_err(not_a_stage)?;
        let pre = StagePre::new(pre).map_err(not_a_stage)?;
        Ok(Self { name: name.into(), digest: hex_digest(wasm), pre })
    }
}

/// Refuses a component whose `lingo:pipeline` imports carry another version.
fn check_contract(engine: &StageEngine, name: &str, component: &Component) -> Result<(), PluginError> {
    let (package, version) = CONTRACT.split_once('@').expect("contract has a version");
    for (import, item) in component.component_type().imports(&engine.engine) {
        let Some(rest) = import.strip_prefix(package) else { continue };
        let found_version = rest.rsplit_once('@').map(|(_, v)| v).unwrap_or("unversioned");
        if found_version != version || !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Err(PluginError::Contract { plugin: name.into(), found: format!("{package}@{found_version}") });
        }
    }
    Ok(())
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
