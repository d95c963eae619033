//! Workload Security regions. Cloud One Workload Security (now Vision One Server & Workload
//! Protection) serves the same `/api/` paths and takes both key headers as an on-premise Deep
//! Security Manager; each region has its own host,
//! `https://workload.<region>.cloudone.trendmicro.com/api`: us-1, trend-us-1, in-1, gb-1,
//! au-1, jp-1, de-1, ca-1, sg-1 as Trend documents them, and ae-1 (UAE) of Server & Workload
//! Protection (the project's API notes, `trend-micro-apis.md` §2 and §4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::UnknownRegion;

/// A Workload Security data-centre region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Region {
    #[serde(rename = "us-1")]
    Us1,
    #[serde(rename = "trend-us-1")]
    TrendUs1,
    #[serde(rename = "in-1")]
    In1,
    #[serde(rename = "gb-1")]
    Gb1,
    #[serde(rename = "au-1")]
    Au1,
    #[serde(rename = "jp-1")]
    Jp1,
    #[serde(rename = "de-1")]
    De1,
    #[serde(rename = "ca-1")]
    Ca1,
    #[serde(rename = "sg-1")]
    Sg1,
    /// United Arab Emirates.
    #[serde(rename = "ae-1")]
    Ae1,
}

impl Region {
    /// Every region, in declaration order.
    pub const ALL: [Region; 10] = [
        Region::Us1,
        Region::TrendUs1,
        Region::In1,
        Region::Gb1,
        Region::Au1,
        Region::Jp1,
        Region::De1,
        Region::Ca1,
        Region::Sg1,
        Region::Ae1,
    ];

    /// The name the config file uses (`us-1`, ..., `ae-1`).
    pub fn name(self) -> &'static str {
        match self {
            Region::Us1 => "us-1",
            Region::TrendUs1 => "trend-us-1",
            Region::In1 => "in-1",
            Region::Gb1 => "gb-1",
            Region::Au1 => "au-1",
            Region::Jp1 => "jp-1",
            Region::De1 => "de-1",
            Region::Ca1 => "ca-1",
            Region::Sg1 => "sg-1",
            Region::Ae1 => "ae-1",
        }
    }

    /// The API base URL of the region's manager.
    pub fn base_url(self) -> String {
        format!(
            "https://workload.{}.cloudone.trendmicro.com/api",
            self.name()
        )
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        UnknownRegion::lookup(&Region::ALL, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_names_its_workload_host() {
        for region in Region::ALL {
            let url = url::Url::parse(&region.base_url()).unwrap();
            assert_eq!(url.scheme(), "https");
            assert_eq!(
                url.host_str(),
                Some(format!("workload.{region}.cloudone.trendmicro.com").as_str())
            );
            assert_eq!(url.path(), "/api");
            assert_eq!(region.name().parse::<Region>(), Ok(region));
            let serde: Region = serde_json::from_str(&format!("\"{region}\"")).unwrap();
            assert_eq!(serde, region);
        }
        assert_eq!(
            Region::Ae1.base_url(),
            "https://workload.ae-1.cloudone.trendmicro.com/api"
        );
    }

    #[test]
    fn an_unknown_region_lists_the_known_ones() {
        let error = "eu-1".parse::<Region>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown region `eu-1`; known regions: us-1, trend-us-1, in-1, gb-1, au-1, jp-1, \
             de-1, ca-1, sg-1, ae-1"
        );
    }
}
