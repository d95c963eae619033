//! Every built-in and allowlist rule, by containment, subdomain and exact match.

use guard::{Guard, GuardConfig, GuardError, ListKind, Verdict};
use indicator::Indicator;

fn ind(value: &str) -> Indicator {
    let mut parsed = indicator::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
    assert_eq!(parsed.len(), 1, "{value}");
    parsed.remove(0)
}

/// The rule that stops `value`, or "allow".
fn verdict(guard: &Guard, value: &str) -> String {
    match guard.check(&ind(value)) {
        Verdict::Allow => "allow".to_owned(),
        Verdict::Stop { rule, .. } => rule,
    }
}

fn reason(guard: &Guard, value: &str) -> String {
    match guard.check(&ind(value)) {
        Verdict::Allow => panic!("{value} was allowed"),
        Verdict::Stop { reason, .. } => reason,
    }
}

fn allowlist(cidrs: &[&str], domains: &[&str]) -> Guard {
    Guard::new(&GuardConfig {
        allow_cidrs: cidrs.iter().map(|s| (*s).to_owned()).collect(),
        allow_domains: domains.iter().map(|s| (*s).to_owned()).collect(),
        ..GuardConfig::default()
    })
    .unwrap()
}

#[test]
fn special_ranges_never_reach_a_blocklist() {
    let guard = Guard::default();
    for value in [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "100.64.1.1",
        "169.254.1.1",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "::1",
        "fe80::1",
        "fd00::1",
        "2001:db8::1",
        "10.0.0.0/8",
        "192.168.0.0/24",
    ] {
        assert_eq!(verdict(&guard, value), "builtin:special-range", "{value}");
    }
    assert!(
        reason(&guard, "10.1.2.3").contains("RFC 1918"),
        "{}",
        reason(&guard, "10.1.2.3")
    );
    // URLs and e-mail addresses on such addresses too.
    assert_eq!(
        verdict(&guard, "http://192.168.0.10/admin"),
        "builtin:special-range"
    );
    assert_eq!(verdict(&guard, "8.8.8.8"), "allow");
    assert_eq!(verdict(&guard, "http://8.8.8.8/x"), "allow");
}

#[test]
fn networks_holding_special_space_are_refused_whatever_their_size() {
    let guard = Guard::default();
    for value in [
        "0.0.0.0/1",
        "128.0.0.0/1",
        "0.0.0.0/0",
        "::/0",
        "8000::/1",
        "::/1",
    ] {
        assert_eq!(verdict(&guard, value), "builtin:special-range", "{value}");
    }
    let why = reason(&guard, "0.0.0.0/1");
    assert!(why.contains("0.0.0.0/1 holds"), "{why}");
    // Even a blocklist with no breadth limit refuses them.
    let unlimited = Guard::new(&GuardConfig {
        max_prefix_v4: 0,
        max_prefix_v6: 0,
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(verdict(&unlimited, "0.0.0.0/1"), "builtin:special-range");
    assert_eq!(verdict(&unlimited, "4.0.0.0/6"), "allow");
}

#[test]
fn broad_networks_are_refused_by_prefix() {
    let guard = Guard::default();
    assert_eq!(verdict(&guard, "8.8.0.0/16"), "allow");
    assert_eq!(verdict(&guard, "8.8.0.0/15"), "builtin:broad-cidr");
    assert!(reason(&guard, "8.8.0.0/15").contains("max_prefix_v4"));
    // IPv6: a /48 (one site) at most by default; a /32 is a whole provider.
    assert_eq!(verdict(&guard, "2a00:1450:4001::/48"), "allow");
    assert_eq!(verdict(&guard, "2a00:1450:4000::/47"), "builtin:broad-cidr");
    assert_eq!(verdict(&guard, "2a00:1450::/32"), "builtin:broad-cidr");
    assert!(reason(&guard, "2a00:1450::/32").contains("/48"));
    let strict = Guard::new(&GuardConfig {
        max_prefix_v4: 24,
        max_prefix_v6: 56,
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(verdict(&strict, "8.8.0.0/16"), "builtin:broad-cidr");
    assert_eq!(verdict(&strict, "8.8.8.0/24"), "allow");
    assert_eq!(
        verdict(&strict, "2a00:1450:4001::/48"),
        "builtin:broad-cidr"
    );
    assert_eq!(verdict(&strict, "2a00:1450:4001::/56"), "allow");
    let loose = Guard::new(&GuardConfig {
        max_prefix_v6: 32,
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(verdict(&loose, "2a00:1450::/32"), "allow");
}

#[test]
fn exception_lists_only_refuse_broad_networks() {
    let guard = Guard::new(&GuardConfig {
        list: ListKind::ExceptionList,
        allow_domains: vec!["corp.example".into()],
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(verdict(&guard, "10.1.2.3"), "allow");
    assert_eq!(verdict(&guard, "www.corp.example"), "allow");
    assert_eq!(verdict(&guard, "0.0.0.0/1"), "builtin:broad-cidr");
    assert_eq!(verdict(&guard, "::/0"), "builtin:broad-cidr");
    assert_eq!(guard.list_kind(), ListKind::ExceptionList);
}

#[test]
fn public_suffixes_are_refused() {
    let guard = Guard::default();
    assert_eq!(verdict(&guard, "co.uk"), "builtin:public-suffix");
    assert_eq!(verdict(&guard, "evil.co.uk"), "allow");
}

#[test]
fn allowlisted_cidrs_stop_everything_inside_and_wider_networks_over_them() {
    let guard = allowlist(&["8.8.8.0/24", "1.1.1.1", "2606:4700::/32"], &[]);
    assert_eq!(verdict(&guard, "8.8.8.8"), "allowlist:cidr:8.8.8.0/24");
    assert_eq!(verdict(&guard, "8.8.8.128/25"), "allowlist:cidr:8.8.8.0/24");
    assert_eq!(verdict(&guard, "8.8.8.0/24"), "allowlist:cidr:8.8.8.0/24");
    assert_eq!(verdict(&guard, "1.1.1.1"), "allowlist:cidr:1.1.1.1");
    assert_eq!(
        verdict(&guard, "2606:4700:10::1"),
        "allowlist:cidr:2606:4700::/32"
    );
    assert_eq!(
        verdict(&guard, "http://8.8.8.8/dns"),
        "allowlist:cidr:8.8.8.0/24"
    );
    // A wider network that holds an allowlisted block is refused whole.
    assert_eq!(verdict(&guard, "8.8.0.0/16"), "allowlist:cidr:8.8.8.0/24");
    assert!(reason(&guard, "8.8.0.0/16").contains("covers 8.8.8.0/24"));
    assert_eq!(verdict(&guard, "1.1.0.0/16"), "allowlist:cidr:1.1.1.1");
    // Neighbours are not touched.
    for value in [
        "8.8.9.1",
        "8.8.7.255",
        "8.8.9.0/24",
        "1.1.1.2",
        "2606:4701::1",
    ] {
        assert_eq!(verdict(&guard, value), "allow", "{value}");
    }
}

#[test]
fn nested_allowlist_blocks_name_the_innermost() {
    let guard = allowlist(&["9.0.0.0/8", "9.9.9.0/24", "9.9.0.0/16"], &[]);
    assert_eq!(verdict(&guard, "9.9.9.9"), "allowlist:cidr:9.9.9.0/24");
    assert_eq!(verdict(&guard, "9.9.8.1"), "allowlist:cidr:9.9.0.0/16");
    assert_eq!(verdict(&guard, "9.200.0.1"), "allowlist:cidr:9.0.0.0/8");
}

#[test]
fn allowlisted_domains_cover_subdomains_urls_and_mail() {
    let guard = allowlist(&[], &["Example.COM.", "*.corp.test.org"]);
    for value in [
        "example.com",
        "www.example.com",
        "a.b.example.com",
        "https://www.example.com/x?y=1",
        "ceo@mail.example.com",
        "ops@example.com",
    ] {
        assert_eq!(
            verdict(&guard, value),
            "allowlist:domain:example.com",
            "{value}"
        );
    }
    assert_eq!(
        verdict(&guard, "vpn.corp.test.org"),
        "allowlist:domain:corp.test.org"
    );
    assert!(reason(&guard, "a.b.example.com").contains("subdomain of example.com"));
    for value in [
        "notexample.com",
        "example.co",
        "example.com.evil.net",
        "https://evil.net/?u=example.com",
        "x@example.net",
    ] {
        assert_eq!(verdict(&guard, value), "allow", "{value}");
    }
}

#[test]
fn allowlisted_urls_and_hashes_match_exactly() {
    let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let guard = Guard::new(&GuardConfig {
        allow_urls: vec!["hxxps://downloads.vendor[.]com/agent.msi".into()],
        allow_hashes: vec![
            sha.to_uppercase(),
            "d41d8cd98f00b204e9800998ecf8427e".into(),
        ],
        ..GuardConfig::default()
    })
    .unwrap();
    let url = ind("https://downloads.vendor.com/agent.msi");
    assert!(
        matches!(guard.check(&url), Verdict::Stop { rule, .. } if rule == format!("allowlist:url:{}", url.value))
    );
    assert_eq!(
        verdict(&guard, "https://downloads.vendor.com/other.msi"),
        "allow"
    );
    assert_eq!(verdict(&guard, sha), format!("allowlist:hash:{sha}"));
    assert_eq!(
        verdict(&guard, "d41d8cd98f00b204e9800998ecf8427e"),
        "allowlist:hash:d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(verdict(&guard, &"0".repeat(64)), "allow");
}

#[test]
fn bad_settings_name_the_key_and_entry() {
    let err = |config: GuardConfig| Guard::new(&config).unwrap_err().to_string();
    let msg = err(GuardConfig {
        allow_cidrs: vec!["8.8.8.0/24".into(), "example.com".into()],
        ..GuardConfig::default()
    });
    assert!(msg.starts_with("allow_cidrs[1] `example.com`"), "{msg}");
    let msg = err(GuardConfig {
        allow_domains: vec!["not a domain".into()],
        ..GuardConfig::default()
    });
    assert!(msg.starts_with("allow_domains[0] `not a domain`"), "{msg}");
    let msg = err(GuardConfig {
        allow_hashes: vec!["8.8.8.8".into()],
        ..GuardConfig::default()
    });
    assert!(
        msg.contains("allow_hashes[0]") && msg.contains("ipv4"),
        "{msg}"
    );
    let e = Guard::new(&GuardConfig {
        max_prefix_v4: 33,
        ..GuardConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            e,
            GuardError::BadSetting {
                key: "max_prefix_v4",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn config_reads_from_toml_and_rejects_unknown_keys() {
    let config: GuardConfig = toml::from_str(
        r#"
        list = "exception-list"
        allow_cidrs = ["10.0.0.0/8"]
        max_prefix_v4 = 20
        "#,
    )
    .unwrap();
    assert_eq!(config.list, ListKind::ExceptionList);
    assert_eq!(config.max_prefix_v4, 20);
    assert_eq!(config.max_prefix_v6, guard::DEFAULT_MAX_PREFIX_V6);
    let err = toml::from_str::<GuardConfig>("allow_cidr = []").unwrap_err();
    assert!(err.to_string().contains("allow_cidr"), "{err}");
}

#[test]
fn guards_can_be_shared_between_threads() {
    fn assert_shareable<T: Send + Sync>() {}
    assert_shareable::<Guard>();
}

#[test]
fn ipv6_that_leads_to_special_ipv4_is_refused_like_the_ipv4() {
    let guard = Guard::default();
    // 6to4 (2002::/16 is public space; 2002:a00:1::/48 is 10.0.0.1's site).
    for value in [
        "2002:a00:1::1",
        "2002:a00:1::/48",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
        "http://[2002:a00:1::1]/admin",
    ] {
        assert_eq!(verdict(&guard, value), "builtin:special-range", "{value}");
    }
    let why = reason(&guard, "2002:a00:1::1");
    assert!(why.contains("leads to 10.0.0.1 by 6to4"), "{why}");
    assert!(why.contains("RFC 1918"), "{why}");
    // A 6to4 network is refused when it covers private space, even with no breadth limit.
    let unlimited = Guard::new(&GuardConfig {
        max_prefix_v6: 0,
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(
        verdict(&unlimited, "2002:a00::/24"),
        "builtin:special-range"
    );
    assert!(reason(&unlimited, "2002:a00::/24").contains("10.0.0.0/8"));
    assert_eq!(verdict(&unlimited, "2002:800::/24"), "allow");
    // NAT64, Teredo (client and server) and IPv4-compatible forms of 10.0.0.1.
    for value in [
        "64:ff9b::a00:1",
        "2001:0:a00:1::1",
        "2001:0:808:808:0:0:f5ff:fffe",
        "::a00:1",
    ] {
        assert_eq!(verdict(&guard, value), "builtin:special-range", "{value}");
    }
    // 6to4 of a public address is a public address.
    assert_eq!(verdict(&guard, "2002:808:404::1"), "allow");
}

#[test]
fn allowlisted_ipv4_is_protected_through_ipv6_forms() {
    let guard = allowlist(&["8.8.8.0/24", "1.1.1.1"], &[]);
    for value in [
        "2002:808:808::1",
        "2002:808:808:1::/64",
        "http://[2002:808:808::1]/",
    ] {
        assert_eq!(
            verdict(&guard, value),
            "allowlist:cidr:8.8.8.0/24",
            "{value}"
        );
    }
    let why = reason(&guard, "2002:808:808::1");
    assert!(
        why.contains("2002:808:808::1 (which leads to 8.8.8.8 by 6to4) is inside 8.8.8.0/24"),
        "{why}"
    );
    assert_eq!(verdict(&guard, "2002:101:101::1"), "allowlist:cidr:1.1.1.1");
    // A 6to4 network whose IPv4 part holds an allowlisted address is refused whole.
    let unlimited = Guard::new(&GuardConfig {
        allow_cidrs: vec!["1.1.1.1".into()],
        max_prefix_v6: 0,
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(
        verdict(&unlimited, "2002:100::/24"),
        "allowlist:cidr:1.1.1.1"
    );
    // NAT64 and Teredo forms of an allowlisted address never reach a blocklist either.
    for value in ["64:ff9b::808:808", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"] {
        assert_ne!(verdict(&guard, value), "allow", "{value}");
    }
    assert_eq!(verdict(&guard, "2002:808:908::1"), "allow");
}

#[test]
fn url_hosts_are_the_hosts_a_browser_connects_to() {
    let corp = allowlist(&[], &["corp.example"]);
    // A backslash ends the host in http(s): this URL is on evil.com, not corp.example.
    assert_eq!(
        verdict(&corp, "https://evil.com\\@corp.example/login"),
        "allow"
    );
    assert_eq!(
        verdict(&corp, "https://corp.example\\@evil.com/"),
        "allowlist:domain:corp.example"
    );
    assert_eq!(
        verdict(&corp, "corp.example\\evil.com/x"),
        "allowlist:domain:corp.example"
    );
    // Userinfo is not the host.
    assert_eq!(verdict(&corp, "https://corp.example@evil.com/"), "allow");
    let evil = allowlist(&[], &["evil.com"]);
    assert_eq!(
        verdict(&evil, "https://evil.com\\@corp.example/login"),
        "allowlist:domain:evil.com"
    );
    assert_eq!(
        verdict(&evil, "https://corp.example@evil.com/"),
        "allowlist:domain:evil.com"
    );
    assert!(reason(&evil, "https://evil.com\\@corp.example/login").contains("evil.com is on"));
    // Address hosts: the special-range and address rules see the real host too.
    let guard = allowlist(&["8.8.8.8"], &[]);
    assert_eq!(
        verdict(&guard, "http://10.0.0.1\\@8.8.4.4/"),
        "builtin:special-range"
    );
    assert_eq!(
        verdict(&guard, "http://8.8.8.8\\@10.0.0.1/"),
        "allowlist:cidr:8.8.8.8"
    );
    assert_eq!(verdict(&guard, "http://8.8.4.4\\@8.8.8.8/"), "allow");
}
