//! Deep Security Manager (on-premise) and Cloud One Workload Security: IP lists.
//!
//! - [`config`]: the instance (any of `host:4119`, `https://host:4119/api`,
//!   `workload.us-1.cloudone.trendmicro.com`) or a Workload Security [`Region`], the key and
//!   which header carries it.
//! - [`region`]: the Workload Security regions and their hosts.
//! - [`request`]: pure parts: search filters, request bodies, error messages, list sizes.
//! - [`client`]: [`DeepSecurityClient`], the operations the sync engine calls.
//!
//! Firewall rules and policies refer to IP lists by ID, so a managed list is modified in place,
//! never deleted and recreated. [`DeepSecurityClient::delete_list`] exists for lists the user
//! asks to remove outright; the sync engine must never call it on a list (or a part of a split
//! list) that a rule may still refer to.

pub mod client;
pub mod config;
pub mod region;
pub mod request;

use serde::{Deserialize, Serialize};

pub use client::DeepSecurityClient;
pub use config::{AuthHeader, DeepSecurityConfig};
pub use region::Region;

/// The product name used in errors, logs and metrics.
pub const PRODUCT: &str = "Deep Security";

/// Most characters an IP list holds, counting its items joined by newlines (from the ThreatQ
/// integration's documentation; Trend's spec states no limit). Longer sets are split into parts.
pub const IP_LIST_MAX_CHARS: usize = 32_000;

/// Most IP lists a manager holds (same source).
pub const MAX_IP_LISTS: usize = 5_000;

/// An IP list as Deep Security returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpList {
    /// Read-only; firewall rules refer to the list by it.
    #[serde(rename = "ID")]
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Single addresses, CIDRs, dotted masks, `a - b` ranges, each optionally followed by a
    /// `#` comment.
    #[serde(default)]
    pub items: Vec<String>,
}

/// The characters `items` take in an IP list: their lengths plus one newline between each two.
pub fn list_chars(items: &[String]) -> usize {
    items.iter().map(|item| item.chars().count()).sum::<usize>() + items.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_chars_counts_newlines_between_items() {
        assert_eq!(list_chars(&[]), 0);
        assert_eq!(list_chars(&["1.2.3.4".into()]), 7);
        assert_eq!(list_chars(&["1.2.3.4".into(), "10.0.0.0/8".into()]), 18);
    }

    #[test]
    fn ip_list_reads_the_api_shape() {
        let list: IpList = serde_json::from_str(
            r#"{"ID":42,"name":"Blocked","description":"d","items":["255.255.255.255 #Broadcast"]}"#,
        )
        .unwrap();
        assert_eq!(list.id, 42);
        assert_eq!(list.items, vec!["255.255.255.255 #Broadcast".to_owned()]);
        let bare: IpList = serde_json::from_str(r#"{"ID":1,"name":"n"}"#).unwrap();
        assert!(bare.items.is_empty() && bare.description.is_none());
    }
}
