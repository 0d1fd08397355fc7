//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// A drop-in Bull worker that translates chat through WebAssembly stages.
#[derive(Debug, Parser)]
#[command(name = "lingo", version)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "human", env = "LINGO_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event; coloured on a terminal unless `NO_COLOR` is set.
    Human,
    /// One JSON object per event.
    Json,
}

/// Where the pipeline file is.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The pipeline file, or a hosted config with `[[tenant]]` tables.
    #[arg(long, short, env = "LINGO_CONFIG", default_value = "pipeline.toml")]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take jobs from the queue and translate them (a pipeline.toml, or a
    /// hosted config with `[[tenant]]` tables). SIGHUP reloads the config.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Also reload when a config file or a stage's `.wasm` changes.
        #[arg(long)]
        watch: bool,
    },
    /// Ask a running worker to reload its config (through `worker.admin_listen`).
    Reload {
        /// The worker's admin address.
        #[arg(long, env = "LINGO_ADMIN", default_value = "127.0.0.1:9464")]
        admin: SocketAddr,
        /// The worker's `admin_token`, if it has one.
        #[arg(long, env = "LINGO_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Show a running worker's health, tenants and last reload.
    Status {
        /// The worker's admin address.
        #[arg(long, env = "LINGO_ADMIN", default_value = "127.0.0.1:9464")]
        admin: SocketAddr,
    },
    /// Validate a pipeline: every error, or one line per stage.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run one line through the pipeline without Redis, showing each stage.
    Try {
        #[command(flatten)]
        config: ConfigArg,
        /// Target languages, comma-separated (`en,ja`).
        #[arg(long, value_delimiter = ',', required_unless_present = "stage_tests")]
        to: Vec<String>,
        /// The line's language, if known.
        #[arg(long)]
        from: Option<String>,
        /// Print exactly the job's return value as JSON.
        #[arg(long)]
        json: bool,
        /// Print the text each stage received and returned.
        #[arg(long)]
        show_text: bool,
        /// Run the golden cases of a TOML file instead of one line: `[[case]]`
        /// tables with `text`, `to`, optional `from`, and `expect` (language → translation).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["text", "json"])]
        stage_tests: Option<PathBuf>,
        /// The chat line.
        #[arg(required_unless_present = "stage_tests")]
        text: Option<String>,
    },
    /// Serve `POST /api/v1/translate`: add a job, wait for its result.
    Gateway {
        #[command(flatten)]
        config: ConfigArg,
        /// Address to listen on (default: `gateway.listen`, `127.0.0.1:3000`).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// How long a request waits for its job (default: `gateway.queue_timeout`, 30 s).
        #[arg(long, env = "QUEUE_TIMEOUT", value_parser = humantime::parse_duration)]
        queue_timeout: Option<Duration>,
    },
    /// Import known translations into the pipeline's cache stages (JSON lines:
    /// `{"text", "target", "translation", "source"?}`).
    CacheImport {
        #[command(flatten)]
        config: ConfigArg,
        /// The file of JSON lines; `-` for stdin.
        file: PathBuf,
    },
    /// The whole system in one command: Redis, the stand-in LLM, worker, gateway, a burst of chat.
    Demo {
        /// Leave everything running afterwards and print how to reach it.
        #[arg(long)]
        keep_running: bool,
    },
    /// Serve the stand-in LLM server (Ollama and OpenAI-compatible APIs; not a model).
    DevLlm(DevLlmArgs),
    /// Write a new project: `lingo new stage NAME`.
    #[command(subcommand)]
    New(New),
}

/// What `lingo new` writes.
#[derive(Debug, Subcommand)]
pub enum New {
    /// A stage project that builds with one command, without the lingo repository.
    Stage(NewStageArgs),
}

/// `lingo new stage`'s arguments.
#[derive(Debug, clap::Args)]
pub struct NewStageArgs {
    /// The stage's name: lowercase letters, digits and `-` (the folder, unless `--dir`).
    pub name: String,
    /// The language it is written in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// The phase its `pipeline.toml` runs it in.
    #[arg(long, value_enum, default_value = "post")]
    pub phase: NewPhase,
    /// Where to write it (default: `./NAME`); must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// A guest language `lingo new stage` has a template for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, with the lingo SDK crate.
    Rust,
    /// TypeScript, built into a component with componentize-js.
    Ts,
}

/// A stage's phase, as `pipeline.toml` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewPhase {
    Pre,
    Translate,
    Post,
}

/// `lingo dev-llm`'s flags: latency, faults, and the reply shapes real
/// servers send beyond the happy path.
#[derive(Debug, clap::Args)]
pub struct DevLlmArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Reply latency.
    #[arg(long, default_value = "200ms", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Random extra latency, up to this much either way.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    pub jitter: Duration,
    /// Fault to inject: `none`, `status:503`, `status:429:2`, `slow:2s`, `malformed`, `drop`, `redirect:URL`.
    #[arg(long, default_value = "none")]
    pub fault: String,
    /// Fraction of requests that get the fault (0 to 1).
    #[arg(long)]
    pub fail_rate: Option<f64>,
    /// Serve only this model name (repeat for more); others get 404. Unset serves any name.
    #[arg(long = "served-model", value_name = "NAME")]
    pub served_models: Vec<String>,
    /// Think before answering: `none`, `inline` (`<think>` in the content) or `separate` (its own field).
    #[arg(long, default_value = "none")]
    pub reasoning: String,
    /// How long the thinking is, in tokens (it counts against the request's length limit).
    #[arg(long, default_value_t = 40)]
    pub reasoning_tokens: u64,
    /// Send `Retry-After` as an HTTP date instead of seconds.
    #[arg(long)]
    pub retry_after_date: bool,
    /// Require `Authorization: Bearer <KEY>` on model requests.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Get a word wrong, as models do with names: FROM becomes TO in every answer (repeat for more).
    #[arg(long, value_name = "FROM=TO")]
    pub mistranslate: Vec<String>,
}
