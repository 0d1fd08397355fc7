//! Chat that reads like a live stream's: Korean, English and Japanese lines
//! with the repeats real chat has, laughter, emotes, links, @mentions and
//! the names of players and teams, drawn with a fixed seed so every run gets
//! the same lines. The demo sends it through the gateway; the bench's
//! savings scenario measures on it what never needed an LLM.
//!
//! The proportions, by kind of line (each pool is drawn with weights that
//! fall off like chat's, so a few lines come back again and again):
//!
//! | kind | share | what |
//! |---|---:|---|
//! | sentence | 58 % | Korean 45 %, English 35 %, Japanese 20 % of them; about one in four names a player or team (`Faker`, `T1`, `Chovy`, `Gen.G`), and about one in six carries a number from 1 to 500: the long tail of lines seen once or twice |
//! | laughter | 28 % | `ㅋㅋㅋ` in several lengths, `ㅎㅎ`, `lol`, `lmao`, `gg`, `www`, `草` |
//! | emote | 7 % | `KEKW`, `Kappa`, `PogChamp`, `LUL LUL`, ... |
//! | no text | 7 % | emoji, scores, `??`, an @mention or a clip link alone |
//!
//! Every line is posted in channel `lck` (70 %) or `lck_jp` (30 %), and is
//! read by an audience of Korean, English and Japanese speakers.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a line is, as the generator made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Words in one language.
    Sentence,
    /// Laughter and reactions that read the same everywhere.
    Laughter,
    /// Emote names.
    Emote,
    /// Emoji, numbers, punctuation, a mention or a link.
    NoText,
}

/// One chat line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The language of a sentence (`ko`, `en`, `ja`); `None` for the rest.
    pub language: Option<&'static str>,
    pub kind: Kind,
    /// The channel it was posted in.
    pub channel: &'static str,
}

/// The languages the audience reads: every line is translated into each.
pub const AUDIENCE: [&str; 3] = ["ko", "en", "ja"];

/// Players and teams chat names, each a term a model may mangle.
pub const NAMES: [&str; 4] = ["Faker", "T1", "Chovy", "Gen.G"];

const KINDS: [(Kind, u32); 4] = [(Kind::Sentence, 58), (Kind::Laughter, 28), (Kind::Emote, 7), (Kind::NoText, 7)];

const LANGUAGES: [(&str, u32); 3] = [("ko", 45), ("en", 35), ("ja", 20)];

const KOREAN: &[&str] = &[
    "대박",
    "{n}판째 보는 중인데 아직도 재밌네",
    "안녕하세요",
    "오늘 방송 최고 🔥",
    "{name} 오늘 미쳤다",
    "감사합니다",
    "와 방금 그거 뭐야",
    "이 노래 제목이 뭐예요?",
    "{name} 폼 미쳤다 ㅋㅋㅋ",
    "@streamer_kim 이번 판 진짜 잘했어요 👏",
    "저 방금 구독했어요! #첫구독",
    "오늘 몇 시까지 방송해요?",
    "하이라이트 여기 있어요 https://clips.example.tv/Abc123",
];

const ENGLISH: &[&str] = &[
    "that was insane",
    "day {n} of asking for a karaoke stream",
    "{name} is cracked today",
    "good morning chat",
    "hello from Brazil 🇧🇷",
    "what rank is this?",
    "this song is a banger",
    "no way {name} won that fight",
    "first time here, love the vibes",
    "how long is the stream today?",
    "@mina_plays you carried that 1v3 💪",
    "can you play ranked next?",
];

const JAPANESE: &[&str] = &[
    "すごい！",
    "{n}回目の配信おめでとうございます",
    "こんにちは",
    "{name} やばすぎる",
    "ありがとう",
    "今の神プレイ",
    "おはようございます",
    "今日は何時まで配信しますか？",
    "この曲の名前は何ですか？",
    "#初見 です、よろしくお願いします 😊",
];

const LAUGHTER: &[&str] =
    &["ㅋㅋㅋ", "lol", "gg", "ㅋㅋㅋㅋㅋ", "www", "草", "lmao", "ㅎㅎ", "LOL", "ㅋㅋㅋㅋㅋㅋㅋㅋ", "wwwww", "ㅋㅋ lol"];

const EMOTES: &[&str] = &["KEKW", "Kappa", "PogChamp", "LUL LUL", "OMEGALUL", "Sadge", "KEKW KEKW KEKW"];

const NO_TEXT: &[&str] =
    &["🔥🔥🔥", "😂😂😂", "👏👏", "❤️", "??", "1:0", "!!!", "@streamer_kim", "https://clips.example.tv/Xyz789"];

/// `count` lines drawn with `seed`: the same lines for the same seed.
pub fn corpus(count: usize, seed: u64) -> Vec<Line> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(|_| line(&mut rng)).collect()
}

fn line(rng: &mut StdRng) -> Line {
    let kind = *weighted(rng, &KINDS);
    let (pool, language) = match kind {
        Kind::Sentence => {
            let language = *weighted(rng, &LANGUAGES);
            let pool = match language {
                "ko" => KOREAN,
                "en" => ENGLISH,
                _ => JAPANESE,
            };
            (pool, Some(language))
        }
        Kind::Laughter => (LAUGHTER, None),
        Kind::Emote => (EMOTES, None),
        Kind::NoText => (NO_TEXT, None),
    };
    let template = chat_pick(rng, pool);
    let name = NAMES[rng.random_range(0..NAMES.len())];
    let text = template.replace("{name}", name).replace("{n}", &rng.random_range(1..=500).to_string());
    let channel = if rng.random_range(0..100) < 70 { "lck" } else { "lck_jp" };
    Line { text, language, kind, channel }
}

/// An item of `pool` drawn as chat repeats itself: the first lines are the
/// most common, weight `1 / rank`.
fn chat_pick<'a>(rng: &mut StdRng, pool: &[&'a str]) -> &'a str {
    let weights: Vec<(&'a str, u32)> = pool.iter().enumerate().map(|(i, line)| (*line, 840 / (i as u32 + 1))).collect();
    weighted::<&'a str>(rng, &weights)
}

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (item, weight) in items {
        if pick < *weight {
            return item;
        }
        pick -= weight;
    }
    unreachable!("the weights cover the range")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_chat() {
        assert_eq!(corpus(500, 7), corpus(500, 7));
        assert_ne!(corpus(500, 7), corpus(500, 8));
    }

    #[test]
    fn the_proportions_are_the_ones_stated() {
        let lines = corpus(20_000, 1);
        let share = |kind: Kind| lines.iter().filter(|l| l.kind == kind).count() as f64 / lines.len() as f64;
        for (kind, percent) in KINDS {
            assert!((share(kind) * 100.0 - percent as f64).abs() < 1.5, "{kind:?}: {}", share(kind));
        }
        let sentences: Vec<&Line> = lines.iter().filter(|l| l.kind == Kind::Sentence).collect();
        let korean = sentences.iter().filter(|l| l.language == Some("ko")).count() as f64 / sentences.len() as f64;
        assert!((korean - 0.45).abs() < 0.02, "{korean}");
        assert!(lines.iter().all(|l| (l.kind == Kind::Sentence) == l.language.is_some()));
    }

    #[test]
    fn chat_repeats_itself_and_names_players() {
        let lines = corpus(1_000, 3);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for line in &lines {
            *counts.entry(line.text.as_str()).or_default() += 1;
        }
        assert!(counts["ㅋㅋㅋ"] > 40, "the commonest laugh: {}", counts["ㅋㅋㅋ"]);
        assert!(counts.len() < 300, "{} distinct lines in 1,000", counts.len());
        assert!(lines.iter().any(|l| NAMES.iter().any(|n| l.text.contains(n))));
        assert!(!lines.iter().any(|l| l.text.contains("{name}")));
    }
}
