//! `lingo try`: one chat line through the pipeline, with an in-memory `kv`
//! and no queue, showing what each stage decided and how long it took.

use std::path::Path;
use std::process::ExitCode;

use lingo_engine::pipeline::Step;

use crate::services::{self, KvBackend};

pub async fn try_line(
    path: &Path,
    to: &[String],
    from: Option<String>,
    json: bool,
    text: &str,
) -> anyhow::Result<ExitCode> {
    let config = lingo_config::load(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let services = services::build(&config.worker, KvBackend::Memory).await?;
    let pipeline = services::load_pipeline(&config, &services).await?;
    let data = serde_json::json!({ "text": text, "targetLanguages": to, "sourceLanguage": from });
    let job = match pipeline.parse_job(&data.to_string()) {
        Ok(job) => job,
        Err(reason) => anyhow::bail!("{reason}"),
    };
    match pipeline.run("try", &job).await {
        Ok(report) if json => {
            println!("{}", serde_json::to_string_pretty(&report.return_value())?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(report) => {
            print_steps(&report.steps);
            println!();
            for (lang, translation) in &report.translations {
                println!("{lang}: {translation}  ({})", report.providers[lang]);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failed) => {
            if !json {
                print_steps(&failed.steps);
                println!();
            }
            eprintln!("error: the job would fail: {}", failed.failure.message());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_steps(steps: &[Step]) {
    println!("{:<14} {:<10} {:<7} {:<11} {:>10}", "stage", "phase", "target", "decision", "time");
    for step in steps {
        println!("{}", step.trace_line());
    }
}
