//! A disk cache of compiled components, so a restart does not recompile.
//!
//! Entries are keyed by the component's SHA-256, the wasmtime version and the
//! engine's compatibility hash; an entry that fails to load (another engine
//! config, a torn write) is ignored and replaced.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// The cache directory and the engine fingerprint its entries are for.
pub struct CompileCache {
    dir: PathBuf,
    fingerprint: String,
}

impl CompileCache {
    /// A cache under `dir` for components compiled by `engine`.
    pub fn new(dir: PathBuf, engine: &wasmtime::Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let fingerprint = format!("wasmtime-{}-{:016x}", wasmtime_version(), hasher.finish());
        Self { dir, fingerprint }
    }

    /// `$LINGO_CACHE_DIR`, else `$XDG_CACHE_HOME/lingo`, else `~/.cache/lingo`.
    pub fn default_dir() -> Option<PathBuf> {
        let from = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        from("LINGO_CACHE_DIR")
            .or_else(|| from("XDG_CACHE_HOME").map(|d| d.join("lingo")))
            .or_else(|| from("HOME").map(|d| d.join(".cache/lingo")))
    }

    /// The compiled form of `wasm`, from disk when present, else compiled
    /// and stored.
    pub fn load_or_compile(&self, engine: &wasmtime::Engine, wasm: &[u8]) -> anyhow::Result<Component> {
        let path = self.entry(wasm);
        if let Some(component) = load(engine, &path) {
            return Ok(component);
        }
        let component = Component::new(engine, wasm)?;
        if let Err(err) = store(&path, &component) {
            tracing::debug!(path = %path.display(), %err, "could not write the compile cache");
        }
        Ok(component)
    }

    fn entry(&self, wasm: &[u8]) -> PathBuf {
        let digest = Sha256::digest(wasm);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&self.fingerprint).join(format!("{hex}.cwasm"))
    }
}

#[allow(unsafe_code)]
fn load(engine: &wasmtime::Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: the file was written by `store` below from `Component::serialize`
    // of this same wasmtime version (it is in the path), and wasmtime checks
    // the engine configuration on load, returning an error on a mismatch.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let dir = path.parent().expect("entry has a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn wasmtime_version() -> &'static str {
    // The pinned version; a bump changes the directory, so stale entries are
    // never even opened.
    "48.0.8"
}
