//! `lingo cache-import`: fill the cache from known translations, through the
//! pipeline's own translate stages. Each line is handed to `remember` as if a
//! later stage had just produced it, so the cache stores it under exactly
//! the key it will look up — lingo never computes a stage's keys itself.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use futures::StreamExt;
use serde::Deserialize;

use crate::services::{self, KvBackend};

/// One known translation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Known {
    text: String,
    target: String,
    translation: String,
    #[serde(default)]
    source: Option<String>,
}

/// Lines remembered at once.
const IN_FLIGHT: usize = 64;

pub async fn import(config_path: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let config = lingo_config::load(config_path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let services = services::build(&config.worker, KvBackend::Redis).await?;
    let pipeline = services::load_pipeline(&config, &services).await?;
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
        ))
    };
    let mut known = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Known = serde_json::from_str(&line).with_context(|| {
            format!("line {}: expected {{\"text\", \"target\", \"translation\", \"source\"?}}", number + 1)
        })?;
        known.push(entry);
    }
    let count = known.len();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(known)
        .map(|k| {
            let pipeline = pipeline.clone();
            async move {
                pipeline
                    .remember_known(&k.text, k.source.as_deref(), &k.target, &k.translation)
                    .await
                    .map_err(|e| anyhow::anyhow!("`{}` → {}: {e}", k.text, k.target))
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    for err in failed.iter().take(5) {
        eprintln!("error: {err}");
    }
    println!("imported {} of {count} translations", count - failed.len());
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
