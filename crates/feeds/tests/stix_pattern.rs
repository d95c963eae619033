//! The STIX 2.1 pattern parser: the specification's examples, error positions, and a property
//! test that printing any pattern and parsing it back gives the same tree.

use feeds::stix::pattern::{
    Comparison, Literal, MAX_DEPTH, ObjectPath, Observation, Operator, Qualifier, Step, Test, parse,
};
use proptest::prelude::*;

fn path(object_type: &str, steps: &[&str]) -> ObjectPath {
    ObjectPath {
        object_type: object_type.to_owned(),
        steps: steps
            .iter()
            .map(|s| Step::Property((*s).to_owned()))
            .collect(),
    }
}

fn eq(object_type: &str, steps: &[&str], value: &str) -> Comparison {
    Comparison::Test(Test::Compare {
        path: path(object_type, steps),
        negated: false,
        op: Operator::Eq,
        value: Literal::Str(value.to_owned()),
    })
}

#[test]
fn simple_equality() {
    assert_eq!(
        parse("[ipv4-addr:value = '198.51.100.1']").unwrap(),
        Observation::Comparison(eq("ipv4-addr", &["value"], "198.51.100.1"))
    );
}

/// Patterns from the STIX 2.1 specification, §9.9 and the indicator examples.
#[test]
fn specification_examples_parse() {
    for pattern in [
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
        "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] WITHIN 300 SECONDS",
        "([ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128'] AND [domain-name:value = 'example.com']) WITHIN 600 SECONDS",
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
        "[file:size > 1024 AND file:size <= 2048]",
        "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul']",
        "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
        "[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']",
        "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
        "[process:extensions.'windows-process-ext'.integrity_level = 'high'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
        "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
        "[windows-registry-key:key LIKE 'HKEY_LOCAL_MACHINE\\\\Software\\\\%']",
        "[file:hashes.MD5 IN ('a', 'b')] OR [EXISTS file:name]",
        "[file:created = t'2014-01-13T07:03:17Z' AND file:mime_type != 'text/plain']",
        "[artifact:payload_bin = b'ZXhhbXBsZQ==' OR artifact:payload_bin = h'0bad']",
        "[file:size NOT > 10 AND file:is_encrypted = true]",
        "[process:pid = -1 OR process:pid = +1 OR x-custom-obj:score = .5 OR x-custom-obj:score = -2.25]",
    ] {
        if let Err(err) = parse(pattern) {
            panic!("{pattern}\n{err}");
        }
    }
}

#[test]
fn precedence_is_followedby_then_or_then_and() {
    let parsed =
        parse("[a:x = '1'] OR [b:x = '2'] AND [c:x = '3'] FOLLOWEDBY [d:x = '4']").unwrap();
    let Observation::FollowedBy(items) = &parsed else {
        panic!("{parsed:?}");
    };
    assert_eq!(items.len(), 2);
    let Observation::Or(ors) = &items[0] else {
        panic!("{parsed:?}");
    };
    assert!(matches!(ors[1], Observation::And(_)));
    let inside = parse("[a:x = '1' OR b:x = '2' AND c:x = '3']").unwrap();
    let Observation::Comparison(Comparison::Or(parts)) = inside else {
        panic!("{inside:?}");
    };
    assert!(matches!(parts[1], Comparison::And(_)));
}

#[test]
fn qualifiers_stack_in_order() {
    let parsed = parse("[a:x = '1'] REPEATS 2 TIMES WITHIN 10.5 SECONDS").unwrap();
    let Observation::Qualified(inner, Qualifier::Within(seconds)) = parsed else {
        panic!("{parsed:?}");
    };
    assert_eq!(seconds, "10.5");
    assert!(matches!(
        *inner,
        Observation::Qualified(_, Qualifier::Repeats(2))
    ));
}

#[test]
fn strings_unescape_quotes_and_backslashes_only() {
    let parsed = parse(r"[file:name = 'it\'s a \\ path']").unwrap();
    assert_eq!(
        parsed,
        Observation::Comparison(eq("file", &["name"], r"it's a \ path"))
    );
    assert!(parse(r"[file:name = 'bad \n escape']").is_err());
}

#[test]
fn errors_point_at_the_problem() {
    let cases = [
        ("[ipv4-addr:value = '1.2.3.4'", 28),
        ("[ipv4-addr:value = 1.2.3.4]", 22),
        ("[ipv4-addr:value == '1']", 18),
        ("ipv4-addr:value = '1'", 0),
        ("[ipv4-addr:value = 'x'] AND", 23),
        ("[file:size IN 5]", 14),
        ("[file:name LIKE 5]", 16),
        ("[a:b = 'x'] WITHIN x SECONDS", 19),
        (
            "[a:b = 'x'] START t'2016-13-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            20,
        ),
        ("[a:b = 99999999999999999999]", 7),
        ("[a:b = h'abc']", 7),
        ("[a:b > true]", 7),
        ("", 0),
    ];
    for (pattern, offset) in cases {
        let err = parse(pattern).unwrap_err();
        assert!(
            err.offset.abs_diff(offset) <= 2,
            "{pattern:?}: expected an error near {offset}, got {err}"
        );
        assert!(
            err.to_string()
                .starts_with("invalid STIX pattern at character"),
            "{err}"
        );
    }
}

#[test]
fn printing_adds_only_the_parentheses_the_tree_needs() {
    for text in [
        "[a:x = '1'] OR [b:x = '2'] AND [c:x = '3']",
        "([a:x = '1'] OR [b:x = '2']) AND [c:x = '3']",
        "[a:x = '1' OR b:x = '2' AND c:x = '3']",
        "[(a:x = '1' OR b:x = '2') AND c:x = '3']",
        "[a:x = '1'] FOLLOWEDBY [b:x = '2'] OR [c:x = '3']",
        "[a:x = '1'] OR ([b:x = '2'] OR [c:x = '3'])",
        "([a:x = '1'] AND [b:x = '2']) WITHIN 5 SECONDS",
        "[file:hashes.'SHA-256' = 'it\\'s' AND file:x[*].y[-1] IN ('a', 1, true)]",
    ] {
        assert_eq!(parse(text).unwrap().to_string(), text);
    }
}

#[test]
fn keywords_need_word_boundaries() {
    assert!(parse("[a:b = 'x'] ORDER [a:b = 'y']").is_err());
    assert!(parse("[a:b = 'x']OR[a:b = 'y']").is_ok());
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let deep = format!("{}[a:b = 'x']{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = parse(&deep).unwrap_err();
    assert!(err.message.contains("nested deeper"), "{err}");
    let ok = format!(
        "{}[a:b = 'x']{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert!(parse(&ok).is_ok());
    let brackets_in_strings = format!("[a:b = '{}']", "(".repeat(1000));
    assert!(parse(&brackets_in_strings).is_ok());
}

// --- round trip ---------------------------------------------------------------------------

fn identifier() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}"
}

fn object_type() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}"
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => identifier().prop_map(Step::Property),
        1 => "[A-Za-z0-9 '\\\\.-]{1,10}".prop_map(Step::Property),
        1 => any::<i32>().prop_map(|n| Step::Index(i64::from(n))),
        1 => Just(Step::AnyIndex),
    ]
}

fn object_path() -> impl Strategy<Value = ObjectPath> {
    (
        object_type(),
        prop_oneof![identifier(), "[A-Za-z0-9 '\\\\-]{1,10}"],
        prop::collection::vec(step(), 0..3),
    )
        .prop_map(|(object_type, first, rest)| {
            let mut steps = vec![Step::Property(first)];
            steps.extend(rest);
            ObjectPath { object_type, steps }
        })
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        1970u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        prop::option::of(0u32..1000),
    )
        .prop_map(|(y, mo, d, h, mi, s, ms)| match ms {
            Some(ms) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"),
            None => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        })
}

fn scalar() -> impl Strategy<Value = Literal> {
    prop_oneof![
        4 => any::<String>().prop_map(Literal::Str),
        1 => any::<i64>().prop_map(Literal::Int),
        1 => ("-?[0-9]{0,3}\\.[0-9]{1,3}").prop_map(Literal::Float),
        1 => any::<bool>().prop_map(Literal::Bool),
        1 => "[A-Za-z0-9+/]{0,8}={0,2}".prop_map(Literal::Binary),
        1 => "([0-9a-f]{2}){0,4}".prop_map(Literal::Hex),
        1 => timestamp().prop_map(Literal::Timestamp),
    ]
}

fn test_strategy() -> impl Strategy<Value = Test> {
    let operators = prop_oneof![
        Just(Operator::Eq),
        Just(Operator::Ne),
        Just(Operator::Gt),
        Just(Operator::Lt),
        Just(Operator::Ge),
        Just(Operator::Le),
        Just(Operator::In),
        Just(Operator::Like),
        Just(Operator::Matches),
        Just(Operator::IsSubset),
        Just(Operator::IsSuperset),
    ];
    prop_oneof![
        8 => (object_path(), any::<bool>(), operators, scalar(), prop::collection::vec(scalar(), 0..3), any::<String>())
            .prop_map(|(path, negated, op, value, set, text)| {
                let value = match op {
                    Operator::In => Literal::Set(set),
                    Operator::Like | Operator::Matches | Operator::IsSubset | Operator::IsSuperset => Literal::Str(text),
                    Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le if matches!(value, Literal::Bool(_)) => Literal::Int(1),
                    _ => value,
                };
                Test::Compare { path, negated, op, value }
            }),
        1 => object_path().prop_map(Test::Exists),
    ]
}

fn comparison() -> impl Strategy<Value = Comparison> {
    test_strategy()
        .prop_map(Comparison::Test)
        .prop_recursive(4, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Comparison::And),
                prop::collection::vec(inner, 2..4).prop_map(Comparison::Or),
            ]
        })
}

fn qualifier() -> impl Strategy<Value = Qualifier> {
    prop_oneof![
        "[0-9]{1,4}(\\.[0-9]{1,2})?".prop_map(Qualifier::Within),
        any::<u32>().prop_map(|n| Qualifier::Repeats(u64::from(n))),
        (timestamp(), timestamp()).prop_map(|(a, b)| Qualifier::StartStop(a, b)),
    ]
}

fn observation() -> impl Strategy<Value = Observation> {
    comparison()
        .prop_map(Observation::Comparison)
        .prop_recursive(4, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Observation::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Observation::Or),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Observation::FollowedBy),
                (inner, qualifier()).prop_map(|(o, q)| Observation::Qualified(Box::new(o), q)),
            ]
        })
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_pattern(pattern in observation()) {
        let text = pattern.to_string();
        let parsed = parse(&text).map_err(|err| TestCaseError::fail(format!("{text}\n{err}")))?;
        prop_assert_eq!(parsed, pattern, "{}", text);
    }

    #[test]
    fn parsing_never_panics(text in ".{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn parsing_pattern_shaped_noise_never_panics(text in "[\\[\\]()' a-z:=.,0-9ANDORFLWIEPSTX*-]{0,120}") {
        let _ = parse(&text);
    }
}
