//! The grammar of one IP list item, as the manager accepts it:
//!
//! ```text
//! item    := entry [ "#" comment ]
//! entry   := address                        single IPv4 or IPv6 address
//!          | address "/" prefix             CIDR (0–32 or 0–128)
//!          | ipv4 "/" dotted-mask           contiguous IPv4 mask, e.g. 255.240.0.0
//!          | address "-" address            range, same family, low ≤ high (spaces allowed)
//! ```

use std::net::{IpAddr, Ipv4Addr};

/// Checks one item; the error says what is wrong with it.
pub fn check_item(item: &str) -> Result<(), String> {
    let entry = item
        .split_once('#')
        .map_or(item, |(entry, _comment)| entry)
        .trim();
    if entry.is_empty() {
        return Err("no address".to_owned());
    }
    if let Some((low, high)) = entry.split_once('-') {
        return check_range(low.trim(), high.trim());
    }
    if let Some((address, mask)) = entry.split_once('/') {
        return check_masked(address.trim(), mask.trim());
    }
    parse_address(entry).map(|_| ())
}

fn parse_address(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("'{text}' is not an IPv4 or IPv6 address"))
}

fn check_range(low: &str, high: &str) -> Result<(), String> {
    match (parse_address(low)?, parse_address(high)?) {
        (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => Ok(()),
        (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => Ok(()),
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Err("the range starts after it ends".to_owned())
        }
        _ => Err("a range cannot mix IPv4 and IPv6".to_owned()),
    }
}

fn check_masked(address: &str, mask: &str) -> Result<(), String> {
    let address = parse_address(address)?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if let Ok(prefix) = mask.parse::<u8>() {
        return if prefix <= max {
            Ok(())
        } else {
            Err(format!("prefix length {prefix} is larger than {max}"))
        };
    }
    match (address, mask.parse::<Ipv4Addr>()) {
        (IpAddr::V4(_), Ok(mask)) => {
            let bits = u32::from(mask);
            // A netmask is ones then zeros: inverting gives 2^n - 1.
            if (!bits).wrapping_add(1) & !bits == 0 {
                Ok(())
            } else {
                Err(format!("'{mask}' is not a contiguous netmask"))
            }
        }
        _ => Err(format!("'{mask}' is neither a prefix length nor a netmask")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_forms() {
        for ok in [
            "192.168.0.1",
            "10.0.0.0/8",
            "172.16.0.0/255.240.0.0",
            "192.168.0.2 - 192.168.0.125",
            "192.168.0.2-192.168.0.125",
            "2001:db8::/32",
            "FF01::101 - FF01::102",
            "2001:0DB8::CD30:0:0:0:0/60",
            "255.255.255.255 #Broadcast",
            "  10.1.2.3  # spaced ",
            "0.0.0.0/0",
        ] {
            assert_eq!(check_item(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        for (bad, reason) in [
            ("", "no address"),
            ("# only a comment", "no address"),
            ("10.0.0.0/33", "larger than 32"),
            ("2001:db8::/129", "larger than 128"),
            ("10.0.0.0/255.0.255.0", "contiguous"),
            ("2001:db8::/255.255.0.0", "neither"),
            ("10.0.0.9 - 10.0.0.1", "starts after"),
            ("10.0.0.1 - ::1", "mix"),
            ("example.com", "not an IPv4"),
            ("1.2.3.4.5", "not an IPv4"),
            ("10.0.0.*", "not an IPv4"),
        ] {
            let err = check_item(bad).unwrap_err();
            assert!(err.contains(reason), "{bad}: {err}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(item in "\\PC{0,48}") {
            let _ = check_item(&item);
        }

        #[test]
        fn every_v4_cidr_is_accepted(a: u32, prefix in 0u8..=32) {
            let item = format!("{}/{prefix}", Ipv4Addr::from(a));
            prop_assert_eq!(check_item(&item), Ok(()));
        }
    }
}
