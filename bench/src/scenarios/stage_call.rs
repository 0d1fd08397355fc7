//! The per-call overhead, from the criterion bench that already exists
//! (`cargo bench -p lingo-engine --bench stage_call`): a stage call and a
//! three-stage chain, each on warm instances and on fresh ones (instantiate,
//! one `process`, drop), and the JavaScript stage of `bench/js-stage/`
//! (componentize-js) in both modes. Run once (criterion
//! repeats internally); its mean comes from `target/criterion/*/new/estimates.json`,
//! the p50/p99 from the lines the bench prints.

use std::process::Command;

use anyhow::Context;
use serde::Serialize;

use super::Bench;

/// One criterion benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// (criterion's name, the prefix of the bench's own percentile line).
const BENCHES: [(&str, &str); 6] = [
    ("stage call, fresh instance", "stage call (fresh):"),
    ("stage call, warm instance", "stage call (warm):"),
    ("three-stage chain, fresh instances (pre → cache hit → post)", "three-stage chain (fresh):"),
    ("three-stage chain, warm instances (pre → cache hit → post)", "three-stage chain (warm):"),
    ("JavaScript stage call, fresh instance", "JavaScript stage call (fresh):"),
    ("JavaScript stage call, warm instance", "JavaScript stage call (warm):"),
];

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let bar = bench.progress.scenario("stage call", 1);
    bar.set_message("cargo bench -p lingo-engine --bench stage_call");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&bench.paths.root)
        .env("LINGO_BENCH_JS_STAGE", bench.paths.js_wasm())
        .args(["bench", "-q", "-p", "lingo-engine", "--bench", "stage_call", "--", "--noplot"])
        .output()
        .context("running cargo bench")?;
    anyhow::ensure!(out.status.success(), "cargo bench failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows = BENCHES
        .iter()
        .map(|(name, prefix)| {
            let (p50_us, p99_us) =
                percentiles(&stdout, prefix).with_context(|| format!("no `{prefix}` line in the bench's output"))?;
            Ok(Row { name: name.to_string(), mean_us: mean_us(bench, name)?, p50_us, p99_us })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for row in &rows {
        bench.progress.line(format!(
            "stage call {}: mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs",
            row.name, row.mean_us, row.p50_us, row.p99_us
        ));
    }
    bar.inc(1);
    bar.finish();
    Ok(rows)
}

/// `<prefix> p50 X µs   p99 Y µs` → (X, Y).
fn percentiles(stdout: &str, prefix: &str) -> Option<(f64, f64)> {
    let line = stdout.lines().find(|l| l.starts_with(prefix))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |tag: &str| words.iter().position(|w| *w == tag).and_then(|i| words.get(i + 1)?.parse::<f64>().ok());
    Some((after("p50")?, after("p99")?))
}

fn mean_us(bench: &Bench, name: &str) -> anyhow::Result<f64> {
    let path = bench.paths.root.join("target/criterion").join(name).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    json["mean"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1000.0)
        .with_context(|| format!("no mean in {}", path.display()))
}
