//! What the config knows of the stages bundled into `lingo`, read from
//! `plugins/bundled.toml`, the one list of them (the build embeds the same
//! list): their names, for messages, and which of them send every call to
//! their `config.url`, for the check that `allowed_hosts` lets it through.

use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Deserialize)]
struct List {
    stage: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    names: Vec<String>,
    #[serde(default)]
    calls_config_url: bool,
}

static LIST: LazyLock<List> = LazyLock::new(|| {
    toml::from_str(include_str!("../../../plugins/bundled.toml")).expect("plugins/bundled.toml is a list of stages")
});

/// Whether the bundled stage `name` sends every call to its `config.url`.
pub(crate) fn calls_config_url(name: &str) -> bool {
    LIST.stage.iter().any(|stage| stage.calls_config_url && stage.names.iter().any(|n| n == name))
}

/// What `plugin` may name: `a bundled plugin (`cache`, …, `openai` (also `vllm`), …) or a path`.
pub(crate) fn plugin_hint() -> String {
    let mut stages: Vec<String> = LIST
        .stage
        .iter()
        .map(|stage| match stage.names.split_first() {
            Some((first, [])) => format!("`{first}`"),
            Some((first, others)) => {
                format!("`{first}` (also {})", others.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
            }
            None => String::new(),
        })
        .collect();
    stages.sort();
    format!("a bundled plugin ({}) or a path to a `.wasm` file", stages.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_llm_clients_call_their_config_url() {
        for name in ["openai", "vllm", "ollama"] {
            assert!(calls_config_url(name), "{name}");
        }
        assert!(!calls_config_url("cache"));
        assert!(!calls_config_url("my-stage.wasm"));
    }

    #[test]
    fn the_hint_names_every_bundled_stage() {
        assert_eq!(
            plugin_hint(),
            "a bundled plugin (`cache`, `detect`, `glossary`, `ollama`, `openai` (also `vllm`), `postprocess`) or a path to a `.wasm` file"
        );
    }
}
