//! What an indicator puts on a Deep Security IP list: the network of an address or a CIDR
//! (of the classes the workflow exports), written as the list writes it.

use indicator::Kind;
use ipnet::IpNet;
use store::IndicatorRecord;

use config::IpListParams;

/// The network an indicator puts on a Deep Security IP list, or why it puts none.
pub fn ip_list(record: &IndicatorRecord, params: &IpListParams) -> Result<IpNet, String> {
    if !params.include.contains(&record.class) {
        return Err(format!(
            "class {} is not exported by this workflow",
            record.class
        ));
    }
    if !record.kind.is_network() {
        return Err(format!(
            "IP lists take addresses and CIDRs, not {}",
            record.kind
        ));
    }
    match record.kind {
        Kind::Cidr => record.value.parse::<IpNet>().map_err(|e| e.to_string()),
        _ => record
            .value
            .parse::<std::net::IpAddr>()
            .map(IpNet::from)
            .map_err(|e| e.to_string()),
    }
}

/// How a network is written on an IP list (a single address without its prefix) and its kind.
pub fn ip_list_item(net: &IpNet) -> (Kind, String) {
    if net.prefix_len() == net.max_prefix_len() {
        let kind = match net {
            IpNet::V4(_) => Kind::Ipv4,
            IpNet::V6(_) => Kind::Ipv6,
        };
        (kind, net.addr().to_string())
    } else {
        (Kind::Cidr, net.to_string())
    }
}

/// Whether list item `item` (an address or a network) holds `found`.
pub fn covers(item: &str, found: &indicator::Indicator) -> bool {
    let Ok(address) = found.value.parse::<std::net::IpAddr>() else {
        return item == found.value;
    };
    match item.parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&address),
        Err(_) => item.parse::<std::net::IpAddr>().is_ok_and(|a| a == address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_list_items_drop_host_prefixes() {
        let net: IpNet = "10.1.2.3/32".parse().unwrap();
        assert_eq!(ip_list_item(&net), (Kind::Ipv4, "10.1.2.3".to_owned()));
        let net: IpNet = "2001:db8::/32".parse().unwrap();
        assert_eq!(ip_list_item(&net), (Kind::Cidr, "2001:db8::/32".to_owned()));
    }
}
