//! Real chat lines through [`tidy`], and the regressions fuzzing found.

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
    ("@kim_jp hi! streaming for 3 hours today 😊 #zatsudan", "＠kim_jp こんにちは！今日は3時間配信します ＃zatsudan"),
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
    let expected =
        [(Class::Number, "12"), (Class::Number, "30"), (Class::Url, "https://x.tv/#top?v=2"), (Class::Mention, "@kim")];
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
