//! Builds the guest workspace (`plugins/`) for wasm32-wasip2 and tells the
//! crate where each component landed, so `lingo` ships its stages inside the
//! binary and tests find the fixtures by path.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Stages bundled into `lingo`, by crate suffix.
const PLUGINS: &[&str] = &["cache", "ollama", "postprocess", "vllm"];
/// Test-only guests, found by path, never bundled.
const FIXTURES: &[&str] = &["misbehave", "future_contract"];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.join("../..").canonicalize().unwrap();
    let plugins = repo.join("plugins");
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    for entry in [".cargo", "Cargo.toml", "Cargo.lock", "sdk", "postprocess", "cache", "vllm", "ollama", "fixtures"] {
        println!("cargo:rerun-if-changed={}", plugins.join(entry).display());
    }
    build_guests(&plugins);
    let out = plugins.join("target/wasm32-wasip2/release");
    for name in PLUGINS {
        export_path("PLUGIN", name, &out.join(format!("lingo_plugin_{name}.wasm")));
    }
    for name in FIXTURES {
        export_path("FIXTURE", name, &out.join(format!("lingo_fixture_{name}.wasm")));
    }
}

fn build_guests(plugins: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        // So that `plugins/.cargo/config.toml` (the guests' stack size) applies.
        .current_dir(plugins)
        .env("CARGO_TARGET_DIR", plugins.join("target"))
        // The outer build's flags are for the host, not for wasm guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("run cargo for the plugins workspace");
    assert!(
        status.success(),
        "building plugins/ for wasm32-wasip2 failed\nhint: `rustup target add wasm32-wasip2` (make setup does it)"
    );
}

fn export_path(kind: &str, name: &str, path: &Path) {
    assert!(path.exists(), "expected guest component at {}", path.display());
    println!("cargo:rustc-env=LINGO_{kind}_{}={}", name.to_uppercase(), path.display());
}
