//! Properties over random allowlists: nothing inside an allowlisted network is ever allowed, and
//! public addresses outside every allowlisted network are; an IPv6 form of an IPv4 address
//! (6to4, NAT64, Teredo, mapped) never passes where the IPv4 address is stopped; a URL is
//! judged by the host the WHATWG URL parser (the `url` crate, as browsers) finds in it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use guard::{Guard, GuardConfig, Verdict};
use indicator::{Indicator, scope};
use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

fn indicator_for(net: IpNet) -> Indicator {
    let text = if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    };
    indicator::parse(&text).unwrap().remove(0)
}

fn nets() -> impl Strategy<Value = Vec<Ipv4Net>> {
    prop::collection::vec((any::<u32>(), 8u8..=32), 1..20).prop_map(|v| {
        v.into_iter()
            .map(|(addr, prefix)| Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap().trunc())
            .collect()
    })
}

fn guard_for(allowed: &[Ipv4Net]) -> Guard {
    Guard::new(&GuardConfig {
        allow_cidrs: allowed.iter().map(|n| n.to_string()).collect(),
        max_prefix_v4: 0,
        ..GuardConfig::default()
    })
    .unwrap()
}

proptest! {
    #[test]
    fn nothing_inside_an_allowlisted_network_is_allowed(
        allowed in nets(),
        pick in any::<prop::sample::Index>(),
        offset in any::<u32>(),
        extra in 0u8..=32,
    ) {
        let guard = guard_for(&allowed);
        let block = allowed[pick.index(allowed.len())];
        let size = 1u64 << (32 - block.prefix_len());
        let addr = Ipv4Addr::from(u32::from(block.network()) + (u64::from(offset) % size) as u32);
        let verdict = guard.check(&indicator_for(IpNet::from(std::net::IpAddr::V4(addr))));
        prop_assert!(!verdict.is_allow(), "{addr} inside {block} was allowed");
        // A narrower network inside the block, and a wider one holding it, are stopped too.
        let inner = Ipv4Net::new(addr, block.prefix_len().max(extra)).unwrap().trunc();
        prop_assert!(!guard.check(&indicator_for(IpNet::from(inner))).is_allow(), "{inner}");
        let outer = Ipv4Net::new(addr, block.prefix_len().min(extra)).unwrap().trunc();
        prop_assert!(!guard.check(&indicator_for(IpNet::from(outer))).is_allow(), "{outer}");
    }

    #[test]
    fn public_addresses_outside_every_allowlisted_network_are_allowed(
        allowed in nets(),
        addr in any::<u32>(),
    ) {
        let addr = Ipv4Addr::from(addr);
        let net = IpNet::from(std::net::IpAddr::V4(addr));
        prop_assume!(scope::classify(&net).is_public());
        prop_assume!(!allowed.iter().any(|b| b.contains(&addr)));
        let verdict = guard_for(&allowed).check(&indicator_for(net));
        prop_assert_eq!(verdict, Verdict::Allow);
    }
}

/// The IPv6 forms that lead to `addr`: 6to4 (an address and its /48), NAT64, Teredo (as the
/// client, inverted, and as the server) and IPv4-mapped.
fn ipv6_forms(addr: Ipv4Addr) -> Vec<String> {
    let bits = u128::from(u32::from(addr));
    let six_to_four = Ipv6Addr::from(0x2002 << 112 | bits << 80 | 1);
    [
        six_to_four.to_string(),
        format!("{}/48", Ipv6Addr::from(0x2002 << 112 | bits << 80)),
        Ipv6Addr::from(0x64_ff9b << 96 | bits).to_string(),
        Ipv6Addr::from(0x2001 << 112 | (bits ^ 0xffff_ffff)).to_string(),
        Ipv6Addr::from(0x2001 << 112 | bits << 64 | 0x8000_0000_0000_0001).to_string(),
        addr.to_ipv6_mapped().to_string(),
    ]
    .into()
}

proptest! {
    #[test]
    fn ipv6_forms_never_pass_where_their_ipv4_is_stopped(
        allowed in nets(),
        addr in any::<u32>(),
        inside in any::<bool>(),
        pick in any::<prop::sample::Index>(),
    ) {
        // Half the time an address inside an allowlisted block, so both causes are met.
        let addr = if inside {
            let block = allowed[pick.index(allowed.len())];
            let size = 1u64 << (32 - block.prefix_len());
            Ipv4Addr::from(u32::from(block.network()) + (u64::from(addr) % size) as u32)
        } else {
            Ipv4Addr::from(addr)
        };
        let guard = guard_for(&allowed);
        let v4 = guard.check(&indicator_for(IpNet::from(IpAddr::V4(addr))));
        let stopped_by_scope_or_allowlist = matches!(
            &v4,
            Verdict::Stop { rule, .. } if rule == "builtin:special-range" || rule.starts_with("allowlist:")
        );
        prop_assume!(stopped_by_scope_or_allowlist);
        for form in ipv6_forms(addr) {
            let parsed = indicator::parse(&form).unwrap().remove(0);
            let verdict = guard.check(&parsed);
            prop_assert!(!verdict.is_allow(), "{form} passed, but {addr} is stopped: {v4:?}");
        }
    }
}

fn simple_domain() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9]{0,6}",
        prop::sample::select(vec!["com", "net", "org"]),
    )
        .prop_map(|(name, tld)| format!("{name}.{tld}"))
}

/// Two domains in one URL, with something between them that may or may not end the host.
fn two_host_url() -> impl Strategy<Value = (String, String, String)> {
    (
        prop::sample::select(vec!["http", "https", "ws", "wss", "ftp", "HTTPS"]),
        simple_domain(),
        prop::sample::select(vec![
            "\\@", "@", "\\", "/", "?", ":81@", "\\x@", "/@", "%40",
        ]),
        simple_domain(),
        "[a-z/\\\\@.]{0,8}",
    )
        .prop_map(|(scheme, first, between, second, tail)| {
            (
                format!("{scheme}://{first}{between}{second}/{tail}"),
                first,
                second,
            )
        })
}

proptest! {
    /// The host the guard judges is the one `url::Url::parse` finds: allowlisting that domain
    /// stops the URL, allowlisting the other domain in it does not.
    #[test]
    fn the_guard_judges_the_host_the_whatwg_parser_finds((url, first, second) in two_host_url()) {
        let Ok(found) = indicator::parse(&url) else {
            return Ok(());
        };
        prop_assume!(found[0].kind == indicator::Kind::Url);
        let Some(host) = url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_owned)) else {
            return Ok(());
        };
        let on = |domain: &str| {
            Guard::new(&GuardConfig {
                allow_domains: vec![domain.to_owned()],
                ..GuardConfig::default()
            })
            .unwrap()
            .check(&found[0])
        };
        let expected = format!("allowlist:domain:{host}");
        prop_assert!(
            matches!(on(&host), Verdict::Stop { ref rule, .. } if *rule == expected),
            "{url}: host {host} allowlisted, got {:?}", on(&host)
        );
        let other = if host == first { &second } else { &first };
        if *other != host {
            prop_assert_eq!(on(other), Verdict::Allow, "{} judged by {}, not {}", url, other, host);
        }
    }
}
