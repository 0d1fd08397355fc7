//! The MessagePack arguments bullmq's scripts unpack with `cmsgpack`: an
//! options map, or a flat list of strings. Only the shapes the worker sends.

use rmp::encode;

/// A value in an options map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Map(Vec<(&'a str, Value<'a>)>),
}

/// `entries` as a MessagePack map.
pub(crate) fn map(entries: &[(&str, Value<'_>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_map(&mut out, entries);
    out
}

/// `items` as a MessagePack array of strings.
pub(crate) fn strings<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * items.len() + 5);
    encode::write_array_len(&mut out, items.len() as u32).expect(INFALLIBLE);
    for item in items {
        encode::write_str(&mut out, item).expect(INFALLIBLE);
    }
    out
}

const INFALLIBLE: &str = "writing to a Vec cannot fail";

fn write_map(out: &mut Vec<u8>, entries: &[(&str, Value<'_>)]) {
    encode::write_map_len(out, entries.len() as u32).expect(INFALLIBLE);
    for (key, value) in entries {
        encode::write_str(out, key).expect(INFALLIBLE);
        match value {
            Value::Str(s) => encode::write_str(out, s).map(drop).expect(INFALLIBLE),
            Value::Int(n) => encode::write_sint(out, *n).map(drop).expect(INFALLIBLE),
            Value::Bool(b) => encode::write_bool(out, *b).expect(INFALLIBLE),
            Value::Map(inner) => write_map(out, inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_maps_and_string_lists() {
        // What msgpackr packs for `{token: "t", lockDuration: 30000, keep: {count: -1}, fpof: false}`,
        // but for the map headers: msgpackr writes map16, this the fixmap; cmsgpack reads both.
        let packed = map(&[
            ("token", Value::Str("t")),
            ("lockDuration", Value::Int(30000)),
            ("keep", Value::Map(vec![("count", Value::Int(-1))])),
            ("fpof", Value::Bool(false)),
        ]);
        let expected: &[u8] = &[
            0x84, 0xa5, b't', b'o', b'k', b'e', b'n', 0xa1, b't', 0xac, b'l', b'o', b'c', b'k', b'D', b'u', b'r', b'a',
            b't', b'i', b'o', b'n', 0xcd, 0x75, 0x30, 0xa4, b'k', b'e', b'e', b'p', 0x81, 0xa5, b'c', b'o', b'u', b'n',
            b't', 0xff, 0xa4, b'f', b'p', b'o', b'f', 0xc2,
        ];
        assert_eq!(packed, expected);
        assert_eq!(strings(["a", "bc"].into_iter()), [0x92, 0xa1, b'a', 0xa2, b'b', b'c']);
    }
}
