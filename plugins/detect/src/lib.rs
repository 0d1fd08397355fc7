//! `detect`: spend the LLM only where it matters. One stage in two phases
//! (`phase = ["pre", "translate"]`, first in each):
//!
//! - in `pre`, when the job did not say which language the line is in, it
//!   detects it (whatlang's trigram profiles, on the line without its links,
//!   mentions, emotes and laughter, and without its Latin words when others
//!   are in another script) and reports it when the detector is
//!   confident enough (`min_confidence`); below that the language stays
//!   unknown and the LLM decides, as without this stage;
//! - in `translate`, it keeps the line as its own translation when the line
//!   is already in the target language (`same-language`), or holds nothing
//!   to translate: only emoji, numbers, links, @mentions, #tags and
//!   punctuation (`no-text`), laughter that reads the same everywhere
//!   (`laughter`: `ㅋㅋㅋ`, `www`, `lol`, ...), or emotes (`emote`). The job's
//!   `providers` says which (`detect:laughter`); no later stage is asked.

mod languages;
mod line;

use lingo_sdk::{Outcome, Phase, Request, Stage, StageError, export_stage};
use serde::Deserialize;
use whatlang::Script;

pub use line::{Kind, classify};

/// The stage's `config` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The languages a line may be in (ISO 639-1 codes); empty: every
    /// language the detector knows. Fewer candidates, fewer mistakes.
    pub languages: Vec<String>,
    /// The detector's confidence (0 to 1) below which the language stays unknown.
    pub min_confidence: f64,
    /// Keep a line already in the target language.
    pub same_language: bool,
    /// Keep a line with nothing to translate.
    pub passthrough: bool,
    /// Laughter and reactions that read the same in every language; a
    /// word matches when it starts with an entry and uses only its letters
    /// (`lolll`, `hahaha`), ASCII case ignored. One-letter entries combine
    /// (`ㅋㅋㅎㅎ`).
    pub laughter: Vec<String>,
    /// Emote names, matched as written (`Kappa`, `KEKW`).
    pub emotes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect();
        Self {
            languages: Vec::new(),
            min_confidence: 0.5,
            same_language: true,
            passthrough: true,
            laughter: words(&[
                "ㅋ", "ㅎ", "w", "草", "lol", "lmao", "lmfao", "rofl", "kek", "xd", "haha", "hehe", "gg", "ggwp",
            ]),
            emotes: words(&[
                "Kappa",
                "PogChamp",
                "Pog",
                "POGGERS",
                "LUL",
                "KEKW",
                "OMEGALUL",
                "monkaS",
                "PepeHands",
                "Sadge",
                "4Head",
                "BibleThump",
                "Kreygasm",
                "ResidentSleeper",
                "NotLikeThis",
                "SeemsGood",
                "HeyGuys",
                "EZ",
            ]),
        }
    }
}

struct Detect;

impl Stage for Detect {
    type Config = Config;

    fn init(config: &Config) -> Result<(), String> {
        if !(0.0..=1.0).contains(&config.min_confidence) {
            return Err(format!("min_confidence: {} is not between 0 and 1", config.min_confidence));
        }
        match config.languages.iter().find(|code| languages::lang(code).is_none()) {
            Some(code) => Err(format!(
                "languages: `{code}` is not a language this stage detects; it knows {}",
                languages::codes().join(", ")
            )),
            None => Ok(()),
        }
    }

    fn process(config: &Config, request: &Request) -> Result<Outcome, StageError> {
        Ok(match request.phase {
            Phase::Pre if request.source_language.is_none() => {
                detect(config, &request.text).map_or(Outcome::Pass, Outcome::Detected)
            }
            Phase::Translate => keep(config, request).map_or(Outcome::Pass, |why| Outcome::Kept(why.into())),
            _ => Outcome::Pass,
        })
    }
}

export_stage!(Detect);

/// The line's language, when the detector is sure enough: at least
/// `min_confidence` among the configured languages, and the same language
/// among all it knows. A short Latin line is always English when English is
/// the only Latin candidate, and a Portuguese one must not be kept as
/// English; with every language in play the detector may not be sure, and
/// then the LLM decides.
pub fn detect(config: &Config, text: &str) -> Option<String> {
    let words = classify(text, &config.laughter, &config.emotes).words;
    // Latin words in a line of another script are names and loanwords
    // (`Faker 오늘 미쳤다`): the other script decides.
    let other: Vec<&str> = words.split(' ').filter(|word| !is_latin(word)).collect();
    let words = if other.is_empty() { words } else { other.join(" ") };
    if words.trim().is_empty() {
        return None;
    }
    let info = languages::detector(&config.languages).detect(&words)?;
    if info.confidence() < config.min_confidence {
        return None;
    }
    // Only Korean is written in Hangul and only Japanese in kana: no other
    // language could have been meant. Any other script must be confirmed.
    let one_language_script = matches!(info.script(), Script::Hangul | Script::Hiragana | Script::Katakana);
    if !config.languages.is_empty() && !one_language_script && whatlang::detect_lang(&words) != Some(info.lang()) {
        return None;
    }
    languages::code(info.lang()).map(str::to_string)
}

/// A word whose letters are all Latin (`Faker`, `café`).
fn is_latin(word: &str) -> bool {
    let latin = |c: char| {
        c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) || ('\u{1E00}'..='\u{1EFF}').contains(&c)
    };
    word.chars().filter(|c| c.is_alphabetic()).all(latin)
}

/// Whether a line in `source` needs no translation into `target`: the same
/// language and the same script (`en` is `en-US`; `zh` is not `zh-Hant`).
fn same_language(source: &str, target: &str) -> bool {
    let parts = |code: &str| {
        let mut subtags = code.split(['-', '_']);
        let primary = subtags.next().unwrap_or_default().to_ascii_lowercase();
        let script = subtags.find(|s| s.len() == 4).map(str::to_ascii_lowercase);
        (primary, script)
    };
    parts(source) == parts(target)
}

/// Why the line needs no translation into the request's target, if it does not.
pub fn keep(config: &Config, request: &Request) -> Option<&'static str> {
    let target = request.target_language.as_deref()?;
    if config.same_language && request.source_language.as_deref().is_some_and(|source| same_language(source, target)) {
        return Some("same-language");
    }
    if !config.passthrough {
        return None;
    }
    match classify(&request.text, &config.laughter, &config.emotes).kind {
        Kind::Text => None,
        Kind::NoText => Some("no-text"),
        Kind::Laughter => Some("laughter"),
        Kind::Emote => Some("emote"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(text: &str, source: Option<&str>, target: &str) -> Request {
        Request {
            source_language: source.map(str::to_string),
            target_language: Some(target.into()),
            ..Request::new(Phase::Translate, text)
        }
    }

    #[test]
    fn lines_in_a_clear_script_or_long_enough_are_detected() {
        let config = Config { languages: vec!["ko".into(), "en".into(), "ja".into()], ..Config::default() };
        assert_eq!(detect(&config, "오늘 방송 진짜 재밌다").as_deref(), Some("ko"));
        assert_eq!(detect(&config, "今日の配信めっちゃ面白い").as_deref(), Some("ja"));
        assert_eq!(detect(&config, "this stream is so much fun today").as_deref(), Some("en"));
        // A name in Latin letters does not make a line English.
        assert_eq!(detect(&config, "Faker 오늘 미쳤다").as_deref(), Some("ko"));
        assert_eq!(detect(&config, "Faker やばすぎる").as_deref(), Some("ja"));
        // Nothing but laughter, links and emotes: no words to go on.
        assert_eq!(detect(&config, "ㅋㅋㅋ https://clips.tv/x Kappa"), None);
    }

    #[test]
    fn a_line_in_a_language_outside_the_list_is_not_taken_for_one_inside_it() {
        let config = Config { languages: vec!["ko".into(), "en".into(), "ja".into()], ..Config::default() };
        assert_eq!(detect(&config, "boa noite galera, que jogo incrível"), None, "Portuguese is not English");
        assert_eq!(detect(&config, "Café 정말 맛있다").as_deref(), Some("ko"));
    }

    #[test]
    fn a_line_below_the_threshold_stays_unknown() {
        let config = Config { min_confidence: 1.0, ..Config::default() };
        assert_eq!(detect(&config, "ok nice"), None);
    }

    #[test]
    fn same_language_and_nothing_to_translate_are_kept_with_their_reason() {
        let config = Config::default();
        assert_eq!(keep(&config, &translate("good game", Some("en"), "en-US")), Some("same-language"));
        assert_eq!(keep(&config, &translate("good game", Some("en"), "ko")), None);
        assert_eq!(keep(&config, &translate("你好", Some("zh"), "zh-Hant")), None, "another script");
        assert_eq!(keep(&config, &translate("ㅋㅋㅋㅋ", None, "en")), Some("laughter"));
        assert_eq!(keep(&config, &translate("🔥🔥 !!! 1:0", None, "en")), Some("no-text"));
        assert_eq!(keep(&config, &translate("@mina #speedrun https://x.io/a", None, "ja")), Some("no-text"));
        assert_eq!(keep(&config, &translate("KEKW KEKW", None, "ko")), Some("emote"));
        assert_eq!(keep(&config, &translate("Kappa 진짜?", None, "en")), None);
        let off = Config { passthrough: false, same_language: false, ..Config::default() };
        assert_eq!(keep(&off, &translate("ㅋㅋㅋ", Some("en"), "en")), None);
    }

    #[test]
    fn an_unknown_language_is_refused_at_load() {
        let config = Config { languages: vec!["klingon".into()], ..Config::default() };
        assert!(Detect::init(&config).unwrap_err().starts_with("languages: `klingon`"));
    }
}
