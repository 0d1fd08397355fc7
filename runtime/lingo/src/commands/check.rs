//! `lingo check`: every error in the pipeline, or one line per stage.

use std::path::Path;
use std::process::ExitCode;

use lingo_config::{OnError, Phase, PluginRef, StageSpec};

use crate::services::{self, KvBackend};

pub async fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match lingo_config::load(path) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    // Plugins check their own config too: load them as a start would.
    let services = services::build(&config.worker, KvBackend::Memory).await?;
    if let Err(err) = services::load_pipeline(&config, &services).await {
        eprintln!("{err}");
        return Ok(ExitCode::FAILURE);
    }
    for stage in &config.stages {
        println!("{}", describe(stage));
    }
    let w = &config.worker;
    println!(
        "ok: {} stages; {} queue `{}` (prefix `{}`), concurrency {}",
        config.enabled_stages().count(),
        match w.protocol {
            lingo_config::Protocol::Bull => "bull",
            lingo_config::Protocol::BullMq => "bullmq",
        },
        w.queue,
        w.prefix,
        w.concurrency
    );
    Ok(ExitCode::SUCCESS)
}

fn describe(stage: &StageSpec) -> String {
    let plugin = match &stage.plugin {
        PluginRef::Bundled(name) => name.clone(),
        PluginRef::File(path) => path.display().to_string(),
    };
    let phase = match stage.phase {
        Phase::Pre => "pre",
        Phase::Translate => "translate",
        Phase::Post => "post",
    };
    let on_error = match stage.on_error {
        OnError::Next => "next".to_string(),
        OnError::Retry => format!("retry×{}", stage.retries),
        OnError::Fail => "fail".to_string(),
    };
    let hosts: Vec<String> = stage.allowed_hosts.iter().map(ToString::to_string).collect();
    format!(
        "{:<10} {:<12} {:<9} plugin={plugin} on_error={on_error} timeout={} memory={}MiB hosts=[{}]{}",
        stage.path,
        stage.name,
        phase,
        humantime::format_duration(stage.timeout),
        stage.memory >> 20,
        hosts.join(", "),
        if stage.enabled { "" } else { " (disabled)" }
    )
}
