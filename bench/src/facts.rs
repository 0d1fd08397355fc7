//! The facts a benchmark report must name: the machine (cores, CPU model,
//! kernel, memory), the date, the load average before and after, and the
//! version of everything measured.

use std::path::Path;

use serde::Serialize;

use crate::setup::{Paths, output};

/// Where and when the figures were taken.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// UTC, RFC 3339.
    pub date: String,
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub memory_gib: f64,
    /// `/proc/loadavg` (1, 5, 15 min) when the bench started.
    pub load_before: String,
    /// The same when it ended.
    pub load_after: String,
    pub versions: Versions,
}

/// Versions of lingo, Redis, the runtimes and the peers' libraries.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// `git rev-parse --short HEAD`, `-dirty` with uncommitted changes.
    pub lingo: String,
    pub redis_server: String,
    pub node: String,
    pub python: String,
    pub npm_bullmq: String,
    pub npm_bull: String,
    pub pypi_bullmq: String,
    /// The crate behind lingo's bullmq protocol and the bare peer.
    pub bullmq_official: String,
}

/// Reads every fact; a fact that cannot be read is `unknown`.
pub fn collect(paths: &Paths) -> anyhow::Result<Facts> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Ok(Facts {
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        cpu_model: field(&cpuinfo, "model name").unwrap_or_else(unknown),
        kernel: output("uname", &["-sr"]).unwrap_or_else(unknown),
        memory_gib: field(&meminfo, "MemTotal")
            .and_then(|v| v.trim_end_matches(" kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        load_before: load_average(),
        load_after: String::new(),
        versions: versions(paths),
    })
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn versions(paths: &Paths) -> Versions {
    let root = paths.root.to_string_lossy();
    let rev = output("git", &["-C", &root, "rev-parse", "--short", "HEAD"]).unwrap_or_else(unknown);
    let dirty = output("git", &["-C", &root, "status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    let venv = paths.venv_python();
    let venv = venv.to_string_lossy();
    Versions {
        lingo: if dirty { format!("{rev}-dirty") } else { rev },
        redis_server: output("redis-server", &["--version"])
            .and_then(|v| v.split_whitespace().find_map(|w| w.strip_prefix("v=").map(str::to_string)))
            .unwrap_or_else(unknown),
        node: output("node", &["--version"]).unwrap_or_else(unknown),
        python: output(&venv, &["--version"]).unwrap_or_else(unknown),
        npm_bullmq: npm_version(&paths.node, "bullmq"),
        npm_bull: npm_version(&paths.node, "bull"),
        pypi_bullmq: output(&venv, &["-c", "import bullmq; print(bullmq.__version__)"]).unwrap_or_else(unknown),
        bullmq_official: lock_version(&paths.root.join("Cargo.lock"), "bullmq-official"),
    }
}

/// `name : value` from /proc-style text.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_string())
    })
}

fn npm_version(dir: &Path, package: &str) -> String {
    let manifest = dir.join("node_modules").join(package).join("package.json");
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json["version"].as_str().map(str::to_string))
        .unwrap_or_else(unknown)
}

fn lock_version(lock: &Path, package: &str) -> String {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let marker = format!("name = \"{package}\"\nversion = \"");
    text.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or_else(unknown, |(version, _)| version.to_string())
}

fn unknown() -> String {
    "unknown".into()
}
