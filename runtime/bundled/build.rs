//! Builds the guest workspace (`plugins/`) for wasm32-wasip2 and writes the
//! table of bundled stages (`$OUT_DIR/bundled.rs`) from `plugins/bundled.toml`,
//! the one list of them, so `lingo` ships its stages inside the binary; tests
//! find the fixtures (`plugins/fixtures/*`) by path.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// `plugins/bundled.toml`.
#[derive(Deserialize)]
struct List {
    stage: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "crate")]
    krate: String,
    names: Vec<String>,
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.join("../..").canonicalize().unwrap();
    let plugins = repo.join("plugins");
    let list_path = plugins.join("bundled.toml");
    let list: List = toml::from_str(&std::fs::read_to_string(&list_path).expect("read plugins/bundled.toml"))
        .expect("plugins/bundled.toml: a `[[stage]]` list of `crate` and `names`");
    let fixtures = fixtures(&plugins);
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    let sources = [".cargo", "Cargo.toml", "Cargo.lock", "bundled.toml", "sdk", "fixtures"];
    for entry in sources.iter().copied().chain(list.stage.iter().map(|s| s.krate.as_str())) {
        println!("cargo:rerun-if-changed={}", plugins.join(entry).display());
    }
    build_guests(&plugins);
    let out = plugins.join("target/wasm32-wasip2/release");
    write_table(&list, &out);
    for name in fixtures {
        let path = out.join(format!("lingo_fixture_{name}.wasm"));
        assert!(path.exists(), "expected guest component at {}", path.display());
        println!("cargo:rustc-env=LINGO_FIXTURE_{}={}", name.to_uppercase(), path.display());
    }
}

/// The fixture crates' names as cargo writes them (`future-contract` → `future_contract`).
fn fixtures(plugins: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(plugins.join("fixtures"))
        .expect("read plugins/fixtures")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().replace('-', "_"))
        .collect();
    names.sort();
    names
}

/// `PLUGINS`, every bundled stage under each of its names, sorted by name;
/// the bytes of a stage with two names are embedded once.
fn write_table(list: &List, out: &Path) {
    let mut code = String::new();
    let mut rows = Vec::new();
    for stage in &list.stage {
        let path = out.join(format!("lingo_plugin_{}.wasm", stage.krate.replace('-', "_")));
        assert!(path.exists(), "expected guest component at {}", path.display());
        let bytes = format!("WASM_{}", stage.krate.to_uppercase().replace('-', "_"));
        writeln!(code, "const {bytes}: &[u8] = include_bytes!({:?});", path.display().to_string()).unwrap();
        rows.extend(stage.names.iter().map(|name| (name.clone(), bytes.clone())));
    }
    rows.sort();
    code.push_str(
        "\n/// Every bundled stage, by name (from `plugins/bundled.toml`).\npub const PLUGINS: &[Bundled] = &[\n",
    );
    for (name, bytes) in rows {
        writeln!(code, "    Bundled {{ name: {name:?}, wasm: {bytes} }},").unwrap();
    }
    code.push_str("];\n");
    let dest = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("bundled.rs");
    std::fs::write(dest, code).expect("write bundled.rs");
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
