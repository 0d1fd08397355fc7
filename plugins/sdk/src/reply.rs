//! What LLM servers send back, made into a stage's outcome: the one place
//! that decides when a reply is a translation, so every LLM stage agrees.
//!
//! - **Reasoning** never reaches chat. Servers that keep it apart
//!   (`reasoning_content`/`reasoning` in vLLM, `thinking` in Ollama) need
//!   nothing: only the answer's content is read. Servers without a reasoning
//!   parser put it inline, `<think>…</think>` before the answer; it is cut out.
//! - **A reply cut off by the length limit** (`finish_reason: "length"`,
//!   `done_reason: "length"`) is not a translation and is never cached: the
//!   stage fails with [`StageError::Fatal`], since asking again with the same
//!   limit gives the same cut. With `on_error = "next"` the next stage
//!   translates instead. The same holds when thinking used up the whole limit
//!   and the answer is empty or `null`, or the reasoning never closed.
//! - An empty answer for any other reason may pass: [`StageError::Retryable`].

use crate::StageError;

/// Tags that open inline reasoning, as reasoning models write it.
const OPENING_TAGS: [(&str, &str); 2] = [("<think>", "</think>"), ("<thinking>", "</thinking>")];

/// What the server said about how its answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// It finished (`stop`, or a reason that is not about length).
    Complete,
    /// The length limit cut it off.
    CutOff,
}

impl Finish {
    /// Reads `finish_reason` (OpenAI) or `done_reason` (Ollama).
    pub fn from_reason(reason: Option<&str>) -> Self {
        if reason == Some("length") { Finish::CutOff } else { Finish::Complete }
    }
}

/// The translation in `content`, or why there is none. `backend` names the
/// server in messages, `limit` describes the length limit that was sent
/// (like "max_tokens = 512"), `raw` shows the reply's first bytes.
pub fn translation(
    content: Option<&str>,
    finish: Finish,
    backend: &str,
    limit: &str,
    raw: impl FnOnce() -> String,
) -> Result<String, StageError> {
    let answer = content.map(strip_reasoning);
    match (answer, finish) {
        (Some(Answer::Text(text)), Finish::Complete) if !text.is_empty() => Ok(text),
        (Some(Answer::Text(text)), Finish::CutOff) if !text.is_empty() => Err(StageError::Fatal(format!(
            "{backend} cut its reply off at the length limit ({limit}), so it is not used or cached: \
             raise the limit for this stage"
        ))),
        (Some(Answer::UnclosedReasoning), _) | (Some(Answer::Text(_)) | None, Finish::CutOff) => {
            Err(StageError::Fatal(format!(
                "{backend} spent its whole length limit ({limit}) thinking and gave no answer: \
                 switch thinking off for this stage (`think = false`) or raise the limit"
            )))
        }
        (Some(Answer::Text(_)) | None, Finish::Complete) => {
            Err(StageError::Retryable(format!("{backend} gave no translation: {}", raw())))
        }
    }
}

/// An answer with its inline reasoning cut out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// The answer, trimmed (empty if there was none).
    Text(String),
    /// Reasoning was opened and never closed: there is no answer.
    UnclosedReasoning,
}

/// Cuts every `<think>…</think>` (or `<thinking>…</thinking>`) block out of
/// `content`; some servers send only the closing tag, the opening one being
/// in the chat template, so text before a lone closing tag is reasoning too.
fn strip_reasoning(content: &str) -> Answer {
    let mut rest = content;
    for (open, close) in OPENING_TAGS {
        if let Some(at) = rest.find(close)
            && !rest[..at].contains(open)
        {
            rest = &rest[at + close.len()..];
        }
    }
    let mut answer = String::with_capacity(rest.len());
    'scan: loop {
        let next = OPENING_TAGS.iter().filter_map(|&(open, close)| rest.find(open).map(|at| (at, open, close))).min();
        let Some((at, open, close)) = next else {
            answer.push_str(rest);
            break 'scan;
        };
        answer.push_str(&rest[..at]);
        let inside = &rest[at + open.len()..];
        match inside.find(close) {
            Some(end) => rest = &inside[end + close.len()..],
            None => return Answer::UnclosedReasoning,
        }
    }
    Answer::Text(answer.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Answer {
        Answer::Text(s.into())
    }

    #[test]
    fn inline_reasoning_is_cut_out() {
        assert_eq!(strip_reasoning("<think>\nThe user wants German.\n</think>\n\nHallo!"), text("Hallo!"));
        assert_eq!(strip_reasoning("<thinking>hmm</thinking>Bonjour"), text("Bonjour"));
        assert_eq!(strip_reasoning("Hola <think>x</think>amigo"), text("Hola amigo"));
        assert_eq!(strip_reasoning("plain"), text("plain"));
    }

    #[test]
    fn a_lone_closing_tag_ends_reasoning_the_template_opened() {
        assert_eq!(strip_reasoning("so German it is.\n</think>\n\nHallo"), text("Hallo"));
    }

    #[test]
    fn reasoning_that_never_closes_is_no_answer() {
        assert_eq!(strip_reasoning("<think>The user wants"), Answer::UnclosedReasoning);
    }

    #[test]
    fn a_cut_off_reply_is_fatal_and_says_which_limit() {
        let raw = || "{}".to_string();
        let cut = translation(Some("Hallo, wie"), Finish::CutOff, "vLLM", "max_tokens = 4", raw);
        assert!(
            matches!(&cut, Err(StageError::Fatal(m)) if m.contains("max_tokens = 4") && m.contains("not used or cached")),
            "{cut:?}"
        );
        let thought = translation(None, Finish::CutOff, "vLLM", "max_tokens = 4", raw);
        assert!(matches!(&thought, Err(StageError::Fatal(m)) if m.contains("think = false")), "{thought:?}");
        let unclosed = translation(Some("<think>so"), Finish::Complete, "Ollama", "num_predict = 4", raw);
        assert!(matches!(unclosed, Err(StageError::Fatal(_))));
    }

    #[test]
    fn a_complete_answer_is_the_translation_and_an_empty_one_is_retryable() {
        let raw = || "{\"x\":1}".to_string();
        assert_eq!(translation(Some(" Hallo "), Finish::Complete, "vLLM", "", raw).unwrap(), "Hallo");
        let empty = translation(Some("  "), Finish::Complete, "vLLM", "", raw);
        assert!(matches!(&empty, Err(StageError::Retryable(m)) if m.contains("{\"x\":1}")), "{empty:?}");
        assert_eq!(Finish::from_reason(Some("length")), Finish::CutOff);
        assert_eq!(Finish::from_reason(Some("stop")), Finish::Complete);
        assert_eq!(Finish::from_reason(None), Finish::Complete);
    }
}
