//! Step 2: the quotes an LLM wraps around its whole answer.

/// The quote pairs LLMs wrap answers in, opening then closing.
pub(super) const QUOTE_PAIRS: [(char, char); 7] =
    [('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’'), ('「', '」'), ('『', '』'), ('«', '»')];

/// Step 2: removes one pair of quotes wrapping all of `text`, unless the same
/// pair wraps `source` (then the quotes are the message's own). A text wrapped
/// twice is left whole: stripping one layer would leave the next run another.
pub(super) fn strip_wrapping_quotes(source: &str, text: String) -> String {
    match unwrapped(source, &text) {
        Some(inner) if unwrapped(source, inner).is_none() => inner.to_owned(),
        _ => text,
    }
}

/// The trimmed inside of `text` if some pair wraps it but does not wrap `source`.
pub(super) fn unwrapped<'a>(source: &str, text: &'a str) -> Option<&'a str> {
    QUOTE_PAIRS.iter().find_map(|&pair| {
        let inner = wrapped_by(text, pair)?;
        wrapped_by(source, pair).is_none().then(|| inner.trim())
    })
}

/// The inside of `text` if `open` starts it and the `close` ending it closes
/// that very `open`: `"a" or "b"` is not wrapped.
pub(super) fn wrapped_by(text: &str, (open, close): (char, char)) -> Option<&str> {
    let inner = text.strip_prefix(open)?.strip_suffix(close)?;
    (!inner.trim().is_empty() && balanced(inner, open, close)).then_some(inner)
}

/// Whether `inner` never closes the outer quote early. A quote char between
/// two letters is an apostrophe (`today's`, `today’s`) and does not count.
pub(super) fn balanced(inner: &str, open: char, close: char) -> bool {
    let chars: Vec<char> = inner.chars().collect();
    let mut depth = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        let letter = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| c.is_alphanumeric());
        let apostrophe = letter(i.checked_sub(1)) && letter(Some(i + 1));
        if apostrophe || (c != open && c != close) {
            continue;
        }
        if open == close || (c == close && depth == 0) {
            return false;
        }
        depth = if c == open { depth + 1 } else { depth - 1 };
    }
    depth == 0
}
