//! Reading typed fields out of a TOML table while collecting every error.
//!
//! Values may be written natively (`concurrency = 8`) or as strings that come
//! from the environment (`concurrency = "${WORKER_CONCURRENCY:-4}"`): every
//! string is interpolated first, and the typed readers accept both forms.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

use crate::env::Env;
use crate::error::ConfigError;
use crate::units::{parse_bytes, parse_duration};

/// The errors of one config file, gathered as reading goes.
pub(crate) struct Errors<'e> {
    pub file: PathBuf,
    pub env: &'e Env,
    pub list: Vec<ConfigError>,
}

impl Errors<'_> {
    pub fn push(&mut self, path: &str, message: impl Into<String>) {
        self.list.push(ConfigError::new(&self.file, path, message));
    }

    pub fn push_hint(&mut self, path: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.list.push(ConfigError::new(&self.file, path, message).with_hint(hint));
    }

    pub fn file(&self) -> &Path {
        &self.file
    }
}

/// One table being read; keys are taken out as they are read so that what
/// remains at [`Fields::finish`] is unknown, and the keys the reader asked
/// for are the known ones: no list of keys is kept beside the reader.
pub(crate) struct Fields {
    path: String,
    table: Table,
    /// Every key asked for, present or not, in order.
    asked: Vec<String>,
}

impl Fields {
    pub fn new(path: impl Into<String>, table: Table) -> Self {
        Self { path: path.into(), table, asked: Vec::new() }
    }

    /// The TOML path of `key` in this table.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        if !self.asked.iter().any(|k| k == key) {
            self.asked.push(key.to_string());
        }
        self.table.remove(key)
    }

    /// A string, interpolated.
    pub fn string(&mut self, key: &str, errors: &mut Errors) -> Option<String> {
        let path = self.path_of(key);
        match self.take(key)? {
            Value::String(s) => interpolate(&s, &path, errors),
            other => {
                errors.push(&path, format!("expected a string, found {}", kind(&other)));
                None
            }
        }
    }

    /// A value parsed from a string (or a native TOML value rendered as one).
    pub fn parsed<T>(
        &mut self,
        key: &str,
        expected: &str,
        errors: &mut Errors,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let path = self.path_of(key);
        let text = match self.take(key)? {
            Value::String(s) => interpolate(&s, &path, errors)?,
            Value::Integer(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Boolean(b) => b.to_string(),
            other => {
                errors.push(&path, format!("expected {expected}, found {}", kind(&other)));
                return None;
            }
        };
        let value = parse(&text);
        if value.is_none() {
            errors.push(&path, format!("expected {expected}, found `{text}`"));
        }
        value
    }

    pub fn bool(&mut self, key: &str, errors: &mut Errors) -> Option<bool> {
        self.parsed(key, "`true` or `false`", errors, |t| match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" | "" => Some(false),
            _ => None,
        })
    }

    pub fn uint(&mut self, key: &str, range: std::ops::RangeInclusive<u64>, errors: &mut Errors) -> Option<u64> {
        let expected = format!("a whole number from {} to {}", range.start(), range.end());
        self.parsed(key, &expected, errors, |t| t.trim().parse::<u64>().ok().filter(|n| range.contains(n)))
    }

    pub fn duration(&mut self, key: &str, errors: &mut Errors) -> Option<Duration> {
        self.parsed(key, "a duration like `250ms`, `5s` or `2m`", errors, |t| {
            parse_duration(t).filter(|d| !d.is_zero())
        })
    }

    pub fn bytes(&mut self, key: &str, errors: &mut Errors) -> Option<u64> {
        self.parsed(key, "a size like `64MiB` or `512KiB`", errors, parse_bytes)
    }

    /// One string or a list of them (`phase = "post"`, `phase = ["pre", "post"]`).
    pub fn one_or_many(&mut self, key: &str, errors: &mut Errors) -> Option<Vec<String>> {
        match self.table.get(key) {
            Some(Value::Array(_)) => self.strings(key, errors),
            _ => self.string(key, errors).map(|one| vec![one]),
        }
    }

    /// A list of strings, each interpolated.
    pub fn strings(&mut self, key: &str, errors: &mut Errors) -> Option<Vec<String>> {
        let path = self.path_of(key);
        match self.take(key)? {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, item)| match item {
                        Value::String(s) => interpolate(&s, &format!("{path}[{i}]"), errors),
                        other => {
                            errors.push(&format!("{path}[{i}]"), format!("expected a string, found {}", kind(&other)));
                            None
                        }
                    })
                    .collect(),
            ),
            other => {
                errors.push(&path, format!("expected a list of strings, found {}", kind(&other)));
                None
            }
        }
    }

    /// A sub-table, as its own [`Fields`].
    pub fn table(&mut self, key: &str, errors: &mut Errors) -> Option<Fields> {
        let path = self.path_of(key);
        match self.take(key)? {
            Value::Table(t) => Some(Fields::new(path, t)),
            other => {
                errors.push(&path, format!("expected a table, found {}", kind(&other)));
                None
            }
        }
    }

    /// A list of tables (`[[stage]]`).
    pub fn tables(&mut self, key: &str, errors: &mut Errors) -> Vec<Fields> {
        match self.take(key) {
            None => vec![],
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let path = format!("{key}[{i}]");
                    match item {
                        Value::Table(t) => Some(Fields::new(path, t)),
                        other => {
                            errors.push(&path, format!("expected a table, found {}", kind(&other)));
                            None
                        }
                    }
                })
                .collect(),
            Some(other) => {
                errors.push_hint(
                    key,
                    format!("expected tables, found {}", kind(&other)),
                    format!("write each as `[[{key}]]`"),
                );
                vec![]
            }
        }
    }

    /// Any value, interpolated throughout, as JSON (a plugin's `config`).
    pub fn json(&mut self, key: &str, errors: &mut Errors) -> Option<serde_json::Value> {
        let path = self.path_of(key);
        let value = self.take(key)?;
        to_json(value, &path, errors)
    }

    /// Reports every key not read as unknown, suggesting the closest known one.
    pub fn finish(self, errors: &mut Errors) {
        let known: Vec<&str> = self.asked.iter().map(String::as_str).collect();
        let known = known.as_slice();
        for key in self.table.keys() {
            let path = self.path_of(key);
            let message = format!("unknown key `{key}`");
            match closest(key, known) {
                Some(near) => errors.push_hint(&path, message, format!("did you mean `{near}`?")),
                None => errors.push_hint(&path, message, format!("known keys here: {}", known.join(", "))),
            }
        }
    }
}

fn interpolate(text: &str, path: &str, errors: &mut Errors) -> Option<String> {
    match errors.env.interpolate(text) {
        Ok(s) => Some(s),
        Err(why) => {
            let name = text.split("${").nth(1).and_then(|r| r.split(['}', ':']).next()).unwrap_or("NAME");
            errors.push_hint(path, why, format!("set {name}, or give a default: `${{{name}:-value}}`"));
            None
        }
    }
}

fn to_json(value: Value, path: &str, errors: &mut Errors) -> Option<serde_json::Value> {
    Some(match value {
        Value::String(s) => serde_json::Value::String(interpolate(&s, path, errors)?),
        Value::Integer(i) => i.into(),
        Value::Float(f) => serde_json::Number::from_f64(f).map(Into::into).unwrap_or(serde_json::Value::Null),
        Value::Boolean(b) => b.into(),
        Value::Datetime(d) => d.to_string().into(),
        Value::Array(items) => serde_json::Value::Array(
            items.into_iter().enumerate().filter_map(|(i, v)| to_json(v, &format!("{path}[{i}]"), errors)).collect(),
        ),
        Value::Table(t) => serde_json::Value::Object(
            t.into_iter().filter_map(|(k, v)| Some((k.clone(), to_json(v, &format!("{path}.{k}"), errors)?))).collect(),
        ),
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// The known key within edit distance 2 of `key`, if any.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known.iter().map(|k| (edit_distance(key, k), *k)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
