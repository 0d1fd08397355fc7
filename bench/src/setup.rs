//! Where everything lives, and the installs the bench needs before it
//! measures: lingo and the bare peer built (release), the Node peers from
//! their `package-lock.json` (`npm ci`), the Python peer into a venv from its
//! pinned `requirements.txt`, and the JavaScript stage (`bench/js-stage/`:
//! componentize-js from its lock file, then its build). Each install runs
//! again only when its lock file is newer than the stamp it left, and the
//! stage is built again only when its source or the WIT is newer than the
//! component, so `make bench` is idempotent.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The paths the bench reads and writes.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root.
    pub root: PathBuf,
    /// `bench/peers/node`: package.json, the worker scripts, produce.js.
    pub node: PathBuf,
    /// `bench/peers/python`: requirements.txt, worker.py, `.venv/`.
    pub python: PathBuf,
    /// `bench/js-stage`: a post stage in JavaScript, built into `tidy.wasm`.
    pub js_stage: PathBuf,
    /// `target/release/lingo`.
    pub lingo: PathBuf,
    /// `target/release/bench-bare-worker`.
    pub bare: PathBuf,
    /// `target/bench/`: pipeline files, line files, worker logs.
    pub work: PathBuf,
}

impl Paths {
    /// The paths of this checkout (the crate sits at `<root>/bench`).
    pub fn discover() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ has a parent").to_path_buf();
        let peers = root.join("bench/peers");
        Self {
            node: peers.join("node"),
            python: peers.join("python"),
            js_stage: root.join("bench/js-stage"),
            lingo: root.join("target/release/lingo"),
            bare: root.join("target/release/bench-bare-worker"),
            work: root.join("target/bench"),
            root,
        }
    }

    /// The venv's interpreter.
    pub fn venv_python(&self) -> PathBuf {
        self.python.join(".venv/bin/python")
    }

    /// The JavaScript stage's component.
    pub fn js_wasm(&self) -> PathBuf {
        self.js_stage.join("tidy.wasm")
    }

    /// `docs/`, or `target/bench-smoke/` for a smoke run.
    pub fn default_out(&self, smoke: bool) -> PathBuf {
        if smoke { self.root.join("target/bench-smoke") } else { self.root.join("docs") }
    }
}

/// Builds and installs what is missing; see the module docs.
pub fn prepare(paths: &Paths) -> anyhow::Result<()> {
    std::fs::create_dir_all(&paths.work).with_context(|| format!("creating {}", paths.work.display()))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).current_dir(&paths.root).args([
        "build",
        "--release",
        "-q",
        "-p",
        "lingo",
        "-p",
        "lingo-bench-bare-worker",
    ]))?;
    let node_stamp = paths.node.join("node_modules/.lingo-installed");
    if stale(&node_stamp, &paths.node.join("package-lock.json")) {
        eprintln!("bench: npm ci in {}", paths.node.display());
        run(Command::new("npm").current_dir(&paths.node).args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]))?;
        touch(&node_stamp)?;
    }
    let venv_stamp = paths.python.join(".venv/.lingo-installed");
    if stale(&venv_stamp, &paths.python.join("requirements.txt")) {
        eprintln!("bench: pip install -r requirements.txt into {}", paths.python.join(".venv").display());
        if !paths.venv_python().exists() {
            run(Command::new("python3").current_dir(&paths.python).args(["-m", "venv", ".venv"]))?;
        }
        run(Command::new(paths.venv_python()).current_dir(&paths.python).args([
            "-m",
            "pip",
            "install",
            "-q",
            "-r",
            "requirements.txt",
        ]))?;
        touch(&venv_stamp)?;
    }
    build_js_stage(paths)
}

/// `npm ci` and `npm run build` in `bench/js-stage`, each when stale.
fn build_js_stage(paths: &Paths) -> anyhow::Result<()> {
    let stamp = paths.js_stage.join("node_modules/.lingo-installed");
    if stale(&stamp, &paths.js_stage.join("package-lock.json")) {
        eprintln!("bench: npm ci in {}", paths.js_stage.display());
        run(Command::new("npm").current_dir(&paths.js_stage).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
        touch(&stamp)?;
    }
    let wasm = paths.js_wasm();
    let sources = [stamp, paths.js_stage.join("src/tidy.js"), paths.root.join("wit/pipeline.wit")];
    if sources.iter().any(|source| stale(&wasm, source)) {
        eprintln!("bench: building {} with componentize-js", wasm.display());
        run(Command::new("npm").current_dir(&paths.js_stage).args(["run", "--silent", "build"]))?;
    }
    Ok(())
}

/// True when `stamp` is missing or older than `lock` (or `lock` is missing).
fn stale(stamp: &Path, lock: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(stamp), modified(lock)) {
        (Some(stamp), Some(lock)) => stamp < lock,
        _ => true,
    }
}

fn touch(path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, b"").with_context(|| format!("writing {}", path.display()))
}

/// Runs a command to completion; a non-zero exit is an error naming it.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// A command's stdout, trimmed; `None` when it cannot run.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
