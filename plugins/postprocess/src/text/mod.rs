//! The pure text logic of the `postprocess` stage: whitespace, wrapping quotes,
//! protected tokens and the length cap. Std only and free of host calls, so it
//! is tested natively.
//!
//! [`tidy`] runs its steps in a fixed order and repeats them until the text
//! stops changing, so it is idempotent: the stage can meet text it already
//! tidied without drifting. The protected tokens (URLs, `@mentions`, `#tags`,
//! emoji, numbers) come from one left-to-right scanner, `scan`; on a
//! translation it also accepts the forms LLMs mangle them into (`@ name`,
//! `＠name`, `# tag`, `:smile:`, a source URL with spaces put in).
//!
//! Deliberately absent: a Unicode crate (the emoji ranges are written out
//! here) and any understanding of words — a number the LLM spelled out stays
//! spelled out, a mention whose `@` it dropped is appended rather than found.

use std::ops::Range;

/// How [`tidy`] treats a translation; mirrors the stage's `config` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Longest result kept, in chars — not bytes: a Korean or Japanese char
    /// is three. A longer result is cut and ends in `…`.
    pub max_length: Option<usize>,
    /// Remove one pair of quotes the LLM wrapped around its whole answer.
    pub strip_wrapping_quotes: bool,
    /// Put back the source's URLs, mentions, tags, emoji and numbers verbatim.
    pub keep_tokens: bool,
}

/// Tidies `translation` of `source`: whitespace, wrapping quotes, protected
/// tokens, length cap, whitespace again — in that order, idempotently.
pub fn tidy(source: &str, translation: &str, options: &Options) -> String {
    let source = tidy_whitespace(source);
    let wanted = if options.keep_tokens { pieces(&source) } else { Vec::new() };
    let mut text = tidy_whitespace(translation);
    for _ in 0..MAX_ROUNDS {
        let next = round(&source, &wanted, &text, options);
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// Rounds of steps 2–5 before [`tidy`] settles for the last. Real lines
/// settle in one; the worst of millions of fuzzed ones took three.
const MAX_ROUNDS: usize = 6;

/// Steps 2–5 once. [`tidy`] repeats them until the text stops changing, which
/// makes it idempotent: one round is not always a fixed point. A cut can drop
/// the copy of a source number the LLM wrote verbatim and keep one it wrote
/// differently (`1,000` beside `1000`), which the next round restores; a
/// restored token can balance quotes that were not wrapping before.
fn round(source: &str, wanted: &[Piece], text: &str, options: &Options) -> String {
    let mut text = text.to_owned();
    if options.strip_wrapping_quotes {
        text = strip_wrapping_quotes(source, text);
    }
    if options.keep_tokens {
        text = restore_tokens(wanted, text);
    }
    if let Some(max) = options.max_length {
        text = cap_length(&text, max, wanted);
    }
    tidy_whitespace(&text)
}

/// Trims and collapses runs of whitespace (incl. newlines, tabs, U+3000
/// ideographic space) to one ASCII space: chat shows any run as one gap, and
/// LLMs add newlines chat cannot show.
pub fn tidy_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

mod length;
mod quotes;
mod restore;
mod scan;
#[cfg(test)]
mod tests;

use length::*;
use quotes::*;
use restore::*;
use scan::*;
