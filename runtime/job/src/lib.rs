//! A job's data, checked: what a producer must send, and the exact reason
//! when it did not. A crate of its own so that the gateway, which checks a
//! request before it queues it, shares the rules with the pipeline without
//! building wasmtime.

use lingo_config::JobLimits;
use serde_json::Value;

/// A translation job as the pipeline sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslationJob {
    /// The chat line.
    pub text: String,
    /// Languages to translate into, deduplicated, in the producer's order.
    pub target_languages: Vec<String>,
    /// The line's language, when the producer knows it.
    pub source_language: Option<String>,
    /// The data's other fields (`channel`, `streamer`, ...) as a JSON
    /// object's text, `{}` when there are none: stages read it, and only
    /// jobs with equal metadata share a translation in flight.
    pub metadata: String,
}

/// The fields the pipeline reads itself; every other field is metadata.
const JOB_FIELDS: [&str; 3] = ["text", "targetLanguages", "sourceLanguage"];

impl TranslationJob {
    /// Parses job data (JSON text), or says exactly what is wrong with it.
    pub fn parse(data: &str, limits: &JobLimits) -> Result<Self, String> {
        let value: Value = serde_json::from_str(data).map_err(|e| match e.to_string() {
            // Valid JSON syntax that JavaScript writes (`JSON.stringify("\ud800")`) but no UTF-8 text can hold.
            why if why.contains("escape") && has_surrogate_escape(data) => {
                format!("job data holds a lone UTF-16 surrogate escape (like \"\\ud800\"), which is not text: {why}")
            }
            why => format!("job data is not JSON: {why}"),
        })?;
        Self::from_value(&value, limits)
    }

    /// The job as data to queue: its checked fields, normalised, and its
    /// metadata fields as they came.
    pub fn data(&self) -> Value {
        let mut data = match serde_json::from_str(&self.metadata) {
            Ok(Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        data.insert("text".into(), self.text.clone().into());
        data.insert("targetLanguages".into(), self.target_languages.clone().into());
        data.insert("sourceLanguage".into(), self.source_language.clone().into());
        Value::Object(data)
    }

    /// Checks already-parsed job data.
    pub fn from_value(value: &Value, limits: &JobLimits) -> Result<Self, String> {
        let Value::Object(fields) = value else {
            return Err(format!(
                "job data must be an object like {{\"text\": \"...\", \"targetLanguages\": [\"en\"]}}, found {}",
                kind(value)
            ));
        };
        let text = match fields.get("text") {
            None => return Err("job data has no `text`".into()),
            Some(Value::String(s)) => s,
            Some(other) => return Err(format!("`text` must be a string, found {}", kind(other))),
        };
        if text.trim().is_empty() {
            return Err("`text` is empty".into());
        }
        if text.len() > limits.max_text_bytes {
            return Err(format!(
                "`text` is {} bytes; the limit is {} (limits.max_text_bytes)",
                text.len(),
                limits.max_text_bytes
            ));
        }
        let target_languages = targets(fields.get("targetLanguages"), limits)?;
        let source_language = match fields.get("sourceLanguage") {
            None | Some(Value::Null) => None,
            Some(Value::String(code)) => Some(language(code, "sourceLanguage")?),
            Some(other) => return Err(format!("`sourceLanguage` must be a language code, found {}", kind(other))),
        };
        let metadata = metadata(fields);
        if metadata.len() > limits.max_metadata_bytes {
            return Err(format!(
                "the job's other fields (beside `text`, `targetLanguages` and `sourceLanguage`) are {} bytes of JSON; \
                 the limit is {} (limits.max_metadata_bytes)",
                metadata.len(),
                limits.max_metadata_bytes
            ));
        }
        Ok(Self { text: text.clone(), target_languages, source_language, metadata })
    }
}

fn targets(value: Option<&Value>, limits: &JobLimits) -> Result<Vec<String>, String> {
    let items = match value {
        None => return Err("job data has no `targetLanguages`".into()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "`targetLanguages` must be an array of language codes like [\"en\"], found {}",
                kind(other)
            ));
        }
    };
    if items.is_empty() {
        return Err("`targetLanguages` is empty".into());
    }
    let mut codes: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("targetLanguages[{i}]");
        let code = match item {
            Value::String(code) => language(code, &field)?,
            other => return Err(format!("`{field}` must be a language code, found {}", kind(other))),
        };
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if codes.len() > limits.max_targets {
        return Err(format!(
            "`targetLanguages` has {} languages; the limit is {} (limits.max_targets)",
            codes.len(),
            limits.max_targets
        ));
    }
    Ok(codes)
}

/// The fields of job data the pipeline does not read, as a JSON object.
fn metadata(fields: &serde_json::Map<String, Value>) -> String {
    if fields.keys().all(|key| JOB_FIELDS.contains(&key.as_str())) {
        return "{}".into();
    }
    let rest: serde_json::Map<String, Value> = fields
        .iter()
        .filter(|(key, _)| !JOB_FIELDS.contains(&key.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(rest).to_string()
}

/// Whether `data` holds a `\uD800`–`\uDFFF` escape: half of a UTF-16 pair.
fn has_surrogate_escape(data: &str) -> bool {
    data.as_bytes().windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2].eq_ignore_ascii_case(&b'd')
            && matches!(w[3].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
    })
}

/// A language code in its normal case (`pt_br` → `pt-BR`), or `None` when
/// `code` is not one: for languages that come from elsewhere than job data
/// (a stage that detects the line's language).
pub fn normal_language(code: &str) -> Option<String> {
    language(code, "language").ok()
}

/// Checks a BCP 47-style code (`en`, `pt-BR`, `zh-Hans`) and normalises its case.
fn language(code: &str, field: &str) -> Result<String, String> {
    let mut parts = code.split(['-', '_']);
    let primary = parts.next().unwrap_or_default();
    let primary_ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
    let rest: Vec<&str> = parts.collect();
    let rest_ok = rest.len() <= 2
        && rest.iter().all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(primary_ok && rest_ok) {
        return Err(format!(
            "`{field}` is `{code}`, which is not a language code (expected ISO 639-1 like `en`, or with a region like `pt-BR`)"
        ));
    }
    let mut normal = primary.to_ascii_lowercase();
    for part in rest {
        normal.push('-');
        normal.push_str(&match part.len() {
            2 => part.to_ascii_uppercase(),
            4 => format!("{}{}", part[..1].to_ascii_uppercase(), part[1..].to_ascii_lowercase()),
            _ => part.to_string(),
        });
    }
    Ok(normal)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> JobLimits {
        JobLimits { max_text_bytes: 16, max_targets: 2, ..JobLimits::default() }
    }

    fn reason(data: &str) -> String {
        TranslationJob::parse(data, &limits()).unwrap_err()
    }

    #[test]
    fn good_job() {
        let job = TranslationJob::parse(
            r#"{"text":"안녕","targetLanguages":["EN","ja","en"],"sourceLanguage":"ko"}"#,
            &limits(),
        )
        .unwrap();
        assert_eq!(job.target_languages, ["en", "ja"]);
        assert_eq!(job.source_language.as_deref(), Some("ko"));
        let job =
            TranslationJob::parse(r#"{"text":"oi","targetLanguages":["pt_br"],"sourceLanguage":null}"#, &limits())
                .unwrap();
        assert_eq!(job.target_languages, ["pt-BR"]);
        assert_eq!(job.metadata, "{}");
    }

    #[test]
    fn other_fields_are_metadata() {
        let data = r#"{"text":"hi","channel":"faker","targetLanguages":["en"],"viewer":{"id":7}}"#;
        let job = TranslationJob::parse(data, &limits()).unwrap();
        let metadata: Value = serde_json::from_str(&job.metadata).unwrap();
        assert_eq!(metadata, serde_json::json!({"channel": "faker", "viewer": {"id": 7}}));
        let again = TranslationJob::from_value(&job.data(), &limits()).unwrap();
        assert_eq!(again, job, "the data to queue reads back as the same job");
    }

    #[test]
    fn every_bad_shape_says_what_is_wrong() {
        assert!(reason("hello").starts_with("job data is not JSON"));
        let surrogate = reason(r#"{"text":"\ud800","targetLanguages":["en"]}"#);
        assert!(surrogate.contains("lone UTF-16 surrogate") && !surrogate.contains("not JSON"), "{surrogate}");
        assert!(reason("\"hello\"").contains("found a string"));
        assert_eq!(reason(r#"{"targetLanguages":["en"]}"#), "job data has no `text`");
        assert_eq!(reason(r#"{"text":5,"targetLanguages":["en"]}"#), "`text` must be a string, found a number");
        assert_eq!(reason(r#"{"text":"  ","targetLanguages":["en"]}"#), "`text` is empty");
        assert!(reason(r#"{"text":"this line is too long","targetLanguages":["en"]}"#).contains("the limit is 16"));
        assert_eq!(reason(r#"{"text":"hi"}"#), "job data has no `targetLanguages`");
        assert!(reason(r#"{"text":"hi","targetLanguages":"en"}"#).contains("must be an array"));
        assert_eq!(reason(r#"{"text":"hi","targetLanguages":[]}"#), "`targetLanguages` is empty");
        assert!(reason(r#"{"text":"hi","targetLanguages":["en","ja","ko"]}"#).contains("the limit is 2"));
        assert!(reason(r#"{"text":"hi","targetLanguages":["english"]}"#).contains("`targetLanguages[0]` is `english`"));
        assert!(reason(r#"{"text":"hi","targetLanguages":[1]}"#).contains("found a number"));
        assert!(reason(r#"{"text":"hi","targetLanguages":["en"],"sourceLanguage":"??"}"#).contains("`sourceLanguage`"));
        let chatty = format!(r#"{{"text":"hi","targetLanguages":["en"],"note":"{}"}}"#, "x".repeat(5000));
        assert!(reason(&chatty).contains("the limit is 4096 (limits.max_metadata_bytes)"), "{}", reason(&chatty));
    }
}
