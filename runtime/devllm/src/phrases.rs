//! The pseudo-translation of the stand-in server (it is not a model).
//!
//! Owns the phrase table (about twenty common chat lines in `en`, `ko`, `ja`
//! and `es`), [`translate`] and [`language_code`]. A line found in the table
//! (trimmed, case-insensitive, trailing `!?.~` ignored) becomes the table's
//! line for the target language; anything else becomes `[<target>] <text>`,
//! which keeps emoji, @mentions, #tags, URLs and numbers verbatim because it
//! copies the text. Same input, same output.

use std::collections::HashMap;
use std::sync::LazyLock;

/// One meaning: per language, the line we answer with, then other spellings
/// we recognise. The answer itself is recognised too.
struct Phrase {
    en: &'static [&'static str],
    ko: &'static [&'static str],
    ja: &'static [&'static str],
    es: &'static [&'static str],
}

impl Phrase {
    fn forms(&self, lang: &str) -> Option<&'static [&'static str]> {
        match lang {
            "en" => Some(self.en),
            "ko" => Some(self.ko),
            "ja" => Some(self.ja),
            "es" => Some(self.es),
            _ => None,
        }
    }

    fn all_forms(&self) -> impl Iterator<Item = &'static str> {
        [self.en, self.ko, self.ja, self.es].into_iter().flatten().copied()
    }
}

macro_rules! phrase {
    ($en:expr, $ko:expr, $ja:expr, $es:expr) => {
        Phrase { en: &$en, ko: &$ko, ja: &$ja, es: &$es }
    };
}

#[rustfmt::skip]
static TABLE: &[Phrase] = &[
    phrase!(["Hello", "hi", "hey", "hii", "hello there"], ["안녕하세요", "안녕", "하이"], ["こんにちは", "こんちは"], ["Hola", "buenas"]),
    phrase!(["Thank you", "thanks", "thx", "ty", "thank you so much"], ["감사합니다", "고마워", "고마워요", "감사해요"], ["ありがとう", "ありがとうございます", "サンキュー"], ["Gracias", "muchas gracias"]),
    phrase!(["lol", "lmao", "haha", "hahaha"], ["ㅋㅋㅋ", "ㅋㅋ", "ㅋㅋㅋㅋ", "ㅎㅎ"], ["www", "ww", "笑", "草"], ["jajaja", "jaja", "jsjs"]),
    phrase!(["gg", "good game", "ggwp"], ["ㅈㅈ", "지지"], ["GG", "対戦ありがとうございました"], ["gg", "buena partida"]),
    phrase!(["Good morning", "gm", "morning"], ["좋은 아침이에요", "좋은 아침"], ["おはようございます", "おはよう"], ["Buenos días", "buenos dias"]),
    phrase!(["Good night", "gn", "night"], ["안녕히 주무세요", "잘 자요", "잘자"], ["おやすみなさい", "おやすみ"], ["Buenas noches"]),
    phrase!(["Bye", "goodbye", "cya", "see you"], ["안녕히 가세요", "잘가", "바이"], ["またね", "さようなら", "バイバイ"], ["Adiós", "adios", "chao", "nos vemos"]),
    phrase!(["Yes", "yeah", "yep"], ["네", "응", "예"], ["はい", "うん"], ["Sí", "si"]),
    phrase!(["No", "nope"], ["아니요", "아니", "아뇨"], ["いいえ", "いや"], ["No"]),
    phrase!(["Sorry", "im sorry", "i'm sorry", "my bad"], ["죄송합니다", "미안해요", "미안"], ["ごめんなさい", "すみません", "ごめん"], ["Lo siento", "perdón", "perdon"]),
    phrase!(["Welcome"], ["어서오세요", "환영합니다"], ["ようこそ", "いらっしゃい"], ["Bienvenido", "bienvenida", "bienvenidos"]),
    phrase!(["Congratulations", "congrats", "grats"], ["축하합니다", "축하해요", "축하해"], ["おめでとう", "おめでとうございます"], ["Felicidades", "felicitaciones", "enhorabuena"]),
    phrase!(["Nice", "nice one"], ["나이스", "좋아요"], ["ナイス", "いいね"], ["Genial", "bien hecho"]),
    phrase!(["How are you?", "how are you", "how r u"], ["잘 지내세요?", "잘 지내세요", "잘 지내?"], ["元気ですか？", "元気ですか", "元気？"], ["¿Cómo estás?", "como estas", "¿como estas?"]),
    phrase!(["I love you", "love you", "ily"], ["사랑해요", "사랑해"], ["愛してる", "大好き"], ["Te quiero", "te amo"]),
    phrase!(["So cute", "cute", "so cute"], ["귀여워", "귀여워요", "귀엽다"], ["かわいい", "可愛い"], ["Qué lindo", "que lindo", "qué mono"]),
    phrase!(["Wow", "woah", "whoa"], ["우와", "와", "대박"], ["すごい", "すげー", "すごっ"], ["Guau", "wau", "increíble"]),
    phrase!(["First!", "first", "1st"], ["1등", "일등"], ["一番乗り", "いちばん"], ["¡Primero!", "primero"]),
    phrase!(["Good luck", "gl", "good luck!"], ["화이팅", "파이팅"], ["頑張って", "がんばって"], ["Buena suerte", "suerte"]),
    phrase!(["What?", "what", "wut"], ["뭐?", "뭐", "뭐야"], ["何？", "なに", "何"], ["¿Qué?", "que", "qué"]),
    phrase!(["OK", "okay", "k", "kk"], ["알겠어요", "ㅇㅋ", "오케이", "알겠어"], ["了解", "りょうかい", "オッケー", "おけ"], ["Vale", "de acuerdo", "okey"]),
    phrase!(["Good job", "gj", "well done"], ["잘했어요", "잘했어", "수고하셨습니다"], ["お疲れ様", "お疲れ様です", "おつかれ"], ["Buen trabajo", "bien"]),
    phrase!(["Long time no see"], ["오랜만이에요", "오랜만"], ["久しぶり", "お久しぶりです"], ["Cuánto tiempo", "cuanto tiempo"]),
];

/// Lookup form of a line: trimmed, lowercased, trailing `!?.~` dropped.
fn key(text: &str) -> String {
    let trimmed = text.trim().trim_end_matches(['!', '?', '.', '~', '！', '？', '。', '～']);
    trimmed.trim().to_lowercase()
}

static INDEX: LazyLock<HashMap<String, &'static Phrase>> = LazyLock::new(|| {
    let mut index = HashMap::new();
    for phrase in TABLE {
        for form in phrase.all_forms() {
            index.entry(key(form)).or_insert(phrase);
        }
    }
    index
});

/// Language names we map to codes, for targets like `Korean`.
#[rustfmt::skip]
const NAMES: &[(&str, &str)] = &[
    ("english", "en"), ("korean", "ko"), ("japanese", "ja"), ("spanish", "es"),
    ("chinese", "zh"), ("french", "fr"), ("german", "de"), ("portuguese", "pt"),
    ("italian", "it"), ("russian", "ru"), ("vietnamese", "vi"), ("thai", "th"),
    ("indonesian", "id"), ("arabic", "ar"), ("hindi", "hi"), ("turkish", "tr"),
    ("한국어", "ko"), ("영어", "en"), ("日本語", "ja"), ("英語", "en"), ("español", "es"),
];

/// Two-letter codes we accept inside free-form "translate ... into X" prose.
#[rustfmt::skip]
const CODES: &[&str] = &[
    "en", "ko", "ja", "es", "zh", "fr", "de", "pt", "it", "ru", "vi", "th", "id", "ar", "hi", "tr", "nl",
    "pl", "uk", "sv",
];

/// The language a target names: a known name (`Korean` → `ko`) or the
/// primary subtag of a code (`en-US` → `en`), lowercased.
pub fn language_code(target: &str) -> String {
    let target = target.trim().to_lowercase();
    if let Some((_, code)) = NAMES.iter().find(|(name, _)| *name == target) {
        return (*code).to_owned();
    }
    target.split(['-', '_']).next().unwrap_or_default().to_owned()
}

/// Whether `word` names a language we recognise in prose: a known name, or
/// a known two-letter code with optional subtags (`pt-BR`, `zh-Hans`).
pub(crate) fn is_language(word: &str) -> bool {
    let lower = word.to_lowercase();
    NAMES.iter().any(|(name, _)| *name == lower) || CODES.contains(&language_code(word).as_str())
}

/// The pseudo-translation of `text` into `target`.
///
/// A table line becomes the table's line for the target's language; anything
/// else becomes `[<target>] <text>` with `text` trimmed and `target` as given
/// (a language name is shown as its code).
pub fn translate(text: &str, target: &str) -> String {
    let lang = language_code(target);
    if let Some(phrase) = INDEX.get(&key(text))
        && let Some(forms) = phrase.forms(&lang)
    {
        return forms[0].to_owned();
    }
    let shown = if NAMES.iter().any(|(name, _)| name.eq_ignore_ascii_case(target.trim())) {
        lang
    } else {
        target.trim().to_owned()
    };
    format!("[{shown}] {}", text.trim()).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_translate() {
        let cases = [
            ("안녕하세요", "en", "Hello"),
            ("ㅋㅋㅋ", "en", "lol"),
            ("감사합니다", "en", "Thank you"),
            ("こんにちは", "en", "Hello"),
            ("ありがとう", "en", "Thank you"),
            ("hello", "ko", "안녕하세요"),
            ("Hi", "ja", "こんにちは"),
            ("lol", "ko", "ㅋㅋㅋ"),
            ("gg", "ko", "ㅈㅈ"),
            ("  HELLO!! ", "es", "Hola"),
            ("thanks", "ko-KR", "감사합니다"),
            ("hello", "Korean", "안녕하세요"),
        ];
        for (text, target, want) in cases {
            assert_eq!(translate(text, target), want, "{text} -> {target}");
        }
    }

    #[test]
    fn other_lines_are_marked_and_kept_verbatim() {
        let text = "  @kim_99 check https://ex.am/ple?x=1 #speedrun 42 🎉🔥  ";
        assert_eq!(translate(text, "ko"), "[ko] @kim_99 check https://ex.am/ple?x=1 #speedrun 42 🎉🔥");
        assert_eq!(translate("hello world", "pt-BR"), "[pt-BR] hello world");
        assert_eq!(translate("hello world", "Korean"), "[ko] hello world");
        assert_eq!(translate("", "ja"), "[ja]");
    }

    #[test]
    fn known_phrase_to_unknown_language_is_marked() {
        assert_eq!(translate("hello", "fr"), "[fr] hello");
    }

    #[test]
    fn every_table_form_is_reachable_and_every_row_is_complete() {
        for phrase in TABLE {
            for lang in ["en", "ko", "ja", "es"] {
                assert!(!phrase.forms(lang).unwrap().is_empty());
            }
        }
        assert!(TABLE.len() >= 20);
    }

    #[test]
    fn no_spelling_belongs_to_two_meanings() {
        let mut owner = HashMap::new();
        for (row, phrase) in TABLE.iter().enumerate() {
            for form in phrase.all_forms() {
                let first = *owner.entry(key(form)).or_insert(row);
                assert_eq!(first, row, "`{form}` is in rows {first} and {row}");
            }
        }
    }

    #[test]
    fn language_codes() {
        assert_eq!(language_code(" EN-us "), "en");
        assert_eq!(language_code("Japanese"), "ja");
        assert_eq!(language_code("zh_Hans"), "zh");
        assert!(is_language("Korean") && is_language("pt-BR") && is_language("ja"));
        assert!(!is_language("the") && !is_language("me"));
    }

    #[test]
    fn deterministic() {
        assert_eq!(translate("ㅋㅋㅋ 진짜", "en"), translate("ㅋㅋㅋ 진짜", "en"));
    }
}
