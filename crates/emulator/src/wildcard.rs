//! Wildcard matching shared by Vision One (`*` in exceptions and filters) and Deep Security
//! search (`%` and `_`, SQL LIKE style). Case-insensitive for ASCII, linear-time greedy
//! matching with backtracking to the last star.

/// `*` matches any run of characters; everything else matches itself, ignoring ASCII case.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    matches(pattern, text, '*', None)
}

/// SQL LIKE: `%` matches any run, `_` any single character; ASCII case is ignored.
pub fn like_matches(pattern: &str, text: &str) -> bool {
    matches(pattern, text, '%', Some('_'))
}

fn matches(pattern: &str, text: &str, many: char, one: Option<char>) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Position after the last `many` seen in the pattern, and the text position it was tried at.
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(&c) if c == many => {
                resume = Some((p + 1, t));
                p += 1;
            }
            Some(&c) if Some(c) == one || c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((rp, rt)) => {
                    p = rp;
                    t = rt + 1;
                    resume = Some((rp, rt + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == many)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn globs() {
        assert!(glob_matches("*.example.com", "a.b.example.com"));
        assert!(!glob_matches("*.example.com", "example.com"));
        assert!(glob_matches(
            "https://*.example.com/path/*",
            "https://x.example.com/path/a/b"
        ));
        assert!(glob_matches("ABC", "abc"));
        assert!(!glob_matches("abc", "abcd"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn likes() {
        assert!(like_matches("Blocked%", "Blocked IPs"));
        assert!(like_matches("Blocked_IPs", "Blocked IPs"));
        assert!(!like_matches("Blocked_IPs", "BlockedIPs"));
        assert!(like_matches("%IP%", "my ip list"));
    }

    proptest! {
        #[test]
        fn literal_patterns_match_only_themselves(a in "[a-z.]{0,12}", b in "[a-z.]{0,12}") {
            prop_assert_eq!(glob_matches(&a, &b), a == b);
        }

        #[test]
        fn star_prefix_matches_any_suffix(prefix in "[a-z]{0,8}", suffix in "[a-z.]{0,12}") {
            let text = format!("{prefix}{suffix}");
            let pattern = format!("*{suffix}");
            prop_assert!(glob_matches(&pattern, &text));
        }
    }
}
