//! Property tests: canonical values parse back to themselves, a URL's value leads to the host a
//! browser reads in its input, aggregation covers exactly its input with no mergeable pair left,
//! and subtraction removes exactly what it should.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indicator::aggregate::{aggregate, subtract};
use indicator::{Indicator, Kind, parse, refang, url_host};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

/// Parses a canonical value again and checks nothing moves.
fn assert_idempotent(ind: &Indicator) {
    let again = parse(&ind.value).unwrap_or_else(|e| panic!("{} no longer parses: {e}", ind.value));
    assert_eq!(again.len(), 1, "{} gave {again:?}", ind.value);
    assert_eq!((again[0].kind, &again[0].value), (ind.kind, &ind.value));
    assert_eq!(again[0].scope, ind.scope);
    if let Some(display) = &ind.display {
        let from_display = parse(display).unwrap();
        assert_eq!(from_display[0].value, ind.value, "display {display}");
    }
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
        "[A-Za-z0-9_]{1,8}",
        "[a-zäöüßéñ漢字]{1,6}",
        Just("xn--bcher-kva".to_owned()),
    ]
}

fn domain() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 1..4),
        prop::sample::select(vec!["com", "NET", "org", "de", "co.uk", "zzz", "рф", "jp"]),
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

fn candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u32>().prop_map(|ip| Ipv4Addr::from(ip).to_string()),
        any::<u128>().prop_map(|ip| Ipv6Addr::from(ip).to_string()),
        (any::<u32>(), 0u8..=32).prop_map(|(ip, p)| format!("{}/{p}", Ipv4Addr::from(ip))),
        (any::<u128>(), 0u8..=128).prop_map(|(ip, p)| format!("{}/{p}", Ipv6Addr::from(ip))),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| format!(
            "{} - {}",
            Ipv4Addr::from(a.min(b)),
            Ipv4Addr::from(a.max(b))
        )),
        (any::<u128>(), any::<u128>()).prop_map(|(a, b)| format!(
            "{}-{}",
            Ipv6Addr::from(a.min(b)),
            Ipv6Addr::from(a.max(b))
        )),
        domain(),
        (
            prop::sample::select(vec!["http", "HTTPS", "hxxp", "ftp"]),
            domain(),
            "(:[0-9]{1,5})?",
            "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,3}",
            "(\\?[a-z0-9=&%]{0,10})?",
            "(#[a-z]{0,4})?"
        )
            .prop_map(|(s, d, port, path, query, frag)| format!(
                "{s}://{d}{port}{path}{query}{frag}"
            )),
        (domain(), "/[a-z0-9/._-]{0,12}").prop_map(|(d, path)| format!("{d}{path}")),
        tricky_url(),
        ("[A-Za-z0-9.+_-]{1,12}", domain()).prop_map(|(local, d)| format!("{local}@{d}")),
        "[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}",
        "[a-z0-9.:/@\\[\\]()%?#_ -]{1,40}",
        any::<String>(),
    ]
}

/// URLs whose host is easy to misread: backslashes and `@` in the authority, userinfo, ports,
/// upper case, with and without a scheme.
fn tricky_url() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        domain(),
        Just("\\".to_owned()),
        Just("@".to_owned()),
        Just("\\@".to_owned()),
        Just(":8080".to_owned()),
        Just("user:pw@".to_owned()),
        "/[A-Za-z0-9@.]{0,6}",
        "\\?[a-z@=]{0,6}",
    ];
    (
        prop::sample::select(vec![
            "http://", "HTTPS://", "ws://", "ftp://", "sftp://", "",
        ]),
        domain(),
        prop::collection::vec(part, 0..5),
    )
        .prop_map(|(scheme, host, parts)| format!("{scheme}{host}{}", parts.concat()))
}

/// The WHATWG host of `text` (as a browser reads it; without a scheme, as http), normalised as
/// `indicator::url_host` gives hosts: no brackets, no trailing dot.
fn whatwg_host(text: &str) -> Option<String> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let parsed = url::Url::parse(&with_scheme).ok()?;
    Some(match parsed.host()? {
        url::Host::Domain(d) => d.strip_suffix('.').unwrap_or(d).to_owned(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a
            .to_ipv4_mapped()
            .map_or(a.to_string(), |v4| v4.to_string()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A URL indicator's value leads where its input led a browser: the host `url_host` reads
    /// in the value is the WHATWG host of the input (for special schemes, which browsers open).
    #[test]
    fn a_url_value_leads_where_its_input_led(input in tricky_url()) {
        let Ok(found) = parse(&input) else {
            return Ok(());
        };
        let ind = &found[0];
        let special = ["http://", "https://", "ws://", "ftp://"]
            .iter()
            .any(|s| input.to_ascii_lowercase().starts_with(s))
            || !input.contains("://");
        if ind.kind != Kind::Url || !special {
            return Ok(());
        }
        if let Some(expected) = whatwg_host(&input) {
            prop_assert_eq!(url_host(&ind.value).into_owned(), expected, "{} → {}", input, ind.value);
        }
        prop_assert_eq!(whatwg_host(&ind.value), Some(url_host(&ind.value).into_owned()), "{}", ind.value);
    }

    #[test]
    fn canonical_values_parse_to_themselves(input in candidate()) {
        if let Ok(found) = parse(&input) {
            prop_assert!(!found.is_empty());
            for ind in &found {
                assert_idempotent(ind);
            }
        }
    }

    #[test]
    fn refang_is_stable(input in candidate()) {
        let once = refang(&input).into_owned();
        prop_assert_eq!(refang(&once).into_owned(), once);
    }
}

/// Membership of every address of a small universe (`base` + 0..4096) in `nets`.
fn members(nets: &[IpNet], base: IpAddr) -> Vec<bool> {
    (0..4096u32)
        .map(|offset| {
            let addr = match base {
                IpAddr::V4(b) => IpAddr::V4(Ipv4Addr::from(u32::from(b) + offset)),
                IpAddr::V6(b) => IpAddr::V6(Ipv6Addr::from(u128::from(b) + u128::from(offset))),
            };
            nets.iter().any(|n| n.contains(&addr))
        })
        .collect()
}

/// Random networks inside a 4096-address universe of either family.
fn small_nets(v6: bool) -> impl Strategy<Value = Vec<IpNet>> {
    prop::collection::vec((0u32..4096, 0u8..=12), 0..24).prop_map(move |list| {
        list.into_iter()
            .map(|(offset, host_bits)| {
                if v6 {
                    let addr = Ipv6Addr::from(u128::from(BASE6) + u128::from(offset));
                    IpNet::V6(Ipv6Net::new(addr, 128 - host_bits).unwrap().trunc())
                } else {
                    let addr = Ipv4Addr::from(u32::from(BASE4) + offset);
                    IpNet::V4(Ipv4Net::new(addr, 32 - host_bits).unwrap().trunc())
                }
            })
            .collect()
    })
}

const BASE4: Ipv4Addr = Ipv4Addr::new(10, 1, 16, 0);
const BASE6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0);

/// No two networks overlap, and no two are siblings that would merge into their parent.
fn assert_minimal(nets: &[IpNet]) {
    for pair in nets.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(!a.contains(&b) && !b.contains(&a), "{a} and {b} overlap");
        let siblings =
            a.prefix_len() == b.prefix_len() && a.prefix_len() > 0 && a.supernet() == b.supernet();
        assert!(!siblings, "{a} and {b} merge into {:?}", a.supernet());
    }
}

proptest! {
    #[test]
    fn aggregate_is_exact_and_minimal(v4 in small_nets(false), v6 in small_nets(true)) {
        let input: Vec<IpNet> = v4.iter().chain(&v6).copied().collect();
        let out = aggregate(input.clone());
        prop_assert_eq!(members(&out, BASE4.into()), members(&v4, BASE4.into()));
        prop_assert_eq!(members(&out, BASE6.into()), members(&v6, BASE6.into()));
        assert_minimal(&out);
        prop_assert_eq!(aggregate(out.clone()), out.clone());
        // ipnet's own aggregation is an independent oracle for the same minimal cover.
        prop_assert_eq!(out, IpNet::aggregate(&input));
    }

    #[test]
    fn subtract_removes_exactly_and_stays_minimal(keep in small_nets(false), remove in small_nets(false), keep6 in small_nets(true), remove6 in small_nets(true)) {
        let keep_all: Vec<IpNet> = keep.iter().chain(&keep6).copied().collect();
        let remove_all: Vec<IpNet> = remove.iter().chain(&remove6).copied().collect();
        let out = subtract(&keep_all, &remove_all);
        for (base, k, r) in [(IpAddr::from(BASE4), &keep, &remove), (IpAddr::from(BASE6), &keep6, &remove6)] {
            let expected: Vec<bool> = members(k, base).into_iter().zip(members(r, base)).map(|(k, r)| k && !r).collect();
            prop_assert_eq!(members(&out, base), expected);
        }
        assert_minimal(&out);
        prop_assert_eq!(aggregate(out.clone()), out);
    }

    #[test]
    fn aggregate_matches_ipnet_on_wide_random_sets(list in prop::collection::vec((any::<u32>(), 8u8..=32), 0..200)) {
        let nets: Vec<IpNet> = list.into_iter().map(|(a, p)| IpNet::V4(Ipv4Net::new(a.into(), p).unwrap().trunc())).collect();
        prop_assert_eq!(aggregate(nets.clone()), IpNet::aggregate(&nets));
    }
}
