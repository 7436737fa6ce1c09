//! Region -> endpoint, from the official SDK's table (`data/modelarts-regions.json`).
//!
//! Not every region follows `https://modelarts.REGION.myhuaweicloud.com` (ap-southeast-1 is on
//! `.cn`), so the table is used as shipped rather than a pattern.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

const TABLE: &str = include_str!("../../data/modelarts-regions.json");

#[derive(serde::Deserialize)]
struct Table {
    regions: BTreeMap<String, String>,
}

fn table() -> BTreeMap<String, String> {
    serde_json::from_str::<Table>(TABLE)
        .map(|t| t.regions)
        .unwrap_or_default()
}

/// The ModelArts endpoint of a region, or a usage error listing the known regions.
pub fn endpoint(region: &str) -> Result<String> {
    let regions = table();
    regions.get(region.trim()).cloned().ok_or_else(|| {
        Error::usage(format!(
            "unknown region {region:?}; known regions: {} (or pass --endpoint URL)",
            regions.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_maps_regions_including_the_odd_one() {
        assert!(table().len() >= 20);
        assert_eq!(
            endpoint("cn-north-4").unwrap(),
            "https://modelarts.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            endpoint("ap-southeast-1").unwrap(),
            "https://modelarts.ap-southeast-1.myhuaweicloud.cn"
        );
        let e = endpoint("mars-1").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("cn-north-4"));
    }
}
