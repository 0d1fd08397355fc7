//! The languages the detector knows, by the ISO 639-1 codes jobs use
//! (whatlang names them by ISO 639-3).

use whatlang::{Detector, Lang};

/// (ISO 639-1, whatlang's language), for every language whatlang detects
/// that has a two-letter code.
#[rustfmt::skip]
const LANGUAGES: &[(&str, Lang)] = &[
    ("af", Lang::Afr), ("ak", Lang::Aka), ("am", Lang::Amh), ("ar", Lang::Ara), ("az", Lang::Aze),
    ("be", Lang::Bel), ("bg", Lang::Bul), ("bn", Lang::Ben), ("ca", Lang::Cat), ("cs", Lang::Ces),
    ("cy", Lang::Cym), ("da", Lang::Dan), ("de", Lang::Deu), ("el", Lang::Ell), ("en", Lang::Eng),
    ("eo", Lang::Epo), ("es", Lang::Spa), ("et", Lang::Est), ("fa", Lang::Pes), ("fi", Lang::Fin),
    ("fr", Lang::Fra), ("gu", Lang::Guj), ("he", Lang::Heb), ("hi", Lang::Hin), ("hr", Lang::Hrv),
    ("hu", Lang::Hun), ("hy", Lang::Hye), ("id", Lang::Ind), ("it", Lang::Ita), ("ja", Lang::Jpn),
    ("jv", Lang::Jav), ("ka", Lang::Kat), ("km", Lang::Khm), ("kn", Lang::Kan), ("ko", Lang::Kor),
    ("la", Lang::Lat), ("lt", Lang::Lit), ("lv", Lang::Lav), ("mk", Lang::Mkd), ("ml", Lang::Mal),
    ("mr", Lang::Mar), ("my", Lang::Mya), ("nb", Lang::Nob), ("ne", Lang::Nep), ("nl", Lang::Nld),
    ("or", Lang::Ori), ("pa", Lang::Pan), ("pl", Lang::Pol), ("pt", Lang::Por), ("ro", Lang::Ron),
    ("ru", Lang::Rus), ("si", Lang::Sin), ("sk", Lang::Slk), ("sl", Lang::Slv), ("sn", Lang::Sna),
    ("sr", Lang::Srp), ("sv", Lang::Swe), ("ta", Lang::Tam), ("te", Lang::Tel), ("th", Lang::Tha),
    ("tk", Lang::Tuk), ("tl", Lang::Tgl), ("tr", Lang::Tur), ("uk", Lang::Ukr), ("ur", Lang::Urd),
    ("uz", Lang::Uzb), ("vi", Lang::Vie), ("yi", Lang::Yid), ("zh", Lang::Cmn), ("zu", Lang::Zul),
];

/// whatlang's language for an ISO 639-1 code (`pt-BR` reads as `pt`).
pub fn lang(code: &str) -> Option<Lang> {
    let primary = code.split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES.iter().find(|(c, _)| *c == primary).map(|(_, lang)| *lang)
}

/// The ISO 639-1 code of whatlang's language.
pub fn code(lang: Lang) -> Option<&'static str> {
    LANGUAGES.iter().find(|(_, l)| *l == lang).map(|(code, _)| *code)
}

/// Every code this stage detects.
pub fn codes() -> Vec<&'static str> {
    LANGUAGES.iter().map(|(code, _)| *code).collect()
}

/// A detector over `languages` (ISO 639-1), or over every language it
/// knows when the list is empty.
pub fn detector(languages: &[String]) -> Detector {
    let allowed: Vec<Lang> = languages.iter().filter_map(|code| lang(code)).collect();
    if allowed.is_empty() { Detector::new() } else { Detector::with_allowlist(allowed) }
}
