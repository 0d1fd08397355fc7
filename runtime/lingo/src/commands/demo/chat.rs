//! Realistic chat for the demo: Korean, English and Japanese lines with the
//! repeats real chat has ("ㅋㅋㅋ", "lol", "gg" come back again and again),
//! drawn with a fixed seed so every run sends the same burst.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Lines and how often chat repeats them, relative to each other.
const LINES: &[(&str, u32)] = &[
    ("ㅋㅋㅋ", 40),
    ("ㅋㅋㅋㅋㅋ", 15),
    ("lol", 30),
    ("gg", 25),
    ("안녕하세요", 20),
    ("감사합니다", 10),
    ("대박", 12),
    ("오늘 방송 최고 🔥", 6),
    ("@streamer_kim 이번 판 진짜 잘했어요 👏", 3),
    ("저 방금 구독했어요! #첫구독", 2),
    ("이 노래 제목이 뭐예요?", 2),
    ("하이라이트 여기 있어요 https://clips.example.tv/Abc123", 1),
    ("hello from Brazil 🇧🇷", 4),
    ("that was insane", 8),
    ("pog", 15),
    ("what rank is this?", 3),
    ("@mina_plays you carried that 1v3 💪", 2),
    ("first time here, love the vibes", 2),
    ("こんにちは", 12),
    ("ありがとう", 8),
    ("草", 10),
    ("すごい！", 6),
    ("今日は何時まで配信しますか？", 2),
    ("#初見 です、よろしくお願いします 😊", 2),
];

/// `count` lines with `(text, targets)`, the same for every run.
pub fn burst(count: usize) -> Vec<(String, Vec<&'static str>)> {
    let total: u32 = LINES.iter().map(|(_, w)| w).sum();
    let mut rng = StdRng::seed_from_u64(7);
    (0..count)
        .map(|_| {
            let mut pick = rng.random_range(0..total);
            let (text, _) = LINES
                .iter()
                .find(|(_, w)| {
                    pick < *w || {
                        pick -= w;
                        false
                    }
                })
                .expect("weights cover the range");
            let targets = targets_for(text, rng.random_range(0..4));
            (text.to_string(), targets)
        })
        .collect()
}

/// Viewers read chat in the languages the stream's audience speaks.
fn targets_for(text: &str, variant: u32) -> Vec<&'static str> {
    let korean = text.chars().any(|c| ('\u{AC00}'..='\u{D7AF}').contains(&c) || ('\u{3131}'..='\u{318E}').contains(&c));
    let japanese = text.chars().any(|c| ('\u{3040}'..='\u{30FF}').contains(&c) || c == '草');
    let mut targets = match (korean, japanese) {
        (true, _) => vec!["en", "ja"],
        (_, true) => vec!["en", "ko"],
        _ => vec!["ko", "ja"],
    };
    if variant == 0 {
        targets.push("es");
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_repeats_itself_and_is_the_same_every_run() {
        let lines = burst(200);
        assert_eq!(lines, burst(200));
        let laughs = lines.iter().filter(|(t, _)| t == "ㅋㅋㅋ").count();
        assert!(laughs > 10, "chat repeats itself: {laughs}");
        assert!(lines.iter().all(|(_, targets)| !targets.is_empty()));
    }
}
