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

/// The region of an endpoint: the region table's entry for it, else the `REGION` of a
/// `modelarts.REGION.` host; `None` for anything else (a simulator, a mirror server).
pub fn region_of(endpoint: &str) -> Option<String> {
    let endpoint = endpoint.trim_end_matches('/');
    if let Some((region, _)) = table()
        .into_iter()
        .find(|(_, e)| e.eq_ignore_ascii_case(endpoint))
    {
        return Some(region);
    }
    let url = reqwest::Url::parse(endpoint).ok()?;
    let mut labels = url.host_str()?.split('.');
    match (labels.next(), labels.next(), labels.next()) {
        (Some("modelarts"), Some(region), Some(_)) if !region.is_empty() => {
            Some(region.to_string())
        }
        _ => None,
    }
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
        assert_eq!(
            region_of("https://modelarts.ap-southeast-1.myhuaweicloud.cn/").as_deref(),
            Some("ap-southeast-1")
        );
        assert_eq!(
            region_of("https://modelarts.xx-new-1.example.com").as_deref(),
            Some("xx-new-1")
        );
        assert_eq!(region_of("http://127.0.0.1:8080"), None);
        let e = endpoint("mars-1").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("cn-north-4"));
    }
}
