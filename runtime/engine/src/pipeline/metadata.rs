//! A job's metadata as each stage sees it: only the fields its `metadata`
//! list names (none unless listed), as a JSON object's text. A unit's key
//! holds the fields its translate and post stages see, so lines whose other
//! fields differ (a user id, a message id) are still translated once.

use serde_json::{Map, Value};

/// A job's metadata, parsed once.
#[derive(Debug, Default)]
pub(super) struct Metadata(Map<String, Value>);

impl Metadata {
    /// The metadata in `text` (a JSON object; anything else is none).
    pub fn parse(text: &str) -> Self {
        if text == "{}" {
            return Self::default();
        }
        match serde_json::from_str(text) {
            Ok(Value::Object(fields)) => Self(fields),
            _ => Self::default(),
        }
    }

    /// The fields named in `fields`, as a JSON object's text.
    pub fn view(&self, fields: &[String]) -> String {
        if self.0.is_empty() || fields.is_empty() {
            return "{}".into();
        }
        let seen: Map<String, Value> =
            fields.iter().filter_map(|field| Some((field.clone(), self.0.get(field)?.clone()))).collect();
        Value::Object(seen).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_sees_only_the_fields_it_lists() {
        let metadata = Metadata::parse(r#"{"channel":"lck","user":"u-81","viewer":{"id":7}}"#);
        assert_eq!(metadata.view(&["channel".into()]), r#"{"channel":"lck"}"#);
        assert_eq!(metadata.view(&["channel".into(), "missing".into()]), r#"{"channel":"lck"}"#);
        assert_eq!(metadata.view(&[]), "{}");
        assert_eq!(Metadata::parse("{}").view(&["channel".into()]), "{}");
    }
}
