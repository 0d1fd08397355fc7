//! Variables for `${VAR:-default}` interpolation: the process environment
//! over a `.env` file, as the seed's Python worker read them.

use std::collections::HashMap;
use std::path::Path;

/// The variables a config may refer to.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment, over the `KEY=value` lines of `dotenv` if it
    /// exists (a missing file is not an error).
    pub fn from_process_and_dotenv(dotenv: &Path) -> Self {
        let mut vars = std::fs::read_to_string(dotenv).map(|t| parse_dotenv(&t)).unwrap_or_default();
        vars.extend(std::env::vars());
        Self { vars }
    }

    /// Exactly these variables (for tests and embedding).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Replaces `${VAR}` and `${VAR:-default}` in `text`; `$$` is a literal `$`.
    /// Fails naming the variable when one is unset and has no default.
    pub fn interpolate(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("$$") {
                out.push('$');
                rest = after;
            } else if let Some(body) = rest.strip_prefix("${") {
                let end = body.find('}').ok_or_else(|| format!("`{text}` has a `${{` without its `}}`"))?;
                out.push_str(&self.expand(&body[..end])?);
                rest = &body[end + 1..];
            } else {
                out.push('$');
                rest = &rest[1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn expand(&self, expr: &str) -> Result<String, String> {
        let (name, default) = match expr.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expr, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`${{{expr}}}` is not a variable reference; expected `${{NAME}}` or `${{NAME:-default}}`"
            ));
        }
        match (self.get(name), default) {
            (Some(value), _) => Ok(value.to_string()),
            (None, Some(default)) => Ok(default.to_string()),
            (None, None) => Err(format!("variable `{name}` is not set")),
        }
    }
}

fn parse_dotenv(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("export ").unwrap_or(line).split_once('='))
        .map(|(k, v)| (k.trim().to_string(), unquote(v.trim()).to_string()))
        .collect()
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let env = Env::from_pairs([("SET", "7"), ("EMPTY", "")]);
        assert_eq!(env.interpolate("${SET:-4}").unwrap(), "7");
        assert_eq!(env.interpolate("${UNSET:-4}").unwrap(), "4");
        assert_eq!(env.interpolate("${EMPTY:-4}").unwrap(), "4");
        assert_eq!(env.interpolate("a${SET}b$$c").unwrap(), "a7b$c");
        assert!(env.interpolate("${UNSET}").unwrap_err().contains("`UNSET` is not set"));
        assert!(env.interpolate("${oops").is_err());
    }

    #[test]
    fn dotenv_lines() {
        let vars = parse_dotenv("# comment\nexport A=1\nB=\"two words\"\n\nC='x'\n");
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "x");
    }
}
