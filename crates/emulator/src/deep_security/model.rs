//! The IP list resource (`{"ID","name","description","items"}`) and the lists a fresh
//! Deep Security Manager ships with (IDs 1–6).

use serde::{Deserialize, Serialize};

/// One IP list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpList {
    #[serde(rename = "ID")]
    pub id: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub items: Vec<String>,
}

impl IpList {
    /// Characters of the items joined by newlines — what the 32,000 limit counts.
    pub fn item_chars(items: &[String]) -> usize {
        items.iter().map(|i| i.chars().count()).sum::<usize>() + items.len().saturating_sub(1)
    }
}

fn builtin(id: u32, name: &str, description: &str, items: &[&str]) -> IpList {
    IpList {
        id,
        name: name.to_owned(),
        description: Some(description.to_owned()),
        items: items.iter().map(|i| (*i).to_owned()).collect(),
    }
}

/// The IP lists present on a fresh manager.
pub fn builtin_ip_lists() -> Vec<IpList> {
    vec![
        builtin(
            1,
            "Domain Controller(s)",
            "IP addresses of the domain controllers in your network.",
            &[],
        ),
        builtin(
            2,
            "Ignore Reconnaissance",
            "IP addresses to ignore when detecting reconnaissance scans.",
            &[],
        ),
        builtin(
            3,
            "Ingress Filters",
            "Addresses that must never appear as the source of inbound traffic.",
            &[
                "0.0.0.0/8 #This network",
                "127.0.0.0/8 #Loopback",
                "169.254.0.0/16 #Link local",
                "192.0.2.0/24 #Documentation",
                "224.0.0.0/4 #Multicast",
                "240.0.0.0/4 #Reserved",
            ],
        ),
        builtin(
            4,
            "Loopbacks",
            "Loopback addresses.",
            &["127.0.0.0/8 #IPv4 loopback", "::1 #IPv6 loopback"],
        ),
        builtin(
            5,
            "Network Broadcast",
            "Broadcast addresses.",
            &["255.255.255.255 #Broadcast"],
        ),
        builtin(
            6,
            "Off Domain Ignore",
            "Networks to ignore when the computer is off the domain.",
            &[],
        ),
    ]
}
