//! Terms to markers and back: the text work of the glossary, free of the
//! host so `cargo test` runs it natively.

use std::collections::BTreeSet;

/// A line with its terms replaced by markers.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    /// The line, each term replaced by `⟦n⟧`.
    pub text: String,
    /// For marker `n`: the term as the line wrote it, and the term as
    /// configured (the key of its renderings).
    pub terms: Vec<(String, String)>,
}

/// Replaces each of `terms` found in `text` with a marker, longest term
/// first at each place; `None` when none is found. A term whose first or
/// last character is an ASCII letter or digit matches only where the
/// neighbouring character is not one, so `T1` is not found in `T10` while
/// `Faker` is found in `Faker가`.
pub fn find_terms(text: &str, terms: &[&str], ignore_case: bool) -> Option<Found> {
    let mut by_length: Vec<&str> = terms.iter().copied().filter(|t| !t.is_empty()).collect();
    by_length.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let mut out = String::with_capacity(text.len());
    let mut found: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let hit = by_length.iter().find(|term| matches_at(text, at, term, ignore_case));
        match hit {
            Some(term) => {
                let written = &rest[..term.len()];
                let index = match found.iter().position(|(w, t)| w == written && t == *term) {
                    Some(index) => index,
                    None => {
                        found.push((written.to_string(), term.to_string()));
                        found.len() - 1
                    }
                };
                out.push_str(&format!("⟦{index}⟧"));
                at += term.len();
            }
            None => {
                let c = rest.chars().next().expect("not at the end");
                out.push(c);
                at += c.len_utf8();
            }
        }
    }
    (!found.is_empty()).then_some(Found { text: out, terms: found })
}

/// Whether `term` is written in `text` at byte `at`, as a whole word at its
/// ASCII edges.
fn matches_at(text: &str, at: usize, term: &str, ignore_case: bool) -> bool {
    let Some(candidate) = text.as_bytes().get(at..at + term.len()) else { return false };
    let same = if ignore_case { candidate.eq_ignore_ascii_case(term.as_bytes()) } else { candidate == term.as_bytes() };
    if !same {
        return false;
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let before = text[..at].chars().next_back();
    let after = text[at + term.len()..].chars().next();
    // A word-edged term glued to a letter or digit is part of a longer word.
    let glued_before = word(term.chars().next()) && word(before);
    let glued_after = word(term.chars().next_back()) && word(after);
    !glued_before && !glued_after
}

/// A translation with its markers put back.
#[derive(Debug, PartialEq, Eq)]
pub struct Restored {
    pub text: String,
    /// Markers of the line that the translation no longer holds.
    pub missing: Vec<usize>,
}

/// Replaces every marker `⟦n⟧` of `translation` (spaces inside allowed,
/// as a model may write `⟦ 0 ⟧`) with `render(n)`; a marker `render` does
/// not know is left as it is.
pub fn restore(translation: &str, render: impl Fn(usize) -> Option<String>) -> Restored {
    let mut out = String::with_capacity(translation.len());
    let mut seen = BTreeSet::new();
    let mut rest = translation;
    while let Some(open) = rest.find('⟦') {
        out.push_str(&rest[..open]);
        let after = &rest[open + '⟦'.len_utf8()..];
        let marker = after.find('⟧').and_then(|close| Some((after[..close].trim().parse::<usize>().ok()?, close)));
        match marker.and_then(|(index, close)| Some((index, close, render(index)?))) {
            Some((index, close, rendering)) => {
                out.push_str(&rendering);
                seen.insert(index);
                rest = &after[close + '⟧'.len_utf8()..];
            }
            None => {
                out.push('⟦');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let missing = (0..).take_while(|&i| render(i).is_some()).filter(|i| !seen.contains(i)).collect();
    Restored { text: out, missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(found: &Found) -> Vec<(&str, &str)> {
        found.terms.iter().map(|(w, t)| (w.as_str(), t.as_str())).collect()
    }

    #[test]
    fn terms_become_markers_and_each_is_kept_once() {
        let found = find_terms("Faker 오늘 faker 최고 T1 화이팅", &["Faker", "T1"], true).unwrap();
        assert_eq!(found.text, "⟦0⟧ 오늘 ⟦1⟧ 최고 ⟦2⟧ 화이팅");
        assert_eq!(terms(&found), [("Faker", "Faker"), ("faker", "Faker"), ("T1", "T1")]);
        let again = find_terms("gg T1 gg T1", &["T1"], true).unwrap();
        assert_eq!(again.text, "gg ⟦0⟧ gg ⟦0⟧");
    }

    #[test]
    fn words_match_whole_at_their_ascii_edges() {
        assert_eq!(find_terms("T10 is not T1", &["T1"], true).unwrap().text, "T10 is not ⟦0⟧");
        assert_eq!(find_terms("Faker가 이겼다", &["Faker"], true).unwrap().text, "⟦0⟧가 이겼다");
        assert_eq!(find_terms("uncle", &["nc"], true), None);
        assert_eq!(find_terms("페이커가 최고", &["페이커"], true).unwrap().text, "⟦0⟧가 최고");
    }

    #[test]
    fn the_longest_term_wins_and_case_can_matter() {
        let found = find_terms("Hide on bush plays", &["Hide", "Hide on bush"], true).unwrap();
        assert_eq!(found.text, "⟦0⟧ plays");
        assert_eq!(find_terms("faker", &["Faker"], false), None);
    }

    #[test]
    fn markers_go_back_and_lost_ones_are_named() {
        let render = |i: usize| ["Faker", "T1"].get(i).map(|s| s.to_string());
        let restored = restore("[en] ⟦0⟧ today ⟦ 1 ⟧ ⟦7⟧ ⟦x⟧ ⟦", render);
        assert_eq!(restored.text, "[en] Faker today T1 ⟦7⟧ ⟦x⟧ ⟦");
        assert!(restored.missing.is_empty());
        assert_eq!(restore("only ⟦1⟧", render).missing, [0]);
    }
}
