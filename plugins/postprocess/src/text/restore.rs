//! Step 3: the source's protected tokens, put back verbatim.

use super::*;

/// The kinds of protected token, in the order step 3 restores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Url,
    Mention,
    Tag,
    Emoji,
    Number,
}

impl Class {
    const ALL: [Class; 5] = [Class::Url, Class::Mention, Class::Tag, Class::Emoji, Class::Number];
}

/// A protected token found by `scan`.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) class: Class,
    /// Byte range in the scanned text.
    pub(super) span: Range<usize>,
    /// The source token (index) this one loosely spells, when the scanner
    /// found it that way: `@Streamer Kim` for `@streamer_kim`. Pairs it first.
    pub(super) guide: Option<usize>,
}

/// A protected token of the source: text that must come out verbatim.
#[derive(Debug, Clone, Copy)]
pub(super) struct Piece<'a> {
    pub(super) class: Class,
    pub(super) text: &'a str,
}

/// The source's protected tokens, in source order.
pub(super) fn pieces(source: &str) -> Vec<Piece<'_>> {
    let tokens = scan(source, None);
    tokens.into_iter().map(|t| Piece { class: t.class, text: &source[t.span] }).collect()
}

/// Step 3: makes every protected token of the source appear verbatim, class by
/// class. Source tokens no translation token stands for are appended, in
/// source order — except numbers: one the LLM spelled out has no place to go.
/// The text is scanned again only after a class changed it: most lines need
/// one scan, not one per class.
pub(super) fn restore_tokens(wanted: &[Piece], mut text: String) -> String {
    if wanted.is_empty() {
        return text;
    }
    let mut missing = Vec::new();
    let mut found = None;
    for class in Class::ALL {
        let tokens = found.get_or_insert_with(|| scan(&text, Some(wanted)));
        let pairing = pair(&text, tokens, wanted, class);
        if !pairing.replacements.is_empty() {
            text = replace(text, pairing.replacements, wanted);
            found = None;
        }
        if class != Class::Number {
            missing.extend(pairing.unused);
        }
    }
    missing.sort_unstable();
    append(text, missing.into_iter().map(|i| wanted[i].text))
}

/// How the translation's tokens of one class meet the source's.
#[derive(Debug)]
pub(super) struct Pairing {
    /// Translation spans to overwrite, with the source token (index) to write.
    replacements: Vec<(Range<usize>, usize)>,
    /// Source tokens that no translation token stands for.
    unused: Vec<usize>,
}

/// Pairs in three passes, so a token already right is never moved: equal
/// text; then tokens the scanner found through a source token; then the rest,
/// first with first. Tokens left over on the translation's side stay as they
/// are. A number pairs only with one of the same digits (`1000` → `1,000`):
/// `100,000` for `10만` is a conversion, not a mangling.
pub(super) fn pair(text: &str, found: &[Token], wanted: &[Piece], class: Class) -> Pairing {
    let mut free: Vec<usize> = (0..wanted.len()).filter(|&i| wanted[i].class == class).collect();
    let mut replacements = Vec::new();
    let ours = found.iter().filter(|t| t.class == class);
    let open: Vec<&Token> =
        ours.filter(|t| take(&mut free, wanted, |w| w == &text[t.span.clone()]).is_none()).collect();
    let mut rest = Vec::new();
    for token in open {
        let guide = token.guide.map(|g| wanted[g].text);
        match guide.and_then(|g| take(&mut free, wanted, |w| w == g)) {
            Some(i) => replacements.push((token.span.clone(), i)),
            None => rest.push(token),
        }
    }
    for token in rest {
        let mine = &text[token.span.clone()];
        let fits = |w: &str| class != Class::Number || digits(w).eq(digits(mine));
        if let Some(i) = take(&mut free, wanted, fits) {
            replacements.push((token.span.clone(), i));
        }
    }
    Pairing { replacements, unused: free }
}

/// Removes and returns the first free source token whose text is accepted.
pub(super) fn take(free: &mut Vec<usize>, wanted: &[Piece], accept: impl Fn(&str) -> bool) -> Option<usize> {
    let at = free.iter().position(|&i| accept(wanted[i].text))?;
    Some(free.remove(at))
}

/// The digits of a number, without its separators.
pub(super) fn digits(number: &str) -> impl Iterator<Item = char> + '_ {
    number.chars().filter(char::is_ascii_digit)
}

/// Writes the paired source tokens over their spans, last span first so the
/// earlier ones stay valid. A token that would run on into what follows it
/// (`@kimこんにちは` before `방송` reads as one longer mention) gets a space
/// after it, or the next run would see a different token.
pub(super) fn replace(mut text: String, mut replacements: Vec<(Range<usize>, usize)>, wanted: &[Piece]) -> String {
    replacements.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    for (span, i) in replacements {
        let end = span.start + wanted[i].text.len();
        text.replace_range(span.clone(), wanted[i].text);
        if token_at(&text, span.start, Some(wanted)).is_none_or(|t| t.span.end != end) {
            text.insert(end, ' ');
        }
    }
    text
}

/// `text` and then each of `extra`, one space apart.
pub(super) fn append<'a>(mut text: String, extra: impl Iterator<Item = &'a str>) -> String {
    for part in extra {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(part);
    }
    text
}
