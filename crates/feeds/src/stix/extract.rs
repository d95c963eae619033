//! What a STIX pattern means for the library. A pattern becomes indicators only when matching
//! any one value on its own is what it says: an equality (`=`), a set membership (`IN`, which is
//! an OR of equalities), or an `OR` of those, at either level. Everything else — `AND`,
//! `FOLLOWEDBY`, qualifiers, `NOT`, `!=`, `LIKE`, `MATCHES`, ... — would widen the indicator if
//! one part were imported alone, so it is skipped with the reason. Parts of an `OR` are judged
//! one by one: `[file:hashes.MD5 = '…' OR process:name = 'x']` imports the hash and reports
//! the process part.

use indicator::Kind;

use super::pattern::{Comparison, Literal, ObjectPath, Observation, Operator, Step, Test};
use crate::fields::{Expect, HOST_KINDS, IPV4_KINDS, IPV6_KINDS};

/// One part of a pattern: a value to import as the expected kind, or why the part is skipped.
pub(crate) type Part = Result<(Expect, String), String>;

/// The parts of a pattern, in pattern order.
pub(crate) fn parts(pattern: &Observation) -> Vec<Part> {
    let mut out = Vec::new();
    observation_parts(pattern, &mut out);
    out
}

fn observation_parts(observation: &Observation, out: &mut Vec<Part>) {
    match observation {
        Observation::Comparison(comparison) => comparison_parts(comparison, out),
        Observation::Or(items) => items.iter().for_each(|o| observation_parts(o, out)),
        Observation::And(_) => out.push(Err(format!(
            "`{observation}` joins observations with AND: they only match together"
        ))),
        Observation::FollowedBy(_) => out.push(Err(format!(
            "`{observation}` uses FOLLOWEDBY: it matches a sequence, not one value"
        ))),
        Observation::Qualified(_, qualifier) => out.push(Err(format!(
            "`{observation}` has a qualifier ({qualifier}): a single sighting does not match it"
        ))),
    }
}

fn comparison_parts(comparison: &Comparison, out: &mut Vec<Part>) {
    match comparison {
        Comparison::Or(items) => items.iter().for_each(|c| comparison_parts(c, out)),
        Comparison::And(_) => out.push(Err(format!(
            "`{comparison}` joins comparisons with AND: they only match together"
        ))),
        Comparison::Test(test) => test_parts(test, out),
    }
}

fn test_parts(test: &Test, out: &mut Vec<Part>) {
    let Test::Compare {
        path,
        negated: false,
        op: op @ (Operator::Eq | Operator::In),
        value,
    } = test
    else {
        out.push(Err(format!("`{test}` is not an equality")));
        return;
    };
    let Some(expect) = expect_for(path) else {
        out.push(Err(format!(
            "`{path}` is not a property iocsync imports as an indicator"
        )));
        return;
    };
    let values: Vec<&Literal> = match (op, value) {
        (Operator::In, Literal::Set(items)) => items.iter().collect(),
        _ => vec![value],
    };
    for value in values {
        out.push(match value {
            Literal::Str(s) => Ok((expect, s.clone())),
            other => Err(format!("`{path}` is compared with {other}, not a string")),
        });
    }
}

/// The kind a property of a cyber-observable holds, for the properties iocsync imports.
pub(crate) fn expect_for(path: &ObjectPath) -> Option<Expect> {
    let names: Option<Vec<&str>> = path
        .steps
        .iter()
        .map(|step| match step {
            Step::Property(name) => Some(name.as_str()),
            Step::Index(_) | Step::AnyIndex => None,
        })
        .collect();
    match (path.object_type.as_str(), names?.as_slice()) {
        (object_type, ["value"]) => value_expect(object_type),
        ("email-message", ["from_ref" | "sender_ref", "value"]) => {
            Some(Expect::Exactly(Kind::Email))
        }
        ("file" | "artifact", ["hashes", algorithm]) => hash_kind(algorithm).map(Expect::Exactly),
        ("network-traffic", ["dst_ref" | "src_ref", "value"]) => Some(Expect::OneOf(HOST_KINDS)),
        _ => None,
    }
}

/// The kind the `value` property of a cyber-observable holds, for the observables iocsync
/// imports.
pub(crate) fn value_expect(object_type: &str) -> Option<Expect> {
    match object_type {
        "ipv4-addr" => Some(Expect::OneOf(IPV4_KINDS)),
        "ipv6-addr" => Some(Expect::OneOf(IPV6_KINDS)),
        "domain-name" => Some(Expect::Exactly(Kind::Domain)),
        "url" => Some(Expect::Exactly(Kind::Url)),
        "email-addr" => Some(Expect::Exactly(Kind::Email)),
        _ => None,
    }
}

/// `MD5`, `SHA-1`, `SHA-256` (the STIX hash-algorithm vocabulary) and their common spellings
/// `SHA1`, `sha256`, `SHA_256`.
pub(crate) fn hash_kind(algorithm: &str) -> Option<Kind> {
    let name: String = algorithm
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_uppercase)
        .collect();
    match name.as_str() {
        "MD5" => Some(Kind::Md5),
        "SHA1" => Some(Kind::Sha1),
        "SHA256" => Some(Kind::Sha256),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::parse;
    use super::*;

    fn values(pattern: &str) -> Vec<Result<String, String>> {
        parts(&parse(pattern).unwrap())
            .into_iter()
            .map(|part| part.map(|(_, v)| v))
            .collect()
    }

    #[test]
    fn equalities_and_ors_of_them_are_indicators() {
        assert_eq!(
            values("[ipv4-addr:value = '198.51.100.1']"),
            [Ok("198.51.100.1".to_owned())]
        );
        assert_eq!(
            values("[domain-name:value = 'a.example' OR url:value = 'http://b.example/']"),
            [
                Ok("a.example".to_owned()),
                Ok("http://b.example/".to_owned())
            ]
        );
        assert_eq!(
            values("[file:hashes.MD5 = 'x'] OR ([file:hashes.'SHA-256' = 'y'])"),
            [Ok("x".to_owned()), Ok("y".to_owned())]
        );
        assert_eq!(
            values("[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]"),
            [Ok("192.0.2.1".to_owned()), Ok("192.0.2.2".to_owned())]
        );
    }

    #[test]
    fn anything_narrower_than_one_value_is_skipped_with_a_reason() {
        for pattern in [
            "[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.example']",
            "[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'a.example']",
            "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'a.example']",
            "[ipv4-addr:value = '1.2.3.4'] WITHIN 60 SECONDS",
            "[ipv4-addr:value != '1.2.3.4']",
            "[ipv4-addr:value NOT = '1.2.3.4']",
            "[url:value LIKE 'http://%']",
            "[url:value MATCHES '^http']",
            "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
            "[process:name = 'evil.exe']",
            "[file:hashes.'SHA-512' = 'abc']",
            "[ipv4-addr:value = 5]",
            "[EXISTS url:value]",
            "[email-message:to_refs[*].value = 'x@example.com']",
        ] {
            let out = values(pattern);
            assert_eq!(out.len(), 1, "{pattern}");
            assert!(out[0].is_err(), "{pattern}");
        }
    }

    #[test]
    fn mixed_ors_import_the_supported_parts() {
        let out = values("[file:hashes.MD5 = 'x' OR file:name = 'evil.exe']");
        assert_eq!(out[0], Ok("x".to_owned()));
        assert!(out[1].as_ref().unwrap_err().contains("file:name"));
    }

    #[test]
    fn hash_algorithm_spellings() {
        assert_eq!(hash_kind("SHA-256"), Some(Kind::Sha256));
        assert_eq!(hash_kind("sha1"), Some(Kind::Sha1));
        assert_eq!(hash_kind("MD5"), Some(Kind::Md5));
        assert_eq!(hash_kind("SHA-512"), None);
        assert_eq!(hash_kind("SSDEEP"), None);
    }
}
