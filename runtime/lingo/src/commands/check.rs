//! `lingo check`: every error in the pipeline (or in every tenant's of a
//! hosted config), or one line per stage.

use std::path::Path;
use std::process::ExitCode;

use lingo_config::{Instances, OnError, Phase, PluginRef, StageSpec};

use crate::services::{self, KvBackend};

pub async fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match lingo_config::load_hosted(path) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    // Plugins check their own config too: load them as a start would.
    let services = services::build(&config.worker, KvBackend::Memory).await?;
    let mut failed = false;
    for tenant in &config.tenants {
        if let Err(err) = services::load_pipeline(&tenant.pipeline, &services).await {
            eprintln!("{err}");
            failed = true;
        }
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    let w = &config.worker;
    let protocol = w.protocol.name();
    if !config.requires_api_keys {
        let pipeline = &config.tenants[0].pipeline;
        for stage in &pipeline.stages {
            println!("{}", describe(stage));
        }
        println!(
            "ok: {} stages; {protocol} queue `{}` (prefix `{}`), concurrency {}",
            pipeline.enabled_stages().count(),
            pipeline.worker.queue,
            w.prefix,
            w.concurrency
        );
        return Ok(ExitCode::SUCCESS);
    }
    for tenant in &config.tenants {
        println!(
            "tenant `{}`: queue `{}`, max_slots {}, weight {}, {} API key(s), {}",
            tenant.id,
            tenant.pipeline.worker.queue,
            tenant.max_slots,
            tenant.weight,
            tenant.api_keys.len(),
            tenant.jobs_per_second.map_or("no rate limit".to_string(), |r| format!("{r} requests/s"))
        );
        for stage in &tenant.pipeline.stages {
            println!("  {}", describe(stage));
        }
    }
    println!(
        "ok: {} tenants; {protocol} (prefix `{}`), {} slots shared",
        config.tenants.len(),
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
    let phase: Vec<&str> = stage
        .phases
        .iter()
        .map(|phase| match phase {
            Phase::Pre => "pre",
            Phase::Translate => "translate",
            Phase::Post => "post",
        })
        .collect();
    let phase = phase.join("+");
    let on_error = match stage.on_error {
        OnError::Next => "next".to_string(),
        OnError::Retry => format!("retry×{}", stage.retries),
        OnError::Fail => "fail".to_string(),
    };
    let hosts: Vec<String> = stage.allowed_hosts.iter().map(ToString::to_string).collect();
    let instances = match stage.instances {
        Instances::Reuse { max_reuse } => format!("reuse×{max_reuse}"),
        Instances::Fresh => "fresh".to_string(),
    };
    format!(
        "{:<10} {:<12} {:<9} plugin={plugin} on_error={on_error} timeout={} memory={}MiB instances={instances} hosts=[{}]{}",
        stage.path,
        stage.name,
        phase,
        humantime::format_duration(stage.timeout),
        stage.memory >> 20,
        hosts.join(", "),
        if stage.enabled { "" } else { " (disabled)" }
    )
}
