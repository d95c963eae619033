//! Exact CIDR arithmetic: [`aggregate`] collapses any mix of IPv4 and IPv6 networks into the
//! fewest CIDRs that cover exactly the same addresses (never widening), and [`subtract`] takes
//! a set (an allowlist) out of them, again exactly and minimally.
//!
//! Both work on sorted, merged address intervals, one list per family, and turn intervals back
//! into CIDRs greedily (largest aligned block first), which yields the minimal set of blocks
//! for each interval. The same conversion turns an address range `a - b` into CIDRs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An inclusive address interval; IPv4 addresses are held as plain `u32` values in a `u128`.
type Interval = (u128, u128);

/// The fewest CIDRs covering exactly the addresses of `nets` (IPv4 first, then IPv6, each in
/// address order). No two returned CIDRs overlap or could be merged into one.
pub fn aggregate(nets: impl IntoIterator<Item = IpNet>) -> Vec<IpNet> {
    let (v4, v6) = intervals(nets);
    to_nets(&v4, &v6)
}

/// The fewest CIDRs covering exactly the addresses of `nets` that are not in `remove`.
pub fn subtract(nets: &[IpNet], remove: &[IpNet]) -> Vec<IpNet> {
    let (v4, v6) = intervals(nets.iter().copied());
    let (r4, r6) = intervals(remove.iter().copied());
    to_nets(&difference(&v4, &r4), &difference(&v6, &r6))
}

/// Splits networks by family into merged, sorted intervals. IPv4 intervals are packed into one
/// `u64` each (start, then end) while sorting: a quarter of the memory to move.
fn intervals(nets: impl IntoIterator<Item = IpNet>) -> (Vec<Interval>, Vec<Interval>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for net in nets {
        match net {
            IpNet::V4(n) => {
                v4.push(u64::from(n.network().to_bits()) << 32 | u64::from(n.broadcast().to_bits()))
            }
            IpNet::V6(n) => v6.push((n.network().to_bits(), n.broadcast().to_bits())),
        }
    }
    v4.sort_unstable();
    v6.sort_unstable();
    let v4 = v4
        .into_iter()
        .map(|packed| (u128::from(packed >> 32), u128::from(packed & 0xffff_ffff)));
    (merge_sorted(v4), merge_sorted(v6.into_iter()))
}

/// Merges sorted intervals that overlap or touch.
fn merge_sorted(list: impl ExactSizeIterator<Item = Interval>) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::with_capacity(list.len());
    for (start, end) in list {
        match out.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// The parts of the merged intervals `keep` outside the merged intervals `remove`.
fn difference(keep: &[Interval], remove: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::with_capacity(keep.len());
    let mut removals = remove.iter().peekable();
    for &(mut start, end) in keep {
        // Removals wholly before this interval can never matter again (both lists are sorted).
        while removals.next_if(|r| r.1 < start).is_some() {}
        let mut open = true;
        for &(rs, re) in removals.clone() {
            if rs > end {
                break;
            }
            if rs > start {
                out.push((start, rs - 1));
            }
            match re.checked_add(1) {
                Some(next) if next <= end => start = next,
                _ => {
                    open = false;
                    break;
                }
            }
        }
        if open {
            out.push((start, end));
        }
    }
    out
}

/// Converts merged intervals of both families back to CIDRs.
fn to_nets(v4: &[Interval], v6: &[Interval]) -> Vec<IpNet> {
    let mut out = Vec::with_capacity(v4.len() + v6.len());
    for &(start, end) in v4 {
        cover(start, end, 32, |net, prefix| out.push(v4_net(net, prefix)));
    }
    for &(start, end) in v6 {
        cover(start, end, 128, |net, prefix| out.push(v6_net(net, prefix)));
    }
    out
}

/// Calls `emit(network, prefix)` for each block of the minimal CIDR cover of `start..=end`,
/// in address order, for addresses `bits` wide.
pub(crate) fn cover(mut start: u128, end: u128, bits: u8, mut emit: impl FnMut(u128, u8)) {
    loop {
        // The block may be no bigger than start's alignment allows, nor reach past `end`.
        let align = start.trailing_zeros().min(u32::from(bits));
        let span = end - start;
        let fits = match span.checked_add(1) {
            Some(count) => 127 - count.leading_zeros(),
            None => 128,
        };
        let size_log = align.min(fits);
        emit(start, bits - size_log as u8);
        match 1u128
            .checked_shl(size_log)
            .and_then(|size| start.checked_add(size))
        {
            Some(next) if next <= end => start = next,
            _ => return,
        }
    }
}

/// The IPv4 network `bits/prefix` (bits as a `u32` value).
pub(crate) fn v4_net(bits: u128, prefix: u8) -> IpNet {
    let addr = Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX));
    IpNet::V4(Ipv4Net::new(addr, prefix).unwrap_or_default())
}

/// The IPv6 network `bits/prefix`.
pub(crate) fn v6_net(bits: u128, prefix: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(bits), prefix).unwrap_or_default())
}

/// An address as interval bits (`u32` value for IPv4) and its width.
pub(crate) fn addr_bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn strings(list: Vec<IpNet>) -> Vec<String> {
        list.into_iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn merges_adjacent_and_nested_networks_without_widening() {
        let got = aggregate(nets(&[
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.5/32",
            "10.0.1.0/24",
            "10.0.3.0/24",
        ]));
        assert_eq!(strings(got), ["10.0.0.0/23", "10.0.3.0/24"]);
    }

    #[test]
    fn keeps_families_apart_and_ordered() {
        let got = aggregate(nets(&[
            "2001:db8::/33",
            "10.0.0.1/32",
            "2001:db8:8000::/33",
            "10.0.0.0/32",
        ]));
        assert_eq!(strings(got), ["10.0.0.0/31", "2001:db8::/32"]);
    }

    #[test]
    fn handles_the_whole_address_space() {
        assert_eq!(
            strings(aggregate(nets(&["0.0.0.0/1", "128.0.0.0/1"]))),
            ["0.0.0.0/0"]
        );
        assert_eq!(strings(aggregate(nets(&["::/1", "8000::/1"]))), ["::/0"]);
        assert_eq!(
            strings(aggregate(nets(&[
                "255.255.255.255/32",
                "255.255.255.254/32"
            ]))),
            ["255.255.255.254/31"]
        );
    }

    #[test]
    fn subtracts_exactly() {
        let got = subtract(
            &nets(&["10.0.0.0/24"]),
            &nets(&["10.0.0.0/32", "10.0.0.128/26"]),
        );
        assert_eq!(
            strings(got),
            [
                "10.0.0.1/32",
                "10.0.0.2/31",
                "10.0.0.4/30",
                "10.0.0.8/29",
                "10.0.0.16/28",
                "10.0.0.32/27",
                "10.0.0.64/26",
                "10.0.0.192/26"
            ]
        );
        assert!(subtract(&nets(&["10.0.0.0/24"]), &nets(&["10.0.0.0/8"])).is_empty());
        assert_eq!(
            strings(subtract(&nets(&["::/0"]), &nets(&["8000::/1"]))),
            ["::/1"]
        );
        assert_eq!(
            strings(subtract(&nets(&["0.0.0.0/0"]), &nets(&["::/0"]))),
            ["0.0.0.0/0"]
        );
    }

    #[test]
    fn covers_ranges_minimally() {
        let mut got = Vec::new();
        cover(1, 6, 32, |n, p| got.push(v4_net(n, p).to_string()));
        assert_eq!(
            got,
            ["0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/31", "0.0.0.6/32"]
        );
        let mut all = Vec::new();
        cover(0, u128::MAX, 128, |n, p| all.push(v6_net(n, p).to_string()));
        assert_eq!(all, ["::/0"]);
    }
}
