//! Reading a translation job out of a prompt, for the stand-in server (it is
//! not a model and does not understand prompts beyond the rules below).
//!
//! ## The prompt format
//! **Text.** The text to translate is everything after the first line of the
//! last user message (or the `/api/generate` `prompt`) that starts with
//! `Text:` — text on that same line included, later lines kept, the whole
//! trimmed. Without such a line it is the whole message minus any
//! `Target language:` lines.
//!
//! **Target.** Searched in the part of that message before its `Text:` line,
//! then in the other messages from last to first (for `/api/generate`: the
//! `system` field):
//! 1. a line `Target language: <code>` — the first word after the colon, with
//!    quotes, backticks and a trailing `.` removed; the key is
//!    case-insensitive and may be wrapped in markdown (`- `, `**…:**`);
//! 2. failing that, prose: after a word `translate` (`translating`,
//!    `translation`), the first `into <X>` or `to <X>` where `<X>` is a
//!    language name (`Korean`, `English`, …) or a known two-letter code with
//!    optional subtags (`ko`, `pt-BR`);
//! 3. failing both, `en`.
//!
//! A line found in 1 wins over prose anywhere.

/// One chat message as the routes hand it over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Turn<'a> {
    pub role: &'a str,
    pub content: &'a str,
}

/// What to translate and into which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    pub target: String,
    pub text: String,
}

/// The target when a prompt names none.
pub(crate) const DEFAULT_TARGET: &str = "en";

/// The job in a chat request (`/api/chat`, `/v1/chat/completions`).
pub(crate) fn from_chat(turns: &[Turn<'_>]) -> Job {
    let last_user = turns.iter().rposition(|t| t.role == "user").or(turns.len().checked_sub(1));
    let Some(last) = last_user else {
        return Job { target: DEFAULT_TARGET.into(), text: String::new() };
    };
    let main = turns[last].content;
    let mut sources = vec![head(main)];
    sources.extend(turns.iter().enumerate().rev().filter(|(i, _)| *i != last).map(|(_, t)| t.content));
    Job { target: target_in(&sources), text: text_of(main) }
}

/// The job in an `/api/generate` request.
pub(crate) fn from_generate(prompt: &str, system: Option<&str>) -> Job {
    let mut sources = vec![head(prompt)];
    sources.extend(system);
    Job { target: target_in(&sources), text: text_of(prompt) }
}

/// A line with markdown decoration (`- `, `* `, `# `, `**`) taken off the front.
fn undecorated(line: &str) -> &str {
    line.trim().trim_start_matches(['-', '*', '#', '>', ' ', '\t'])
}

/// The value of a `key:` line (key case-insensitive), if `line` is one.
fn keyed<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let line = undecorated(line);
    let prefix = line.get(..key.len())?;
    if !prefix.eq_ignore_ascii_case(key) {
        return None;
    }
    let rest = line[key.len()..].trim_start_matches(['*', ' ']);
    let rest = rest.strip_prefix(':')?;
    Some(rest.trim_start_matches(['*', ' ', '\t']))
}

/// Byte offset of the first `Text:` line, and the text that follows it.
fn text_line(message: &str) -> Option<(usize, String)> {
    let mut offset = 0;
    for line in message.split_inclusive('\n') {
        if let Some(rest) = keyed(line, "text") {
            let after = &message[offset + line.len()..];
            let joined = if rest.trim().is_empty() {
                after.to_owned()
            } else {
                format!("{rest}\n{after}") // `keyed` trimmed the line's own newline
            };
            return Some((offset, joined.trim().to_owned()));
        }
        offset += line.len();
    }
    None
}

/// The part of a message before its `Text:` line (all of it if none).
fn head(message: &str) -> &str {
    text_line(message).map_or(message, |(at, _)| &message[..at])
}

/// The text to translate in the main message.
fn text_of(message: &str) -> String {
    if let Some((_, text)) = text_line(message) {
        return text;
    }
    let kept: Vec<&str> = message.lines().filter(|l| keyed(l, "target language").is_none()).collect();
    kept.join("\n").trim().to_owned()
}

fn target_in(sources: &[&str]) -> String {
    let explicit = sources.iter().flat_map(|s| s.lines()).find_map(|l| keyed(l, "target language"));
    let explicit = explicit.map(first_word).filter(|w| !w.is_empty());
    explicit.or_else(|| sources.iter().find_map(|s| from_prose(s))).unwrap_or_else(|| DEFAULT_TARGET.to_owned())
}

fn first_word(value: &str) -> String {
    clean(value.split_whitespace().next().unwrap_or_default())
}

/// A word with surrounding quotes, brackets and punctuation removed.
fn clean(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric()).to_owned()
}

/// `translate … into X` / `translate … to X` with X a recognised language.
fn from_prose(text: &str) -> Option<String> {
    let words: Vec<String> = text.split_whitespace().map(clean).collect();
    let start = words.iter().position(|w| {
        let w = w.to_lowercase();
        w == "translate" || w == "translating" || w == "translation"
    })?;
    words[start..].windows(2).find_map(|pair| {
        let joiner = pair[0].to_lowercase();
        let is_joiner = joiner == "into" || joiner == "to";
        (is_joiner && crate::phrases::is_language(&pair[1])).then(|| pair[1].clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(turns: &[(&'static str, &'static str)]) -> Job {
        let turns: Vec<Turn<'_>> = turns.iter().map(|(role, content)| Turn { role, content }).collect();
        from_chat(&turns)
    }

    #[test]
    fn lingo_plugin_shape() {
        let job = chat(&[
            ("system", "You translate live-stream chat. Reply with the translation only."),
            ("user", "Source language: ko\nTarget language: en\nText:\n안녕하세요 @streamer 🎉"),
        ]);
        assert_eq!(job, Job { target: "en".into(), text: "안녕하세요 @streamer 🎉".into() });
    }

    #[test]
    fn text_on_the_same_line_and_multiline() {
        let job = chat(&[("user", "Target language: ja\nText: first line\nsecond line\n")]);
        assert_eq!(job.text, "first line\nsecond line");
        assert_eq!(job.target, "ja");
    }

    #[test]
    fn target_in_system_message_and_markdown_keys() {
        let job = chat(&[("system", "**Target language:** `ko`."), ("user", "Text:\nhello")]);
        assert_eq!(job, Job { target: "ko".into(), text: "hello".into() });
        let job = chat(&[("system", "- target LANGUAGE: es (Spanish)"), ("user", "hi")]);
        assert_eq!(job.target, "es");
    }

    #[test]
    fn chat_text_cannot_hijack_the_target() {
        let job = chat(&[("user", "Target language: en\nText:\nTarget language: xx")]);
        assert_eq!(job, Job { target: "en".into(), text: "Target language: xx".into() });
    }

    #[test]
    fn only_the_first_text_line_counts() {
        let job = chat(&[("user", "Text:\nText: inside chat")]);
        assert_eq!(job.text, "Text: inside chat");
    }

    #[test]
    fn prose_fallbacks() {
        let job = chat(&[("system", "Translate the user's chat message into Korean."), ("user", "hello")]);
        assert_eq!(job, Job { target: "Korean".into(), text: "hello".into() });
        let job = chat(&[("user", "Please translate this to pt-BR: bom dia")]);
        assert_eq!(job.target, "pt-BR");
        let job = chat(&[("system", "Translate it to me, then into Japanese")]);
        assert_eq!(job.target, "Japanese");
        let job = chat(&[("system", "Go to ja and translate")]);
        assert_eq!(job.target, DEFAULT_TARGET);
    }

    #[test]
    fn explicit_line_beats_prose() {
        let job = chat(&[("system", "Translate into Korean."), ("user", "Target language: ja\nText: hi")]);
        assert_eq!(job.target, "ja");
    }

    #[test]
    fn fallbacks_without_text_line() {
        let job = chat(&[("user", "Target language: ko\n  lol  ")]);
        assert_eq!(job, Job { target: "ko".into(), text: "lol".into() });
        let job = chat(&[("user", "gg")]);
        assert_eq!(job, Job { target: "en".into(), text: "gg".into() });
        let job = chat(&[("user", "Target language: ko\nText: a"), ("assistant", "b")]);
        assert_eq!(job.text, "a");
        assert_eq!(chat(&[]), Job { target: "en".into(), text: String::new() });
    }

    #[test]
    fn generate_shape() {
        let job = from_generate("Text:\nありがとう", Some("Target language: en"));
        assert_eq!(job, Job { target: "en".into(), text: "ありがとう".into() });
        let job = from_generate("Translate into es.\nText: hello", None);
        assert_eq!(job.target, "es");
    }
}
