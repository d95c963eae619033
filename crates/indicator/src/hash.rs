//! File hashes: hexadecimal digits in lower case; the kind follows from the length (32 MD5,
//! 40 SHA-1, 64 SHA-256). Any other run of hex digits long enough to be meant as a hash is
//! rejected with its length, rather than guessed at.

use crate::{Indicator, Kind, Reason};

/// The shortest run of hex digits treated as an attempted hash.
const MIN_HASH_LIKE: usize = 16;

/// True when `s` is all hex digits and long enough to be meant as a hash.
pub(crate) fn looks_like_hash(s: &str) -> bool {
    s.len() >= MIN_HASH_LIKE && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses a hash of a known length.
pub(crate) fn parse(s: &str) -> Result<Indicator, Reason> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Reason::Unrecognised);
    }
    let kind = match s.len() {
        32 => Kind::Md5,
        40 => Kind::Sha1,
        64 => Kind::Sha256,
        other => return Err(Reason::HashLength(other)),
    };
    Ok(Indicator::new(kind, s.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_follows_length_and_value_is_lower_case() {
        let md5 = parse("D41D8CD98F00B204E9800998ECF8427E").unwrap();
        assert_eq!(
            (md5.kind, md5.value.as_str()),
            (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(parse(&"a".repeat(40)).unwrap().kind, Kind::Sha1);
        assert_eq!(parse(&"0".repeat(64)).unwrap().kind, Kind::Sha256);
    }

    #[test]
    fn other_lengths_are_errors_with_the_length() {
        for len in [31, 33, 39, 41, 63, 65, 128] {
            assert_eq!(parse(&"b".repeat(len)), Err(Reason::HashLength(len)));
        }
        assert_eq!(parse(&"g".repeat(32)), Err(Reason::Unrecognised));
    }

    #[test]
    fn hash_shapes() {
        assert!(looks_like_hash(&"f".repeat(16)));
        assert!(!looks_like_hash("deadbeef"));
        assert!(!looks_like_hash(&format!("{}.com", "a".repeat(32))));
    }
}
