//! `aggregate` and `subtract` never panic and are exact: checked against a brute-force
//! membership test on sample addresses (every network boundary and its neighbours).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indicator::aggregate::{aggregate, subtract};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use libfuzzer_sys::fuzz_target;

/// Networks decoded from 6-byte (IPv4) or 18-byte (IPv6) chunks: a tag byte, address, prefix.
fn nets(data: &[u8]) -> Vec<IpNet> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&tag, tail)) = rest.split_first() {
        if tag & 1 == 0 {
            let Some((chunk, tail)) = tail.split_first_chunk::<5>() else {
                break;
            };
            let addr = Ipv4Addr::from([chunk[0], chunk[1], chunk[2], chunk[3]]);
            out.push(IpNet::V4(
                Ipv4Net::new(addr, chunk[4] % 33).unwrap().trunc(),
            ));
            rest = tail;
        } else {
            let Some((chunk, tail)) = tail.split_first_chunk::<17>() else {
                break;
            };
            let addr = Ipv6Addr::from(<[u8; 16]>::try_from(&chunk[..16]).unwrap());
            out.push(IpNet::V6(
                Ipv6Net::new(addr, chunk[16] % 129).unwrap().trunc(),
            ));
            rest = tail;
        }
    }
    out
}

/// Addresses at and next to every network boundary: where an inexact cover would show.
fn probes(nets: &[IpNet]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for net in nets {
        for addr in [net.network(), net.broadcast()] {
            out.push(addr);
            match addr {
                IpAddr::V4(a) => {
                    out.push(IpAddr::V4(Ipv4Addr::from(u32::from(a).wrapping_add(1))));
                    out.push(IpAddr::V4(Ipv4Addr::from(u32::from(a).wrapping_sub(1))));
                }
                IpAddr::V6(a) => {
                    out.push(IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(1))));
                    out.push(IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_sub(1))));
                }
            }
        }
    }
    out
}

fn covered(nets: &[IpNet], addr: &IpAddr) -> bool {
    nets.iter().any(|n| n.contains(addr))
}

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let keep = nets(data.get(1..split.max(1)).unwrap_or_default());
    let remove = nets(&data[split..]);
    let merged = aggregate(keep.clone());
    let left = subtract(&keep, &remove);
    let all: Vec<IpNet> = keep
        .iter()
        .chain(&remove)
        .chain(&merged)
        .chain(&left)
        .copied()
        .collect();
    for addr in probes(&all) {
        assert_eq!(
            covered(&merged, &addr),
            covered(&keep, &addr),
            "aggregate differs at {addr}"
        );
        let expected = covered(&keep, &addr) && !covered(&remove, &addr);
        assert_eq!(
            covered(&left, &addr),
            expected,
            "subtract differs at {addr}"
        );
    }
    assert_eq!(aggregate(merged.clone()), merged);
    assert_eq!(aggregate(left.clone()), left);
});
