//! One module per subcommand.

mod admin_client;
mod cache_import;
mod check;
mod demo;
mod dev_llm;
mod gateway;
mod new_stage;
mod run;
mod try_line;
mod wit_ts;

use std::process::ExitCode;

use crate::cli::Command;

/// Runs a subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config, watch } => run::run(&config.config, watch).await,
        Command::Reload { admin, token } => admin_client::reload(admin, token.as_deref()).await,
        Command::Status { admin } => admin_client::status(admin).await,
        Command::Check { config } => check::check(&config.config).await,
        Command::Try { config, to, from, json, show_text, stage_tests, text } => match (stage_tests, text) {
            (Some(cases), _) => try_line::stage_tests(&config.config, &cases, show_text).await,
            (None, Some(text)) => {
                let line = try_line::Line { to, from, text };
                try_line::try_line(&config.config, &line, json, show_text).await
            }
            (None, None) => unreachable!("clap requires a line or --stage-tests"),
        },
        Command::Gateway { config, listen, queue_timeout } => {
            gateway::serve(&config.config, listen, queue_timeout).await
        }
        Command::CacheImport { config, file } => cache_import::import(&config.config, &file).await,
        Command::Demo { keep_running } => demo::demo(keep_running).await,
        Command::DevLlm(args) => dev_llm::serve(args).await,
        Command::New(crate::cli::New::Stage(args)) => new_stage::new_stage(&args),
    }
}
