//! `lingo try`: one chat line through the pipeline, with an in-memory `kv`
//! and no queue, showing what each stage decided and how long it took (and
//! with `--show-text`, the text each stage received and returned); or, with
//! `--stage-tests`, a file of golden cases, each reported.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use lingo_engine::Pipeline;
use lingo_engine::pipeline::{JobReport, Step};
use serde::Deserialize;

use crate::services::{self, KvBackend};

/// One line to translate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub text: String,
    pub to: Vec<String>,
    #[serde(default)]
    pub from: Option<String>,
}

pub async fn try_line(path: &Path, line: &Line, json: bool, show_text: bool) -> anyhow::Result<ExitCode> {
    let pipeline = load(path).await?;
    match run(&pipeline, line).await? {
        Ok(report) if json => {
            println!("{}", serde_json::to_string_pretty(&report.return_value())?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(report) => {
            print_steps(&line.text, &report.steps, show_text);
            println!();
            for (lang, translation) in &report.translations {
                println!("{lang}: {translation}  ({})", report.providers[lang]);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err((steps, message)) => {
            if !json {
                print_steps(&line.text, &steps, show_text);
                println!();
            }
            eprintln!("error: the job would fail: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A `--stage-tests` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

/// One golden case: a line and the translation expected per language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(flatten)]
    line: Line,
    expect: BTreeMap<String, String>,
}

pub async fn stage_tests(path: &Path, cases: &Path, show_text: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(cases).with_context(|| format!("reading {}", cases.display()))?;
    let cases: Cases =
        toml::from_str(&text).with_context(|| format!("{} is not a file of `[[case]]` tables", cases.display()))?;
    let pipeline = load(path).await?;
    let mut failed = 0;
    for (i, case) in cases.case.iter().enumerate() {
        let label = format!("case {} ({:?} → {})", i + 1, case.line.text, case.line.to.join(","));
        let (steps, problems) = match run(&pipeline, &case.line).await? {
            Ok(report) => (report.steps.clone(), mismatches(&case.expect, &report)),
            Err((steps, message)) => (steps, vec![format!("the job would fail: {message}")]),
        };
        if problems.is_empty() {
            println!("ok    {label}");
        } else {
            failed += 1;
            println!("FAIL  {label}");
            for problem in &problems {
                println!("      {problem}");
            }
        }
        if show_text || !problems.is_empty() {
            print_steps(&case.line.text, &steps, true);
            println!();
        }
    }
    println!("{} passed, {failed} failed", cases.case.len() - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What differs between the translations expected and those made.
fn mismatches(expect: &BTreeMap<String, String>, report: &JobReport) -> Vec<String> {
    expect
        .iter()
        .filter_map(|(lang, want)| match report.translations.get(lang) {
            Some(got) if got == want => None,
            Some(got) => Some(format!("{lang}: expected {want:?}, got {got:?} ({})", report.providers[lang])),
            None => Some(format!("{lang}: expected {want:?}, got no translation")),
        })
        .collect()
}

async fn load(path: &Path) -> anyhow::Result<Pipeline> {
    let config = lingo_config::load(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let services = services::build(&config.worker, KvBackend::Memory).await?;
    services::load_pipeline(&config, &services).await
}

/// The line's report, or the steps that ran and why the job would fail.
async fn run(pipeline: &Pipeline, line: &Line) -> anyhow::Result<Result<JobReport, (Vec<Step>, String)>> {
    let data = serde_json::json!({ "text": line.text, "targetLanguages": line.to, "sourceLanguage": line.from });
    let job = pipeline.parse_job(&data.to_string()).map_err(|reason| anyhow::anyhow!("{reason}"))?;
    Ok(pipeline.run("try", &job).await.map_err(|failed| (failed.steps, failed.failure.message().to_string())))
}

/// The trace; with `show_text`, under each step the text it received and
/// the text it returned. A stage receives the line as the `pre` stages left
/// it (translate), or its target's translation so far (post).
fn print_steps(line: &str, steps: &[Step], show_text: bool) {
    println!("{:<14} {:<10} {:<7} {:<11} {:>10}", "stage", "phase", "target", "decision", "time");
    let mut text = line.to_string();
    let mut translations: BTreeMap<&str, String> = BTreeMap::new();
    for step in steps {
        println!("{}", step.trace_line());
        if !show_text {
            continue;
        }
        let received = match (step.phase, step.target.as_deref()) {
            (lingo_config::Phase::Post, Some(target)) => translations.get(target).cloned().unwrap_or_default(),
            _ => text.clone(),
        };
        println!("{:<14} in:  {received:?}", "");
        if let Some(output) = &step.output {
            println!("{:<14} out: {output:?}", "");
            match (step.phase, step.target.as_deref()) {
                (lingo_config::Phase::Pre, _) => text = output.clone(),
                (_, Some(target)) => {
                    translations.insert(target, output.clone());
                }
                _ => {}
            }
        }
    }
}
