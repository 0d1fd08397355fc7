//! How the stand-in answers when no fault is injected (it is not a model):
//! the reply shapes real vLLM and Ollama servers send beyond the happy path,
//! each switched on by [`Behaviour`], so the LLM stages are tested against
//! all of them.
//!
//! - **Served models.** With `models` set, a request for any other name gets
//!   404, as vLLM (`The model \`x\` does not exist.`) and Ollama (`model "x"
//!   not found, try pulling it first`) answer.
//! - **Reasoning.** A reasoning model thinks before it answers, and its
//!   thoughts count against the length limit: `inline` puts them in the
//!   content as `<think>…</think>` (a server without a reasoning parser),
//!   `separate` in their own field (`reasoning_content` and `reasoning` in
//!   vLLM's reply, `thinking` in Ollama's). A request that switches thinking
//!   off (`chat_template_kwargs.enable_thinking: false`, Ollama's `think:
//!   false`) gets none.
//! - **Length limits** are always honoured (`max_tokens` or
//!   `max_completion_tokens`, Ollama's `options.num_predict`; a token is four
//!   characters): a reply that would pass the limit is cut there and says so
//!   (`finish_reason`/`done_reason: "length"`); when thinking used the whole
//!   limit, the answer is `null` (vLLM) or empty (Ollama).
//! - **`Retry-After`** of status faults as an HTTP date instead of seconds.
//! - **Mistranslated words.** A model "translates" names and game terms it
//!   should keep (`Faker` → `Fakir`): each `(from, to)` of `mistranslate`
//!   is replaced in every answer.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// The reply shapes switched on; the default is the plain happy path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Behaviour {
    /// The model names served; empty serves any name.
    pub models: Vec<String>,
    /// Where a reasoning model's thoughts go.
    pub reasoning: Reasoning,
    /// How long the thoughts are, in tokens.
    pub reasoning_tokens: u64,
    /// `Retry-After` as an HTTP date rather than seconds.
    pub retry_after_date: bool,
    /// Words the model gets wrong: each `from` in an answer becomes `to`.
    pub mistranslate: Vec<(String, String)>,
}

/// Where reasoning goes in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reasoning {
    /// No reasoning: an instruct model.
    #[default]
    None,
    /// `<think>…</think>` before the answer, in the content.
    Inline,
    /// In a field of its own beside the content.
    Separate,
}

impl FromStr for Reasoning {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "none" => Ok(Reasoning::None),
            "inline" => Ok(Reasoning::Inline),
            "separate" => Ok(Reasoning::Separate),
            other => Err(format!("reasoning `{other}` is not `none`, `inline` or `separate`")),
        }
    }
}

/// A reply's parts, before they are put in either API's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Composed {
    /// The content; `None` when thinking left no room for an answer.
    pub content: Option<String>,
    /// Reasoning for its own field (`separate` only).
    pub reasoning: Option<String>,
    /// `"stop"`, or `"length"` when the limit cut the reply.
    pub finish: &'static str,
}

/// What a request asked for that shapes its reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub target: &'a str,
    /// The length limit in tokens, if any.
    pub limit: Option<u64>,
    /// False when the request switched thinking off.
    pub thinking: bool,
}

impl Behaviour {
    /// Whether model `name` is served.
    pub(crate) fn serves(&self, name: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|m| m == name)
    }

    /// The reply to a request whose translation is `answer`.
    pub(crate) fn compose(&self, answer: &str, asked: Asked<'_>) -> Composed {
        let answer = &self.mistranslate.iter().fold(answer.to_string(), |answer, (from, to)| answer.replace(from, to));
        let budget =
            asked.limit.map_or(usize::MAX, |tokens| usize::try_from(tokens.saturating_mul(4)).unwrap_or(usize::MAX));
        let thought = (self.reasoning != Reasoning::None && asked.thinking).then(|| self.thought(asked.target));
        let Some(thought) = thought else {
            let (answer, finish) = cut(answer, budget);
            return Composed { content: Some(answer), reasoning: None, finish };
        };
        let (thought, thought_finish) = cut(&thought, budget);
        let room = budget.saturating_sub(thought.chars().count());
        let (answer, finish) = if thought_finish == "length" { (String::new(), "length") } else { cut(answer, room) };
        match self.reasoning {
            Reasoning::Inline if finish == "length" && answer.is_empty() => {
                Composed { content: Some(format!("<think>\n{thought}")), reasoning: None, finish }
            }
            Reasoning::Inline => {
                Composed { content: Some(format!("<think>\n{thought}\n</think>\n\n{answer}")), reasoning: None, finish }
            }
            _ => Composed { content: (!answer.is_empty()).then_some(answer), reasoning: Some(thought), finish },
        }
    }

    /// A thought `reasoning_tokens` long.
    fn thought(&self, target: &str) -> String {
        let base = format!("The user wants this chat line in {target}. Keep the tone and the emoji. ");
        base.chars().cycle().take(usize::try_from(self.reasoning_tokens.saturating_mul(4)).unwrap_or(0)).collect()
    }

    /// A `Retry-After` value for a wait of `secs`.
    pub(crate) fn retry_after(&self, secs: u64) -> String {
        if self.retry_after_date {
            httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs))
        } else {
            secs.to_string()
        }
    }
}

/// `text` cut to `max` characters, and whether the limit cut it.
fn cut(text: &str, max: usize) -> (String, &'static str) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (text[..at].to_string(), "length"),
        None => (text.to_string(), "stop"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(limit: Option<u64>, thinking: bool) -> Asked<'static> {
        Asked { target: "de", limit, thinking }
    }

    #[test]
    fn the_happy_path_is_the_answer_alone() {
        let plain = Behaviour::default().compose("Hallo zusammen", asked(None, true));
        assert_eq!(plain, Composed { content: Some("Hallo zusammen".into()), reasoning: None, finish: "stop" });
    }

    #[test]
    fn a_limit_cuts_the_answer_and_says_length() {
        let cut = Behaviour::default().compose("Hallo zusammen", asked(Some(2), true));
        assert_eq!(cut, Composed { content: Some("Hallo zu".into()), reasoning: None, finish: "length" });
    }

    #[test]
    fn reasoning_goes_inline_or_apart_and_counts_against_the_limit() {
        let inline = Behaviour { reasoning: Reasoning::Inline, reasoning_tokens: 5, ..Default::default() };
        let reply = inline.compose("Hallo", asked(None, true));
        assert_eq!(reply.content.as_deref(), Some("<think>\nThe user wants this \n</think>\n\nHallo"));
        let separate = Behaviour { reasoning: Reasoning::Separate, ..inline.clone() };
        let reply = separate.compose("Hallo", asked(None, true));
        assert_eq!(
            (reply.content.as_deref(), reply.reasoning.as_deref()),
            (Some("Hallo"), Some("The user wants this "))
        );
        // Thinking fills the whole limit: no answer.
        let spent = separate.compose("Hallo", asked(Some(5), true));
        assert_eq!((spent.content, spent.finish), (None, "length"));
        let spent_inline = inline.compose("Hallo", asked(Some(5), true));
        assert_eq!(spent_inline.content.as_deref(), Some("<think>\nThe user wants this "));
        // Switched off by the request.
        assert_eq!(separate.compose("Hallo", asked(Some(5), false)).content.as_deref(), Some("Hallo"));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(Behaviour::default().retry_after(2), "2");
        let date = Behaviour { retry_after_date: true, ..Default::default() }.retry_after(2);
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }
}
