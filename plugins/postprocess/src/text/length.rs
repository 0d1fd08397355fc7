//! Step 4: the length cap, which never splits a token.

use super::*;

/// What a cut text ends with.
pub(super) const ELLIPSIS: &str = "…";

/// Step 4: cuts `text` to at most `max` chars, the kept part ending in `…`.
/// The cut never splits a token; the source's tokens (numbers excepted) that
/// would fall after it move after the `…`, the cut moving left to make room.
/// Dropping them instead would make the next run append them and cut again:
/// tidying would not be idempotent.
pub(super) fn cap_length(text: &str, max: usize, wanted: &[Piece]) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let tokens = scan(text, Some(wanted));
    let kept = kept_tokens(text, &tokens, wanted);
    let splits = |cut: usize| tokens.iter().any(|t| t.span.start < cut && cut < t.span.end);
    cut_points(text, max - 1)
        .filter(|&cut| !splits(cut))
        .map(|cut| shortened(text, cut, &kept))
        .find(|candidate| candidate.chars().count() <= max)
        .unwrap_or_else(|| only_tokens(&kept, max))
}

/// The tokens of `text` (start and text) that stand for a source token, as a
/// multiset: an extra copy the LLM added may be cut. Numbers are never kept:
/// they are not appended either, so one cut off stays off.
pub(super) fn kept_tokens<'t>(text: &'t str, tokens: &[Token], wanted: &[Piece]) -> Vec<(usize, &'t str)> {
    let mut free: Vec<&str> = wanted.iter().filter(|w| w.class != Class::Number).map(|w| w.text).collect();
    let mut kept = Vec::new();
    for token in tokens {
        let own = &text[token.span.clone()];
        if let Some(i) = free.iter().position(|&w| w == own) {
            free.remove(i);
            kept.push((token.span.start, own));
        }
    }
    kept
}

/// Byte offsets where `text` can be cut keeping at most `limit` chars,
/// longest first.
pub(super) fn cut_points(text: &str, limit: usize) -> impl Iterator<Item = usize> + '_ {
    let top = text.char_indices().nth(limit).map_or(text.len(), |(i, _)| i);
    (0..=top).rev().filter(|&i| text.is_char_boundary(i))
}

/// `text` cut at `cut` and trimmed, `…`, then the kept tokens after the cut.
pub(super) fn shortened(text: &str, cut: usize, kept: &[(usize, &str)]) -> String {
    let head = format!("{}{ELLIPSIS}", text[..cut].trim_end());
    append(head, kept.iter().filter(|&&(start, _)| start >= cut).map(|&(_, token)| token))
}

/// When even all kept tokens do not fit: `…` and those that do, in order.
pub(super) fn only_tokens(kept: &[(usize, &str)], max: usize) -> String {
    kept.iter().fold(ELLIPSIS.to_owned(), |out, &(_, token)| {
        let longer = append(out.clone(), std::iter::once(token));
        if longer.chars().count() <= max { longer } else { out }
    })
}
