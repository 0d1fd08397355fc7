//! `lingo new stage NAME`: a stage project anywhere on disk that builds with
//! one command and without the lingo repository. The binary carries what the
//! project needs (`runtime/lingo/templates/`, the SDK of `plugins/sdk`, and
//! `wit/pipeline.wit`), so a project is pinned to the contract of the lingo
//! that wrote it. Each template is a working stage with a passing test of
//! its logic and a `pipeline.toml` that runs it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use lingo_engine::bindings::CONTRACT;

use crate::cli::{Lang, NewPhase, NewStageArgs};

const WIT: &str = include_str!("../../../../wit/pipeline.wit");
const PIPELINE: &str = include_str!("../../templates/pipeline.toml");

/// (path in the project, text) of the Rust template.
const RUST: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../templates/stage-rust/Cargo.toml")),
    (".gitignore", include_str!("../../templates/stage-rust/gitignore")),
    ("README.md", include_str!("../../templates/stage-rust/README.md")),
    ("src/lib.rs", include_str!("../../templates/stage-rust/src/lib.rs")),
    // The guests' stack size, as the bundled stages are built.
    (".cargo/config.toml", include_str!("../../../../plugins/.cargo/config.toml")),
    // The versions the bundled stages are built and tested with.
    ("Cargo.lock", include_str!("../../../../plugins/Cargo.lock")),
    ("sdk/Cargo.toml", include_str!("../../templates/sdk-Cargo.toml")),
    ("sdk/src/lib.rs", include_str!("../../../../plugins/sdk/src/lib.rs")),
    ("sdk/src/http.rs", include_str!("../../../../plugins/sdk/src/http.rs")),
    ("sdk/src/kv.rs", include_str!("../../../../plugins/sdk/src/kv.rs")),
    ("sdk/src/log.rs", include_str!("../../../../plugins/sdk/src/log.rs")),
    ("sdk/src/prompt.rs", include_str!("../../../../plugins/sdk/src/prompt.rs")),
    ("sdk/src/reply.rs", include_str!("../../../../plugins/sdk/src/reply.rs")),
    ("sdk/src/scratch.rs", include_str!("../../../../plugins/sdk/src/scratch.rs")),
    ("sdk/wit/pipeline.wit", WIT),
];

/// (path in the project, text) of the TypeScript template.
const TS: &[(&str, &str)] = &[
    ("package.json", include_str!("../../templates/stage-ts/package.json")),
    ("tsconfig.json", include_str!("../../templates/stage-ts/tsconfig.json")),
    (".gitignore", include_str!("../../templates/stage-ts/gitignore")),
    ("README.md", include_str!("../../templates/stage-ts/README.md")),
    ("src/stage.ts", include_str!("../../templates/stage-ts/src/stage.ts")),
    ("src/terms.ts", include_str!("../../templates/stage-ts/src/terms.ts")),
    ("src/terms.test.ts", include_str!("../../templates/stage-ts/src/terms.test.ts")),
    ("src/lingo/index.ts", include_str!("../../templates/stage-ts/src/lingo/index.ts")),
    ("src/lingo/host.ts", include_str!("../../templates/stage-ts/src/lingo/host.ts")),
    ("wit/pipeline.wit", WIT),
];

pub fn new_stage(args: &NewStageArgs) -> anyhow::Result<ExitCode> {
    let project = Project::new(args)?;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{} exists and is not empty", dir.display());
    }
    for (path, text) in project.files() {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in the project"))
            .with_context(|| format!("creating {}", path.display()))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} ({} stage in {}, for {CONTRACT})", dir.display(), project.phase, project.lang_name());
    println!("\n  cd {}", dir.display());
    for step in project.next_steps() {
        println!("  {step}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What the templates are filled with.
struct Project {
    name: String,
    lang: Lang,
    phase: &'static str,
}

impl Project {
    fn new(args: &NewStageArgs) -> anyhow::Result<Self> {
        let name = &args.name;
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            bail!("`{name}` is not a stage name: use lowercase letters, digits and `-`, starting with a letter");
        }
        let phase = match args.phase {
            NewPhase::Pre => "pre",
            NewPhase::Translate => "translate",
            NewPhase::Post => "post",
        };
        Ok(Self { name: name.clone(), lang: args.lang, phase })
    }

    fn lang_name(&self) -> &'static str {
        match self.lang {
            Lang::Rust => "Rust",
            Lang::Ts => "TypeScript",
        }
    }

    /// The component's file name, without `.wasm`: cargo writes `-` as `_`.
    fn artifact(&self) -> String {
        match self.lang {
            Lang::Rust => self.name.replace('-', "_"),
            Lang::Ts => self.name.clone(),
        }
    }

    /// Where the build puts the component, relative to the project.
    fn wasm(&self) -> String {
        match self.lang {
            Lang::Rust => format!("target/wasm32-wasip2/release/{}.wasm", self.artifact()),
            Lang::Ts => format!("{}.wasm", self.artifact()),
        }
    }

    /// Every file of the project, its placeholders filled.
    fn files(&self) -> Vec<(&'static str, String)> {
        let template = match self.lang {
            Lang::Rust => RUST,
            Lang::Ts => TS,
        };
        let mut files: Vec<(&'static str, String)> =
            template.iter().map(|(path, text)| (*path, self.fill(&sdk_for_project(path, text)))).collect();
        files.push(("pipeline.toml", self.fill(PIPELINE)));
        if self.lang == Lang::Ts {
            let types = super::wit_ts::declarations(WIT).expect("the WIT this binary carries parses");
            files.push(("src/lingo/wit.d.ts", types));
        }
        files
    }

    fn fill(&self, text: &str) -> String {
        text.replace("{{name}}", &self.name)
            .replace("{{crate}}", &self.artifact())
            .replace("{{phase}}", self.phase)
            .replace("{{wasm}}", &self.wasm())
            .replace("{{contract}}", CONTRACT)
            .replace("{{contract_version}}", CONTRACT.split_once('@').map_or("", |(_, version)| version))
    }

    fn next_steps(&self) -> Vec<String> {
        let build = match self.lang {
            Lang::Rust => vec![
                "rustup target add wasm32-wasip2                # once".to_string(),
                "cargo test                                     # the stage's logic".to_string(),
                "cargo build --release --target wasm32-wasip2   # the component".to_string(),
            ],
            Lang::Ts => vec![
                "npm install".to_string(),
                "npm test                                       # the stage's logic".to_string(),
                "npm run build                                  # the component".to_string(),
            ],
        };
        let run = [
            "lingo dev-llm &                                # the stand-in LLM server".to_string(),
            "lingo try --config pipeline.toml --to en \"gg\"".to_string(),
        ];
        build.into_iter().chain(run).collect()
    }
}

/// The SDK as this repository builds it reads the WIT from `../../wit`; in a
/// project the WIT sits beside it, in `sdk/wit`.
fn sdk_for_project(path: &str, text: &str) -> String {
    if path == "sdk/src/lib.rs" { text.replace("path: \"../../wit\"", "path: \"wit\"") } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn args(name: &str, lang: Lang) -> NewStageArgs {
        NewStageArgs { name: name.into(), lang, phase: NewPhase::Post, dir: None }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for lang in [Lang::Rust, Lang::Ts] {
            let project = Project::new(&args("my-terms", lang)).unwrap();
            for (path, text) in project.files() {
                assert!(!text.contains("{{"), "{path} keeps a placeholder");
            }
        }
    }

    #[test]
    fn the_written_sdk_reads_the_wit_beside_it() {
        let project = Project::new(&args("x", Lang::Rust)).unwrap();
        let files = project.files();
        let sdk = &files.iter().find(|(path, _)| *path == "sdk/src/lib.rs").unwrap().1;
        assert!(sdk.contains("path: \"wit\""), "the SDK must read sdk/wit");
        let wit = &files.iter().find(|(path, _)| *path == "sdk/wit/pipeline.wit").unwrap().1;
        assert!(wit.contains(&format!("package {CONTRACT};")), "the WIT is the contract this lingo speaks");
    }

    #[test]
    fn the_written_sdk_has_every_module_of_the_sdk() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk/src");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let path = format!("sdk/src/{name}");
            assert!(RUST.iter().any(|(p, _)| *p == path), "{path} is not written by `lingo new stage`");
        }
    }

    #[test]
    fn the_typescript_sdk_imports_the_contract_this_lingo_speaks() {
        let version = CONTRACT.split_once('@').unwrap().1;
        for (path, text) in Project::new(&args("x", Lang::Ts)).unwrap().files() {
            for (at, _) in text.match_indices("'lingo:pipeline/") {
                let import = &text[at + 1..][..text[at + 1..].find('\'').unwrap()];
                assert!(import.ends_with(&format!("@{version}")), "{path}: `{import}` is not `@{version}`");
            }
        }
    }

    #[test]
    fn the_pipeline_runs_the_component_the_build_writes() {
        let rust = Project::new(&args("my-terms", Lang::Rust)).unwrap();
        let pipeline = &rust.files().into_iter().find(|(path, _)| *path == "pipeline.toml").unwrap().1;
        assert!(pipeline.contains("plugin = \"target/wasm32-wasip2/release/my_terms.wasm\""), "{pipeline}");
        let ts = Project::new(&args("my-terms", Lang::Ts)).unwrap();
        let package = &ts.files().into_iter().find(|(path, _)| *path == "package.json").unwrap().1;
        assert!(package.contains("-o my-terms.wasm"), "{package}");
    }

    /// The written SDK depends on what the bundled stages are built with.
    #[test]
    fn the_sdk_pins_the_versions_of_the_plugins_workspace() {
        let workspace = include_str!("../../../../plugins/Cargo.toml");
        for line in
            include_str!("../../templates/sdk-Cargo.toml").lines().skip_while(|l| *l != "[dependencies]").skip(1)
        {
            assert!(workspace.lines().any(|l| l == line), "plugins/Cargo.toml has no `{line}`");
        }
    }

    #[test]
    fn a_name_cargo_and_npm_accept() {
        assert!(Project::new(&args("glossary-2", Lang::Rust)).is_ok());
        for bad in ["Glossary", "2x", "a b", "a_b", ""] {
            assert!(Project::new(&args(bad, Lang::Rust)).is_err(), "`{bad}` accepted");
        }
    }
}
