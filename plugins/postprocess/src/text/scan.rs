//! The scanner of protected tokens: URLs, `@mentions`, `#tags`, emoji and
//! numbers, and on a translation the forms LLMs mangle them into.

use super::*;

/// Finds the protected tokens of `text` left to right, never overlapping.
/// `guides` is `None` for a source; for a translation it holds the source's
/// tokens, and the mangled forms are accepted too.
pub(super) fn scan(text: &str, guides: Option<&[Piece]>) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        if !may_start_token(c, guides.is_some()) {
            at += c.len_utf8();
            continue;
        }
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

/// Whether any token can start with `c`: the first chars [`token_at`]'s
/// matchers accept. Most chars of a chat line start none, so the scan skips
/// them without trying every matcher.
pub(super) fn may_start_token(c: char, guided: bool) -> bool {
    matches!(c, 'h' | 'H' | '@' | '#' | '0'..='9') || is_pictograph(c) || (guided && matches!(c, '＠' | '＃' | ':'))
}

/// The token starting at `at`, if any; URLs first, so what is inside one
/// (`#anchor`, `?t=42`) is never a token of its own.
pub(super) fn token_at(text: &str, at: usize, guides: Option<&[Piece]>) -> Option<Token> {
    url_at(text, at, guides)
        .or_else(|| handle_at(text, at, guides))
        .or_else(|| emoji_at(text, at, guides.is_some()))
        .or_else(|| number_at(text, at))
}

pub(super) fn plain(class: Class, span: Range<usize>) -> Token {
    Token { class, span, guide: None }
}

pub(super) fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

/// `http://` or `https://` up to whitespace, minus trailing punctuation.
pub(super) fn url_at(text: &str, at: usize, guides: Option<&[Piece]>) -> Option<Token> {
    let rest = &text[at..];
    let scheme =
        ["https://", "http://"].into_iter().find(|s| rest.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)))?;
    let url = trim_url_tail(&rest[..rest.find(ends_url).unwrap_or(rest.len())]);
    let generic = (url.len() > scheme.len()).then(|| plain(Class::Url, at..at + url.len()));
    verbatim(text, &generic, guides).or_else(|| guided(text, at, at, Class::Url, guides)).or(generic)
}

/// Chars that end a URL: whitespace, and the `…` and CJK punctuation that
/// never occur raw in one but get glued to it (`…を見て。`).
pub(super) fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '…' | '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}')
}

/// Drops the sentence's punctuation from a URL's end; `)` only when the URL
/// has no `(` it closes, as in `…/Rust_(programming_language)`.
pub(super) fn trim_url_tail(mut url: &str) -> &str {
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
pub(super) fn handle_at(text: &str, at: usize, guides: Option<&[Piece]>) -> Option<Token> {
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
pub(super) fn name_len(text: &str) -> usize {
    if !text.starts_with(is_word) {
        return 0;
    }
    let end = text.find(|c: char| !(is_word(c) || c == '.' || c == '-')).unwrap_or(text.len());
    text[..end].trim_end_matches(['.', '-']).len()
}

pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `generic` if it is a source token written verbatim. It wins over a loose
/// spelling, which could only find a shorter token inside it (`@kim_lee` in
/// `@kim_leeさん_`): written as in the source, a token must scan as itself.
pub(super) fn verbatim(text: &str, generic: &Option<Token>, guides: Option<&[Piece]>) -> Option<Token> {
    let token = generic.as_ref()?;
    let own = &text[token.span.clone()];
    let i = guides?.iter().position(|g| g.class == token.class && g.text == own)?;
    Some(Token { guide: Some(i), ..token.clone() })
}

/// The longest source token of `class` that `text` spells loosely from `body`
/// (for a mention or tag, the sigil at `at` comes before).
pub(super) fn guided(text: &str, at: usize, body: usize, class: Class, guides: Option<&[Piece]>) -> Option<Token> {
    let candidates = guides?.iter().enumerate().filter(|(_, g)| g.class == class);
    let (end, i) = candidates.filter_map(|(i, g)| Some((loose_end(text, body, g)?, i))).max_by_key(|&(end, _)| end)?;
    Some(Token { class, span: at..end, guide: Some(i) })
}

/// Where `guide` ends if `text` spells it from `at` the way LLMs mangle it:
/// a URL with whitespace put in; a name with its case or width changed or
/// split into words. It must end where the URL or word does.
pub(super) fn loose_end(text: &str, at: usize, guide: &Piece) -> Option<usize> {
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
pub(super) fn url_spelled_len(text: &str, url: &str) -> Option<usize> {
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
pub(super) fn name_spelled_len(text: &str, name: &str) -> Option<usize> {
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
pub(super) fn same_letter(a: char, b: char) -> bool {
    let (a, b) = (halfwidth(a), halfwidth(b));
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

pub(super) fn halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A loosely spelled URL must not run on into more URL: `https://a.b/c`
/// is not spelled by `https://a.b/ cat`.
pub(super) fn url_ends_at(text: &str, end: usize) -> bool {
    text[end..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric() && !"/?#&=%_~+-".contains(c))
}

/// A loosely spelled name must end where the word does: `@kim` is not in
/// `@kimchi`, `@kim_lee` or `@kim.lee`, but is in `@kimさん` (an honorific
/// glued on, in another script).
pub(super) fn name_ends_at(text: &str, end: usize) -> bool {
    let Some(last) = char_before(text, end) else { return false };
    let next = text[end..].chars().find(|&c| c != '.' && c != '-');
    next.is_none_or(|c| c != '_' && !(c.is_alphanumeric() && c.is_ascii() == last.is_ascii()))
}

/// A run of emoji with nothing between them (`🔥🔥`, `👍🏽`, `👨‍👩‍👧`, `🇰🇷`)
/// is one token, so a restored run reads as the source's did. In a
/// translation `:shortcode:`s count as emoji.
pub(super) fn emoji_at(text: &str, at: usize, mangled: bool) -> Option<Token> {
    let unit_end = |at| emoji_end(text, at).or_else(|| if mangled { shortcode_end(text, at) } else { None });
    let mut end = at;
    while let Some(next) = unit_end(end) {
        end = next;
    }
    (end > at).then(|| plain(Class::Emoji, at..end))
}

pub(super) const ZWJ: char = '\u{200D}';

/// One emoji: a pictograph, its modifiers, and pictographs joined by ZWJ.
pub(super) fn emoji_end(text: &str, at: usize) -> Option<usize> {
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
pub(super) fn is_pictograph(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF)
}

/// Variation selector 16, skin tones, and the tag chars of subdivision flags.
pub(super) fn is_emoji_modifier(c: char) -> bool {
    matches!(u32::from(c), 0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// `:smile:`, `:+1:` — what some LLMs write for an emoji. The name needs a
/// letter (or is `+1`/`-1`) and must not touch a word, so `12:30:45` and
/// `a:b:c` are not shortcodes.
pub(super) fn shortcode_end(text: &str, at: usize) -> Option<usize> {
    let body = text[at..].strip_prefix(':')?;
    let len = body.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_+-".contains(c)))?;
    let (name, after) = body.split_at(len);
    let after = after.strip_prefix(':')?;
    let named = name.bytes().any(|b| b.is_ascii_lowercase()) || name == "+1" || name == "-1";
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (named && !glued(char_before(text, at)) && !glued(after.chars().next())).then_some(at + len + 2)
}

/// Digits, with single `,` or `.` between digits: `3`, `1,000`, `3.5`.
pub(super) fn number_at(text: &str, at: usize) -> Option<Token> {
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
