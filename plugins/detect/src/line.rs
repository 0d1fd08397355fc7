//! What a chat line is made of, word by word: the words worth translating,
//! and the rest (links, mentions, tags, numbers, emoji, punctuation,
//! laughter, emotes), which read the same in every language.

/// What a whole line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// At least one word to translate.
    Text,
    /// Only emoji, numbers, links, @mentions, #tags and punctuation.
    NoText,
    /// As `NoText`, with laughter.
    Laughter,
    /// As `NoText`, with emotes and no laughter.
    Emote,
}

/// A line, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: Kind,
    /// The words worth translating, space-separated: what detection reads.
    pub words: String,
}

/// Sorts each whitespace-separated word of `text`.
pub fn classify(text: &str, laughter: &[String], emotes: &[String]) -> Line {
    let (mut laughs, mut emoted) = (false, false);
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        if is_symbolic(word) {
            continue;
        }
        if emotes.iter().any(|emote| emote == word) {
            emoted = true;
        } else if is_laughter(word, laughter) {
            laughs = true;
        } else {
            words.push(word);
        }
    }
    let kind = match (words.is_empty(), laughs, emoted) {
        (false, _, _) => Kind::Text,
        (true, true, _) => Kind::Laughter,
        (true, false, true) => Kind::Emote,
        (true, false, false) => Kind::NoText,
    };
    Line { kind, words: words.join(" ") }
}

/// A link, mention, tag, number, or a word with no letters (emoji, punctuation).
fn is_symbolic(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let link = ["http://", "https://", "www."].iter().any(|p| lower.starts_with(p));
    let handle = |sigil: char| {
        word.strip_prefix(sigil)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_alphanumeric() || c == '_'))
    };
    link || handle('@') || handle('#') || !word.chars().any(char::is_alphabetic) || is_number(word)
}

/// `1:0`, `3.5%`, `x2`, `10k`: digits with at most a unit letter.
fn is_number(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    word.chars().any(|c| c.is_ascii_digit()) && letters <= 1
}

/// Laughter: the word starts with an entry and uses only the entry's
/// letters (`lolll`, `hahaha`, `xdd`), ASCII case ignored; or it is made
/// only of one-letter entries (`ㅋㅋㅎㅎ`, `wwww`).
fn is_laughter(word: &str, laughter: &[String]) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    if word.is_empty() {
        return false;
    }
    let singles: Vec<char> =
        laughter.iter().filter(|e| e.chars().count() == 1).filter_map(|e| e.chars().next()).collect();
    if word.chars().all(|c| singles.contains(&c)) {
        return true;
    }
    laughter.iter().any(|entry| {
        let entry = entry.to_lowercase();
        word.starts_with(&entry) && word.chars().all(|c| entry.contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn kind(text: &str) -> Kind {
        classify(text, &words(&["ㅋ", "ㅎ", "w", "lol", "haha", "gg"]), &words(&["Kappa", "KEKW"])).kind
    }

    #[test]
    fn each_class_of_word_that_needs_no_translation() {
        assert_eq!(kind("🔥🎉"), Kind::NoText);
        assert_eq!(kind("!!! ??"), Kind::NoText);
        assert_eq!(kind("1:0 3.5% x2 10k"), Kind::NoText);
        assert_eq!(kind("https://clips.tv/abc www.x.io"), Kind::NoText);
        assert_eq!(kind("@kim_99 #speedrun"), Kind::NoText);
        assert_eq!(kind("ㅋㅋㅋㅋ ㅎㅎ ㅋㅋㅎㅎ"), Kind::Laughter);
        assert_eq!(kind("LOLLL hahaha wwww GG"), Kind::Laughter);
        assert_eq!(kind("Kappa KEKW 🔥"), Kind::Emote);
        assert_eq!(kind("ㅋㅋ Kappa"), Kind::Laughter);
    }

    #[test]
    fn a_word_to_translate_makes_the_line_text() {
        assert_eq!(kind("ㅋㅋㅋ 진짜 웃기다"), Kind::Text);
        assert_eq!(kind("kappa"), Kind::Text, "emotes match as written");
        assert_eq!(kind("hello @mina"), Kind::Text);
        assert_eq!(kind("low"), Kind::Text, "not laughter: `low` does not start with `lol`");
        let line = classify("ㅋㅋ 오늘 방송 https://x.io Kappa", &words(&["ㅋ"]), &words(&["Kappa"]));
        assert_eq!(line.words, "오늘 방송");
    }
}
