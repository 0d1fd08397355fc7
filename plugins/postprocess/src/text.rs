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

// ---------------------------------------------------------------- quotes ----

/// The quote pairs LLMs wrap answers in, opening then closing.
const QUOTE_PAIRS: [(char, char); 7] =
    [('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’'), ('「', '」'), ('『', '』'), ('«', '»')];

/// Step 2: removes one pair of quotes wrapping all of `text`, unless the same
/// pair wraps `source` (then the quotes are the message's own). A text wrapped
/// twice is left whole: stripping one layer would leave the next run another.
fn strip_wrapping_quotes(source: &str, text: String) -> String {
    match unwrapped(source, &text) {
        Some(inner) if unwrapped(source, inner).is_none() => inner.to_owned(),
        _ => text,
    }
}

/// The trimmed inside of `text` if some pair wraps it but does not wrap `source`.
fn unwrapped<'a>(source: &str, text: &'a str) -> Option<&'a str> {
    QUOTE_PAIRS.iter().find_map(|&pair| {
        let inner = wrapped_by(text, pair)?;
        wrapped_by(source, pair).is_none().then(|| inner.trim())
    })
}

/// The inside of `text` if `open` starts it and the `close` ending it closes
/// that very `open`: `"a" or "b"` is not wrapped.
fn wrapped_by(text: &str, (open, close): (char, char)) -> Option<&str> {
    let inner = text.strip_prefix(open)?.strip_suffix(close)?;
    (!inner.trim().is_empty() && balanced(inner, open, close)).then_some(inner)
}

/// Whether `inner` never closes the outer quote early. A quote char between
/// two letters is an apostrophe (`today's`, `today’s`) and does not count.
fn balanced(inner: &str, open: char, close: char) -> bool {
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

// ---------------------------------------------------------------- tokens ----

/// The kinds of protected token, in the order step 3 restores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
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
struct Token {
    class: Class,
    /// Byte range in the scanned text.
    span: Range<usize>,
    /// The source token (index) this one loosely spells, when the scanner
    /// found it that way: `@Streamer Kim` for `@streamer_kim`. Pairs it first.
    guide: Option<usize>,
}

/// A protected token of the source: text that must come out verbatim.
#[derive(Debug, Clone, Copy)]
struct Piece<'a> {
    class: Class,
    text: &'a str,
}

/// The source's protected tokens, in source order.
fn pieces(source: &str) -> Vec<Piece<'_>> {
    let tokens = scan(source, None);
    tokens.into_iter().map(|t| Piece { class: t.class, text: &source[t.span] }).collect()
}

/// Step 3: makes every protected token of the source appear verbatim, class by
/// class. Source tokens no translation token stands for are appended, in
/// source order — except numbers: one the LLM spelled out has no place to go.
fn restore_tokens(wanted: &[Piece], mut text: String) -> String {
    let mut missing = Vec::new();
    for class in Class::ALL {
        let found = scan(&text, Some(wanted));
        let pairing = pair(&text, &found, wanted, class);
        text = replace(text, pairing.replacements, wanted);
        if class != Class::Number {
            missing.extend(pairing.unused);
        }
    }
    missing.sort_unstable();
    append(text, missing.into_iter().map(|i| wanted[i].text))
}

/// How the translation's tokens of one class meet the source's.
#[derive(Debug)]
struct Pairing {
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
fn pair(text: &str, found: &[Token], wanted: &[Piece], class: Class) -> Pairing {
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
fn take(free: &mut Vec<usize>, wanted: &[Piece], accept: impl Fn(&str) -> bool) -> Option<usize> {
    let at = free.iter().position(|&i| accept(wanted[i].text))?;
    Some(free.remove(at))
}

/// The digits of a number, without its separators.
fn digits(number: &str) -> impl Iterator<Item = char> + '_ {
    number.chars().filter(char::is_ascii_digit)
}

/// Writes the paired source tokens over their spans, last span first so the
/// earlier ones stay valid. A token that would run on into what follows it
/// (`@kimこんにちは` before `방송` reads as one longer mention) gets a space
/// after it, or the next run would see a different token.
fn replace(mut text: String, mut replacements: Vec<(Range<usize>, usize)>, wanted: &[Piece]) -> String {
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
fn append<'a>(mut text: String, extra: impl Iterator<Item = &'a str>) -> String {
    for part in extra {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(part);
    }
    text
}

// --------------------------------------------------------------- scanner ----

/// Finds the protected tokens of `text` left to right, never overlapping.
/// `guides` is `None` for a source; for a translation it holds the source's
/// tokens, and the mangled forms are accepted too.
fn scan(text: &str, guides: Option<&[Piece]>) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        match token_at(text, at, guides) {
            Some(token) => {
                at = token.span.end;
                tokens.push(token);
            }
            None => at += c.len_utf8(),
        }
    }
    tokens
}

/// The token starting at `at`, if any; URLs first, so what is inside one
/// (`#anchor`, `?t=42`) is never a token of its own.
fn token_at(text: &str, at: usize, guides: Option<&[Piece]>) -> Option<Token> {
    url_at(text, at, guides)
        .or_else(|| handle_at(text, at, guides))
        .or_else(|| emoji_at(text, at, guides.is_some()))
        .or_else(|| number_at(text, at))
}

fn plain(class: Class, span: Range<usize>) -> Token {
    Token { class, span, guide: None }
}

fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

/// `http://` or `https://` up to whitespace, minus trailing punctuation.
fn url_at(text: &str, at: usize, guides: Option<&[Piece]>) -> Option<Token> {
    let rest = &text[at..];
    let scheme =
        ["https://", "http://"].into_iter().find(|s| rest.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)))?;
    let url = trim_url_tail(&rest[..rest.find(ends_url).unwrap_or(rest.len())]);
    let generic = (url.len() > scheme.len()).then(|| plain(Class::Url, at..at + url.len()));
    verbatim(text, &generic, guides).or_else(|| guided(text, at, at, Class::Url, guides)).or(generic)
}

/// Chars that end a URL: whitespace, and the `…` and CJK punctuation that
/// never occur raw in one but get glued to it (`…を見て。`).
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '…' | '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}')
}

/// Drops the sentence's punctuation from a URL's end; `)` only when the URL
/// has no `(` it closes, as in `…/Rust_(programming_language)`.
fn trim_url_tail(mut url: &str) -> &str {
    while let Some(last) = url.chars().next_back() {
        let stray_paren = last == ')' && url.matches('(').count() < url.matches(')').count();
        if !(".,!?;:'\"”’»".contains(last) || stray_paren) {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url
}

/// An `@mention` or `#tag`: the sigil, not glued to a word before it (so
/// `me@mail.com` and `C#` are not), then a name. In a translation also `＠`,
/// `＃` and a space after the sigil.
fn handle_at(text: &str, at: usize, guides: Option<&[Piece]>) -> Option<Token> {
    let sigil = text[at..].chars().next()?;
    let class = match (sigil, guides.is_some()) {
        ('@', _) | ('＠', true) => Class::Mention,
        ('#', _) | ('＃', true) => Class::Tag,
        _ => return None,
    };
    if char_before(text, at).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let body = at + sigil.len_utf8();
    let name = body + usize::from(guides.is_some() && text[body..].starts_with(' '));
    let len = name_len(&text[name..]);
    let generic = (len > 0).then(|| plain(class, at..name + len));
    verbatim(text, &generic, guides).or_else(|| guided(text, at, body, class, guides)).or(generic)
}

/// Word chars of any script, `_`, and `.` or `-` inside: `streamer_kim`,
/// `김철수`, `kim.lee`.
fn name_len(text: &str) -> usize {
    if !text.starts_with(is_word) {
        return 0;
    }
    let end = text.find(|c: char| !(is_word(c) || c == '.' || c == '-')).unwrap_or(text.len());
    text[..end].trim_end_matches(['.', '-']).len()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `generic` if it is a source token written verbatim. It wins over a loose
/// spelling, which could only find a shorter token inside it (`@kim_lee` in
/// `@kim_leeさん_`): written as in the source, a token must scan as itself.
fn verbatim(text: &str, generic: &Option<Token>, guides: Option<&[Piece]>) -> Option<Token> {
    let token = generic.as_ref()?;
    let own = &text[token.span.clone()];
    let i = guides?.iter().position(|g| g.class == token.class && g.text == own)?;
    Some(Token { guide: Some(i), ..token.clone() })
}

/// The longest source token of `class` that `text` spells loosely from `body`
/// (for a mention or tag, the sigil at `at` comes before).
fn guided(text: &str, at: usize, body: usize, class: Class, guides: Option<&[Piece]>) -> Option<Token> {
    let candidates = guides?.iter().enumerate().filter(|(_, g)| g.class == class);
    let (end, i) = candidates.filter_map(|(i, g)| Some((loose_end(text, body, g)?, i))).max_by_key(|&(end, _)| end)?;
    Some(Token { class, span: at..end, guide: Some(i) })
}

/// Where `guide` ends if `text` spells it from `at` the way LLMs mangle it:
/// a URL with whitespace put in; a name with its case or width changed or
/// split into words. It must end where the URL or word does.
fn loose_end(text: &str, at: usize, guide: &Piece) -> Option<usize> {
    if guide.class == Class::Url {
        let end = at + url_spelled_len(&text[at..], guide.text)?;
        return url_ends_at(text, end).then_some(end);
    }
    let name = &guide.text[1..]; // a source sigil is `@` or `#`, one byte
    let end = at + name_spelled_len(&text[at..], name)?;
    name_ends_at(text, end).then_some(end)
}

/// Byte length of the start of `text` spelling `url` with whitespace put
/// anywhere in it and letters in any case.
fn url_spelled_len(text: &str, url: &str) -> Option<usize> {
    let mut rest = text.char_indices();
    let mut len = None;
    for want in url.chars() {
        let (i, c) = rest.find(|&(_, c)| !c.is_whitespace())?;
        if !same_letter(c, want) {
            return None;
        }
        len = Some(i + c.len_utf8());
    }
    len
}

/// Byte length of the start of `text` spelling `name` in any case or width,
/// with separators (` `, `_`, `-`, `.`) only where the name breaks into parts
/// — before it (`@ kim`), at its own separators (`Streamer Kim` for
/// `streamer_kim`) and camelCase humps (`Pog Champ`) — so the spelling never
/// runs on into the next word (`kim https://…` does not spell `kimhttps`).
fn name_spelled_len(text: &str, name: &str) -> Option<usize> {
    let mut rest = text.char_indices().peekable();
    let (mut len, mut prev, mut broke) = (None, None::<char>, true);
    for want in name.chars() {
        if !want.is_alphanumeric() {
            broke = true;
            continue;
        }
        if broke || prev.is_some_and(|p| p.is_lowercase() && want.is_uppercase()) {
            while rest.next_if(|&(_, c)| " _-.".contains(c)).is_some() {}
        }
        let (i, c) = rest.next()?;
        if !same_letter(c, want) {
            return None;
        }
        (len, prev, broke) = (Some(i + c.len_utf8()), Some(want), false);
    }
    len
}

/// Equal ignoring case and fullwidth forms (`Ｋ` is `k`).
fn same_letter(a: char, b: char) -> bool {
    let (a, b) = (halfwidth(a), halfwidth(b));
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

fn halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A loosely spelled URL must not run on into more URL: `https://a.b/c`
/// is not spelled by `https://a.b/ cat`.
fn url_ends_at(text: &str, end: usize) -> bool {
    text[end..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric() && !"/?#&=%_~+-".contains(c))
}

/// A loosely spelled name must end where the word does: `@kim` is not in
/// `@kimchi`, `@kim_lee` or `@kim.lee`, but is in `@kimさん` (an honorific
/// glued on, in another script).
fn name_ends_at(text: &str, end: usize) -> bool {
    let Some(last) = char_before(text, end) else { return false };
    let next = text[end..].chars().find(|&c| c != '.' && c != '-');
    next.is_none_or(|c| c != '_' && !(c.is_alphanumeric() && c.is_ascii() == last.is_ascii()))
}

/// A run of emoji with nothing between them (`🔥🔥`, `👍🏽`, `👨‍👩‍👧`, `🇰🇷`)
/// is one token, so a restored run reads as the source's did. In a
/// translation `:shortcode:`s count as emoji.
fn emoji_at(text: &str, at: usize, mangled: bool) -> Option<Token> {
    let unit_end = |at| emoji_end(text, at).or_else(|| if mangled { shortcode_end(text, at) } else { None });
    let mut end = at;
    while let Some(next) = unit_end(end) {
        end = next;
    }
    (end > at).then(|| plain(Class::Emoji, at..end))
}

const ZWJ: char = '\u{200D}';

/// One emoji: a pictograph, its modifiers, and pictographs joined by ZWJ.
fn emoji_end(text: &str, at: usize) -> Option<usize> {
    let first = text[at..].chars().next().filter(|&c| is_pictograph(c))?;
    let mut end = at + first.len_utf8();
    loop {
        let mut rest = text[end..].chars();
        match (rest.next(), rest.next()) {
            (Some(m), _) if is_emoji_modifier(m) => end += m.len_utf8(),
            (Some(ZWJ), Some(p)) if is_pictograph(p) => end += ZWJ.len_utf8() + p.len_utf8(),
            _ => return Some(end),
        }
    }
}

/// What counts as emoji: symbols and pictographs (flags' regional indicators
/// and skin tones lie in the first range), misc symbols and dingbats, arrows
/// and stars.
fn is_pictograph(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF)
}

/// Variation selector 16, skin tones, and the tag chars of subdivision flags.
fn is_emoji_modifier(c: char) -> bool {
    matches!(u32::from(c), 0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// `:smile:`, `:+1:` — what some LLMs write for an emoji. The name needs a
/// letter (or is `+1`/`-1`) and must not touch a word, so `12:30:45` and
/// `a:b:c` are not shortcodes.
fn shortcode_end(text: &str, at: usize) -> Option<usize> {
    let body = text[at..].strip_prefix(':')?;
    let len = body.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_+-".contains(c)))?;
    let (name, after) = body.split_at(len);
    let after = after.strip_prefix(':')?;
    let named = name.bytes().any(|b| b.is_ascii_lowercase()) || name == "+1" || name == "-1";
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (named && !glued(char_before(text, at)) && !glued(after.chars().next())).then_some(at + len + 2)
}

/// Digits, with single `,` or `.` between digits: `3`, `1,000`, `3.5`.
fn number_at(text: &str, at: usize) -> Option<Token> {
    let bytes = &text.as_bytes()[at..];
    if !bytes.first()?.is_ascii_digit() {
        return None;
    }
    let mut len = 1;
    while let Some(&b) = bytes.get(len) {
        let separator = matches!(b, b',' | b'.') && bytes.get(len + 1).is_some_and(u8::is_ascii_digit);
        if !(b.is_ascii_digit() || separator) {
            break;
        }
        len += 1;
    }
    Some(plain(Class::Number, at..at + len))
}

// ------------------------------------------------------------ length cap ----

/// What a cut text ends with.
const ELLIPSIS: &str = "…";

/// Step 4: cuts `text` to at most `max` chars, the kept part ending in `…`.
/// The cut never splits a token; the source's tokens (numbers excepted) that
/// would fall after it move after the `…`, the cut moving left to make room.
/// Dropping them instead would make the next run append them and cut again:
/// tidying would not be idempotent.
fn cap_length(text: &str, max: usize, wanted: &[Piece]) -> String {
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
fn kept_tokens<'t>(text: &'t str, tokens: &[Token], wanted: &[Piece]) -> Vec<(usize, &'t str)> {
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
fn cut_points(text: &str, limit: usize) -> impl Iterator<Item = usize> + '_ {
    let top = text.char_indices().nth(limit).map_or(text.len(), |(i, _)| i);
    (0..=top).rev().filter(|&i| text.is_char_boundary(i))
}

/// `text` cut at `cut` and trimmed, `…`, then the kept tokens after the cut.
fn shortened(text: &str, cut: usize, kept: &[(usize, &str)]) -> String {
    let head = format!("{}{ELLIPSIS}", text[..cut].trim_end());
    append(head, kept.iter().filter(|&&(start, _)| start >= cut).map(|&(_, token)| token))
}

/// When even all kept tokens do not fit: `…` and those that do, in order.
fn only_tokens(kept: &[(usize, &str)], max: usize) -> String {
    kept.iter().fold(ELLIPSIS.to_owned(), |out, &(_, token)| {
        let longer = append(out.clone(), std::iter::once(token));
        if longer.chars().count() <= max { longer } else { out }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_ON: Options = Options { max_length: None, strip_wrapping_quotes: true, keep_tokens: true };

    fn with_max(max: usize) -> Options {
        Options { max_length: Some(max), ..ALL_ON }
    }

    /// Tidies and checks, for every test, that tidying again changes nothing.
    fn tidied(source: &str, translation: &str, options: &Options) -> String {
        let once = tidy(source, translation, options);
        assert_eq!(tidy(source, &once, options), once, "not idempotent: {source:?} / {translation:?}");
        once
    }

    fn scanned(text: &str, guides: Option<&[Piece]>) -> Vec<(Class, String)> {
        scan(text, guides).into_iter().map(|t| (t.class, text[t.span].to_owned())).collect()
    }

    /// (source, LLM output) pairs from Korean, English and Japanese chat.
    const FIXTURES: &[(&str, &str)] = &[
        ("@streamer_kim 오늘 방송 최고 ㅋㅋㅋ 🔥🔥", "\"@Streamer Kim today's stream is the best lol\""),
        (
            "check https://clips.example.tv/Abc?t=42 at 1,000 viewers!! #PogChamp",
            "https://clips.example.tv/abc 확인해봐 1000명 시청자 달성!! # PogChamp",
        ),
        (
            "@kim_jp hi! streaming for 3 hours today 😊 #zatsudan",
            "＠kim_jp こんにちは！今日は3時間配信します ＃zatsudan",
        ),
        ("こんにちは＠みんな！今日は3時間配信します😊", "Hello @everyone! I'm streaming for 3 hours today 😊"),
        ("おつかれさま", "「수고하셨습니다」"),
        ("「おつかれさま」", "「수고하셨습니다」"),
        ("좋아요 👍🏽 우리 가족 👨‍👩‍👧", "nice 👍 my family 👨"),
        ("한국 화이팅 🇰🇷", "Go Korea :flag-kr:"),
        ("여기 https://example.com/v/123 ㅋㅋ", "here is the link https://example.com/v/123 lol"),
        ("10만 명 돌파!! 3시에 또 봐요", "We passed 100,000 viewers!! See you again at three"),
        (
            "오늘 방송 진짜 재밌었어요 다음에 또 올게요 🔥 @mod_lee",
            "today's stream was really fun, I'll come again next time",
        ),
        ("안녕하세요 여러분", "  hello \n\n  everyone\t "),
    ];

    #[test]
    fn whitespace_runs_collapse_to_one_space() {
        assert_eq!(tidy_whitespace("  hello \n\n  world\t "), "hello world");
        assert_eq!(tidy_whitespace("\u{3000}おはよう\u{3000}\u{3000}ございます\u{3000}"), "おはよう ございます");
        assert_eq!(tidy_whitespace(" \n\t\u{3000}"), "");
    }

    #[test]
    fn text_without_tokens_is_only_whitespace_tidied() {
        let (source, translation) = FIXTURES[11];
        assert_eq!(tidied(source, translation, &ALL_ON), "hello everyone");
    }

    #[test]
    fn korean_line_gets_quotes_stripped_mention_restored_emoji_appended() {
        let (source, translation) = FIXTURES[0];
        assert_eq!(tidied(source, translation, &ALL_ON), "@streamer_kim today's stream is the best lol 🔥🔥");
    }

    #[test]
    fn english_line_gets_url_number_and_tag_back() {
        let (source, translation) = FIXTURES[1];
        assert_eq!(
            tidied(source, translation, &ALL_ON),
            "https://clips.example.tv/Abc?t=42 확인해봐 1,000명 시청자 달성!! #PogChamp"
        );
    }

    #[test]
    fn percent_encoded_or_spaced_url_comes_back_byte_identical() {
        let source = "이거 봐 https://ko.wikipedia.org/wiki/김치 ㅋㅋ";
        let encoded = "look at this https://ko.wikipedia.org/wiki/%EA%B9%80%EC%B9%98 lol";
        assert_eq!(tidied(source, encoded, &ALL_ON), "look at this https://ko.wikipedia.org/wiki/김치 lol");
        let spaced = "https://clips.example.tv/Abc? t=42 보세요";
        let expected = "https://clips.example.tv/Abc?t=42 보세요";
        assert_eq!(tidied("watch https://clips.example.tv/Abc?t=42", spaced, &ALL_ON), expected);
    }

    #[test]
    fn fullwidth_mention_and_tag_in_japanese_are_restored() {
        let (source, translation) = FIXTURES[2];
        assert_eq!(tidied(source, translation, &ALL_ON), "@kim_jp こんにちは！今日は3時間配信します #zatsudan 😊");
    }

    #[test]
    fn fullwidth_at_in_a_japanese_source_is_not_a_mention() {
        let (source, translation) = FIXTURES[3];
        assert_eq!(tidied(source, translation, &ALL_ON), "Hello @everyone! I'm streaming for 3 hours today 😊");
    }

    #[test]
    fn brackets_are_stripped_only_when_the_source_has_none() {
        let (plain_source, translation) = FIXTURES[4];
        assert_eq!(tidied(plain_source, translation, &ALL_ON), "수고하셨습니다");
        let (bracketed_source, translation) = FIXTURES[5];
        assert_eq!(tidied(bracketed_source, translation, &ALL_ON), "「수고하셨습니다」");
        let off = Options { strip_wrapping_quotes: false, ..ALL_ON };
        assert_eq!(tidied(plain_source, translation, &off), "「수고하셨습니다」");
    }

    #[test]
    fn quotes_not_wrapping_the_whole_line_stay() {
        assert_eq!(tidied("좋아 아니면 싫어", "\"좋아\" or \"싫어\"", &ALL_ON), "\"좋아\" or \"싫어\"");
        assert_eq!(tidied("오늘 방송 좋았어", "'today's stream was great'", &ALL_ON), "today's stream was great");
        assert_eq!(tidied("오늘 방송 좋았어", "‘today’s stream was great’", &ALL_ON), "today’s stream was great");
        // Two layers: stripping one would leave the next run another to strip.
        assert_eq!(tidied("안녕", "“\"hi\"”", &ALL_ON), "“\"hi\"”");
        assert_eq!(tidied("안녕", "\"", &ALL_ON), "\"");
    }

    #[test]
    fn skin_tone_and_zwj_emoji_are_restored_whole() {
        let (source, translation) = FIXTURES[6];
        assert_eq!(tidied(source, translation, &ALL_ON), "nice 👍🏽 my family 👨‍👩‍👧");
        let intact = "nice 👍🏽 my family 👨‍👩‍👧";
        assert_eq!(tidied(source, intact, &ALL_ON), intact);
    }

    #[test]
    fn flag_survives_and_replaces_a_shortcode() {
        let (source, translation) = FIXTURES[7];
        assert_eq!(tidied(source, translation, &ALL_ON), "Go Korea 🇰🇷");
        assert_eq!(tidied(source, "Go Korea", &ALL_ON), "Go Korea 🇰🇷");
        assert_eq!(tidied(source, "Go Korea 🇰🇷", &ALL_ON), "Go Korea 🇰🇷");
    }

    #[test]
    fn numbers_are_never_appended_nor_swapped_for_other_digits() {
        let (source, translation) = FIXTURES[9];
        assert_eq!(tidied(source, translation, &ALL_ON), translation);
        assert_eq!(tidied("3명 왔어", "three people came", &ALL_ON), "three people came");
    }

    #[test]
    fn extra_translation_tokens_are_left() {
        let source = "@kim 안녕 🔥";
        let translation = "@kim hi @ everyone 🔥 😊 #hello 42";
        assert_eq!(tidied(source, translation, &ALL_ON), translation);
    }

    #[test]
    fn keep_tokens_off_leaves_tokens_alone() {
        let (source, translation) = FIXTURES[0];
        let off = Options { keep_tokens: false, ..ALL_ON };
        assert_eq!(tidied(source, translation, &off), "@Streamer Kim today's stream is the best lol");
    }

    #[test]
    fn max_length_counts_chars_not_bytes() {
        let source = "today's stream was really fun";
        assert_eq!(tidied(source, "오늘 방송 진짜 재밌었어요", &with_max(10)), "오늘 방송 진짜…");
        assert_eq!(tidied(source, "오늘 방송 진짜 재밌었어요", &with_max(14)), "오늘 방송 진짜 재밌었어요");
    }

    #[test]
    fn max_length_does_not_split_a_url() {
        let (source, translation) = FIXTURES[8];
        assert_eq!(tidied(source, translation, &with_max(35)), "here is… https://example.com/v/123");
        let off = Options { keep_tokens: false, ..with_max(35) };
        assert_eq!(tidied(source, translation, &off), "here is the link…");
    }

    #[test]
    fn max_length_keeps_appended_tokens_after_the_ellipsis() {
        let (source, translation) = FIXTURES[10];
        let result = tidied(source, translation, &with_max(40));
        assert_eq!(result, "today's stream was really fu… 🔥 @mod_lee");
        assert!(result.chars().count() <= 40);
    }

    #[test]
    fn max_length_never_splits_an_emoji_sequence() {
        let (source, translation) = FIXTURES[6];
        let result = tidied(source, translation, &with_max(16));
        assert_eq!(result, "nice 👍🏽 m… 👨‍👩‍👧");
    }

    #[test]
    fn scanner_skips_emails_sharps_and_url_insides() {
        let tokens = |text, guides| -> Vec<(Class, String)> { scanned(text, guides) };
        let owned = |list: &[(Class, &str)]| list.iter().map(|&(c, t)| (c, t.to_owned())).collect::<Vec<_>>();
        let text = "me@mail.com C# 12:30 https://x.tv/#top?v=2 @kim.";
        let expected = [
            (Class::Number, "12"),
            (Class::Number, "30"),
            (Class::Url, "https://x.tv/#top?v=2"),
            (Class::Mention, "@kim"),
        ];
        assert_eq!(tokens(text, None), owned(&expected));
        let times = [(Class::Emoji, ":smile:"), (Class::Number, "12"), (Class::Number, "30"), (Class::Number, "45")];
        assert_eq!(tokens(":smile: 12:30:45", Some(&[])), owned(&times));
    }

    #[test]
    fn scanner_trims_sentence_punctuation_but_not_balanced_parens() {
        let text = "see (https://en.wikipedia.org/wiki/Rust_(programming_language)). and https://a.kr/x!!";
        let urls: Vec<_> = scanned(text, None).into_iter().map(|(_, t)| t).collect();
        assert_eq!(urls, ["https://en.wikipedia.org/wiki/Rust_(programming_language)", "https://a.kr/x"]);
        assert_eq!(scanned("1,000.5원 3.", None), [(Class::Number, "1,000.5".into()), (Class::Number, "3".into())]);
    }

    #[test]
    fn loose_spelling_stays_within_the_name() {
        let guides = [
            Piece { class: Class::Mention, text: "@kim" },
            Piece { class: Class::Mention, text: "@kimhttps" },
            Piece { class: Class::Tag, text: "#PogChamp" },
        ];
        let found = |text| scan(text, Some(&guides)).into_iter().map(|t| (t.guide, &text[t.span])).collect::<Vec<_>>();
        assert_eq!(found("@Kim さん"), [(Some(0), "@Kim")]);
        assert_eq!(found("@kimさん"), [(Some(0), "@kim")]);
        assert_eq!(found("@kimchi"), [(None, "@kimchi")]);
        assert_eq!(found("@kim_lee"), [(None, "@kim_lee")]);
        assert_eq!(found("# Pog Champ"), [(Some(2), "# Pog Champ")]);
        // Regression: the spelling of `@kimhttps` ran on into an appended URL.
        assert_eq!(found("＠kim https://a.b"), [(Some(0), "＠kim"), (None, "https://a.b")]);
    }

    #[test]
    fn verbatim_token_scans_as_itself() {
        // Regression: `@kim_lee` was found inside `@kim_leeさん_` and the rest appended again.
        let source = "@kim_lee @kim_leeさん_ 안녕";
        assert_eq!(tidied(source, "hi", &ALL_ON), "hi @kim_lee @kim_leeさん_");
    }

    #[test]
    fn restored_token_never_glues_onto_the_next_word() {
        // Regression: `@たろう` written over `@kim` in `@kimさん` read as `@たろうさん`.
        assert_eq!(tidied("@kim @たろう hi", "@kim hi @kimさん", &ALL_ON), "@kim hi @たろう さん");
    }

    #[test]
    fn quotes_balanced_by_a_restored_url_are_stripped() {
        // Regression: the URL swallowed a `“`; restoring it balanced the quotes,
        // and only the next run stripped them.
        let once = round("https://a.b/c 봐", &pieces("https://a.b/c"), "“look https://a.b/x“! ok”", &ALL_ON);
        assert_eq!(once, "“look https://a.b/c! ok”");
        assert_eq!(tidied("https://a.b/c 봐", "“look https://a.b/x“! ok”", &ALL_ON), "look https://a.b/c! ok");
    }

    #[test]
    fn tidy_is_idempotent_over_all_fixtures_and_lengths() {
        for &(source, translation) in FIXTURES {
            for keep_tokens in [true, false] {
                for max in [None].into_iter().chain((1..=70).map(Some)) {
                    let options = Options { max_length: max, keep_tokens, ..ALL_ON };
                    let once = tidied(source, translation, &options);
                    assert!(max.is_none_or(|m| once.chars().count() <= m), "{once:?} longer than {max:?}");
                }
            }
        }
    }
}
