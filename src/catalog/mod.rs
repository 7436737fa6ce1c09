//! The API's query semantics — filter, sort and page — implemented once.
//!
//! `GET /v1/{project_id}/images` takes `name`, `name_fuzzy_match`, `namespace`, `service_type`,
//! `type`, `workspace_id`, `sort_key`, `sort_dir`, `limit` and `offset`. The simulator answers
//! requests with this module, and `macat list` answers from the mirror with it too, so the two
//! cannot drift apart.
//!
//! Meanings chosen where the API reference is silent:
//! - `name` with fuzzy match (the default) is a case-insensitive substring match; without it
//!   the name must be equal.
//! - `type` defaults to BUILD_IN and `workspace_id` to "0", as documented; enum-valued filters
//!   (`type`, `service_type`) compare case-insensitively because servers send both cases.
//! - `service_type` is documented with default UNKNOWN, but an absent filter returns every service
//!   type (filtering on UNKNOWN by default would hide almost the whole catalog).
//! - Without `sort_key` the order is `create_at` descending. Missing values sort as the smallest.
//!   Ties are broken by `id` ascending so that pages are stable.

use std::cmp::Ordering;

use crate::api::types::Image;

/// Default and documented page size.
pub const DEFAULT_LIMIT: u64 = 200;

/// Fields that `sort_key` may name.
pub const SORT_FIELDS: &[&str] = &[
    "arch",
    "create_at",
    "description",
    "flavor_type",
    "id",
    "name",
    "namespace",
    "origin",
    "service_type",
    "size",
    "status",
    "swr_path",
    "tag",
    "type",
    "update_at",
    "visibility",
    "workspace_id",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDir {
    Asc,
    Desc,
}

/// A parsed, validated query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    pub name: Option<String>,
    pub name_fuzzy_match: bool,
    pub namespace: Option<String>,
    pub service_type: Option<String>,
    pub image_type: String,
    pub workspace_id: String,
    pub sort_key: Vec<String>,
    pub sort_dir: SortDir,
    pub limit: u64,
    pub offset: u64,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            name: None,
            name_fuzzy_match: true,
            namespace: None,
            service_type: None,
            image_type: "BUILD_IN".into(),
            workspace_id: "0".into(),
            sort_key: Vec::new(),
            sort_dir: SortDir::Desc,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// A parameter the API would refuse, named so the error body can say which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub param: &'static str,
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid parameter `{}`: {}", self.param, self.message)
    }
}

fn bad(param: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        param,
        message: message.into(),
    }
}

impl Query {
    /// Builds a query from decoded request parameters (unknown parameters are ignored, as the
    /// API does). The last occurrence of a repeated parameter wins.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, QueryError> {
        let mut q = Query::default();
        for (k, v) in params {
            match k {
                "name" => q.name = non_empty(v),
                "name_fuzzy_match" => {
                    q.name_fuzzy_match = match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad("name_fuzzy_match", "must be true or false")),
                    }
                }
                "namespace" => q.namespace = non_empty(v),
                "service_type" => {
                    q.service_type = non_empty(v);
                    if !v.is_empty() {
                        one_of("service_type", v, SERVICE_TYPES)?;
                    }
                }
                "type" if !v.is_empty() => {
                    one_of("type", v, IMAGE_TYPES)?;
                    q.image_type = v.to_string();
                }
                "workspace_id" if !v.is_empty() => {
                    let valid = v == "0"
                        || (v.len() == 32
                            && v.bytes()
                                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
                    if !valid {
                        return Err(bad(
                            "workspace_id",
                            "must be 0 or 32 digits and lowercase letters",
                        ));
                    }
                    q.workspace_id = v.to_string();
                }
                "sort_key" => q.sort_key = parse_sort_key(v)?,
                "sort_dir" => {
                    q.sort_dir = match v.to_ascii_uppercase().as_str() {
                        "ASC" => SortDir::Asc,
                        "DESC" => SortDir::Desc,
                        _ => return Err(bad("sort_dir", "must be ASC or DESC")),
                    }
                }
                "limit" => {
                    q.limit = match v.parse::<u64>() {
                        Ok(n) if n > 0 => n,
                        _ => return Err(bad("limit", "must be a positive integer")),
                    }
                }
                "offset" => {
                    q.offset = v
                        .parse::<u64>()
                        .map_err(|_| bad("offset", "must be a non-negative integer"))?
                }
                _ => {}
            }
        }
        Ok(q)
    }

    /// Whether one image passes every filter.
    pub fn matches(&self, img: &Image) -> bool {
        if let Some(want) = &self.name {
            let name = img.name.as_deref().unwrap_or("");
            let ok = if self.name_fuzzy_match {
                name.to_lowercase().contains(&want.to_lowercase())
            } else {
                name == want
            };
            if !ok {
                return false;
            }
        }
        if let Some(ns) = &self.namespace {
            if img.namespace.as_deref() != Some(ns.as_str()) {
                return false;
            }
        }
        if let Some(st) = &self.service_type {
            if !eq_ci(img.service_type.as_deref(), st) {
                return false;
            }
        }
        eq_ci(img.image_type.as_deref(), &self.image_type)
            && img.workspace_id.as_deref().unwrap_or("0") == self.workspace_id
    }

    /// Filters and sorts: every image the query selects, in the API's order (before paging).
    pub fn select<'a, T>(&self, images: &'a [T], image: impl Fn(&T) -> &Image) -> Vec<&'a T> {
        self.select_indices(images, image)
            .into_iter()
            .map(|i| &images[i])
            .collect()
    }

    /// [`select`](Self::select) as positions in `images` (what a cache of selections keeps).
    pub fn select_indices<T>(&self, images: &[T], image: impl Fn(&T) -> &Image) -> Vec<usize> {
        let mut out: Vec<usize> = (0..images.len())
            .filter(|&i| self.matches(image(&images[i])))
            .collect();
        let keys: Vec<&str> = if self.sort_key.is_empty() {
            vec!["create_at"]
        } else {
            self.sort_key.iter().map(String::as_str).collect()
        };
        out.sort_by(|&a, &b| {
            let (a, b) = (image(&images[a]), image(&images[b]));
            let mut ord = Ordering::Equal;
            for k in &keys {
                ord = sort_value(a, k).cmp(&sort_value(b, k));
                if ord != Ordering::Equal {
                    break;
                }
            }
            if self.sort_dir == SortDir::Desc {
                ord = ord.reverse();
            }
            ord.then_with(|| a.id.cmp(&b.id))
        });
        out
    }

    /// The query without its paging (`limit`, `offset`): equal for every page of one listing.
    pub fn without_paging(&self) -> Query {
        Query {
            limit: DEFAULT_LIMIT,
            offset: 0,
            ..self.clone()
        }
    }
}

/// The documented values of the enum-valued filters (compared case-insensitively).
pub const IMAGE_TYPES: &[&str] = &["BUILD_IN", "DEDICATED"];
pub const SERVICE_TYPES: &[&str] = &["COMMON", "INFERENCE", "TRAIN", "DEV", "UNKNOWN"];

fn one_of(param: &'static str, v: &str, allowed: &[&str]) -> Result<(), QueryError> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) {
        Ok(())
    } else {
        Err(bad(param, format!("must be one of {}", allowed.join(", "))))
    }
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

fn eq_ci(have: Option<&str>, want: &str) -> bool {
    have.is_some_and(|h| h.eq_ignore_ascii_case(want))
}

fn parse_sort_key(v: &str) -> Result<Vec<String>, QueryError> {
    if v.len() > 128 {
        return Err(bad("sort_key", "longer than 128 characters"));
    }
    let mut keys = Vec::new();
    for k in v.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !SORT_FIELDS.contains(&k) {
            return Err(bad(
                "sort_key",
                format!("unknown field {k:?} (one of: {})", SORT_FIELDS.join(", ")),
            ));
        }
        keys.push(k.to_string());
    }
    Ok(keys)
}

/// A sortable value: missing sorts below everything, numbers by value, text by bytes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue<'a> {
    Missing,
    Int(i64),
    Text(&'a str),
}

fn sort_value<'a>(img: &'a Image, key: &str) -> SortValue<'a> {
    let text = |s: &'a Option<String>| s.as_deref().map_or(SortValue::Missing, SortValue::Text);
    let int = |n: Option<i64>| n.map_or(SortValue::Missing, SortValue::Int);
    match key {
        "arch" => text(&img.arch),
        "create_at" => int(img.create_at),
        "description" => text(&img.description),
        "flavor_type" => text(&img.flavor_type),
        "id" => SortValue::Text(&img.id),
        "name" => text(&img.name),
        "namespace" => text(&img.namespace),
        "origin" => text(&img.origin),
        "service_type" => text(&img.service_type),
        "size" => int(img.size),
        "status" => text(&img.status),
        "swr_path" => text(&img.swr_path),
        "tag" => text(&img.tag),
        "type" => text(&img.image_type),
        "update_at" => int(img.update_at),
        "visibility" => text(&img.visibility),
        "workspace_id" => text(&img.workspace_id),
        _ => SortValue::Missing,
    }
}

/// What `offset` counts: records (`offset` = index of the first record) or pages
/// (`offset` = page number, from 0; or from 1, where 0 and 1 both mean the first page).
/// ModelArts' own list APIs disagree, so all of these exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetMode {
    Records,
    Pages,
    PagesFrom1,
}

/// What the `size` field reports: the page size asked for, or the records on this page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeMode {
    Page,
    Count,
}

/// How a server pages: the variants a client must cope with.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub offset_mode: OffsetMode,
    /// `current` of the first page: 0 or 1.
    pub current_base: u64,
    pub size_mode: SizeMode,
    /// The most records a page holds, whatever `limit` asks for.
    pub max_limit: Option<u64>,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            offset_mode: OffsetMode::Records,
            current_base: 1,
            size_mode: SizeMode::Page,
            max_limit: None,
        }
    }
}

/// One page of a selection, with the envelope numbers the API reports.
#[derive(Debug)]
pub struct PageOf<'a, T> {
    pub current: u64,
    pub pages: u64,
    pub size: u64,
    pub total: u64,
    pub data: &'a [T],
}

/// Where one page falls in a selection of `total` images, with the envelope numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Positions `start..end` of the selection.
    pub start: u64,
    pub end: u64,
    pub current: u64,
    pub pages: u64,
    pub size: u64,
    pub total: u64,
}

impl Paging {
    /// The page `q` asks for out of a selection of `total` images: the one place paging is
    /// computed, for a selection in memory ([`page`](Self::page)) or in the mirror's indexes.
    pub fn window(&self, q: &Query, total: u64) -> Window {
        let limit = self.max_limit.map_or(q.limit, |m| q.limit.min(m)).max(1);
        let page_index = match self.offset_mode {
            OffsetMode::Records => q.offset / limit,
            OffsetMode::Pages => q.offset,
            OffsetMode::PagesFrom1 => q.offset.saturating_sub(1),
        };
        let start = match self.offset_mode {
            OffsetMode::Records => q.offset,
            OffsetMode::Pages | OffsetMode::PagesFrom1 => page_index.saturating_mul(limit),
        };
        let start = start.min(total);
        // Saturating: limit and offset come from users and requests, up to u64::MAX.
        let end = start.saturating_add(limit).min(total);
        Window {
            start,
            end,
            current: page_index.saturating_add(self.current_base),
            pages: total.div_ceil(limit),
            size: match self.size_mode {
                SizeMode::Page => limit,
                SizeMode::Count => end - start,
            },
            total,
        }
    }

    /// Cuts one page out of a selection made by [`Query::select`].
    pub fn page<'a, T>(&self, selected: &'a [T], q: &Query) -> PageOf<'a, T> {
        let w = self.window(q, selected.len() as u64);
        PageOf {
            current: w.current,
            pages: w.pages,
            size: w.size,
            total: w.total,
            data: &selected[w.start as usize..w.end as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(id: &str, name: &str, create_at: Option<i64>) -> Image {
        Image {
            id: id.into(),
            name: Some(name.into()),
            create_at,
            image_type: Some("BUILD_IN".into()),
            workspace_id: Some("0".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_the_reference() {
        let q = Query::from_params([]).unwrap();
        assert_eq!(q.image_type, "BUILD_IN");
        assert_eq!(q.workspace_id, "0");
        assert_eq!(q.limit, 200);
        assert!(q.name_fuzzy_match);
        assert_eq!(q.sort_dir, SortDir::Desc);
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (k, v) in [
            ("limit", "0"),
            ("limit", "x"),
            ("offset", "-1"),
            ("sort_dir", "UP"),
            ("sort_key", "name;drop"),
            ("name_fuzzy_match", "maybe"),
            ("type", "all"),
            ("service_type", "XX"),
            ("workspace_id", "abc"),
            ("workspace_id", "ABCDEF0123456789ABCDEF0123456789"),
        ] {
            let e = Query::from_params([(k, v)]).unwrap_err();
            assert_eq!(e.param, k);
        }
    }

    #[test]
    fn fuzzy_exact_and_case_insensitive_enums() {
        let mut a = img("1", "pytorch_1.8", Some(1));
        a.service_type = Some("train".into());
        let b = img("2", "mindspore", Some(2));
        let imgs = vec![a, b];
        let q = Query::from_params([("name", "TORCH")]).unwrap();
        assert_eq!(q.select(&imgs, |i| i).len(), 1);
        let q = Query::from_params([("name", "torch"), ("name_fuzzy_match", "false")]).unwrap();
        assert_eq!(q.select(&imgs, |i| i).len(), 0);
        let q = Query::from_params([("service_type", "TRAIN"), ("type", "build_in")]).unwrap();
        assert_eq!(q.select(&imgs, |i| i).len(), 1);
    }

    #[test]
    fn sorting_puts_missing_lowest_and_breaks_ties_by_id() {
        let imgs = vec![
            img("b", "x", None),
            img("a", "x", Some(5)),
            img("c", "x", Some(5)),
            img("d", "y", Some(9)),
        ];
        let q = Query::default();
        let ids: Vec<_> = q
            .select(&imgs, |i| i)
            .iter()
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(ids, ["d", "a", "c", "b"]);
        let q = Query::from_params([("sort_key", "name,create_at"), ("sort_dir", "ASC")]).unwrap();
        let ids: Vec<_> = q
            .select(&imgs, |i| i)
            .iter()
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(ids, ["b", "a", "c", "d"]);
    }

    #[test]
    fn paging_the_largest_numbers_does_not_overflow() {
        let imgs: Vec<Image> = (0..3).map(|i| img(&i.to_string(), "n", Some(i))).collect();
        let max = u64::MAX.to_string();
        for (limit, offset) in [
            (max.as_str(), "1"),
            ("1", max.as_str()),
            (max.as_str(), max.as_str()),
        ] {
            let q = Query::from_params([("limit", limit), ("offset", offset)]).unwrap();
            let sel = q.select(&imgs, |i| i);
            for mode in [
                OffsetMode::Records,
                OffsetMode::Pages,
                OffsetMode::PagesFrom1,
            ] {
                let paging = Paging {
                    offset_mode: mode,
                    ..Paging::default()
                };
                assert!(paging.page(&sel, &q).data.len() <= imgs.len());
            }
        }
    }

    #[test]
    fn paging_modes() {
        let imgs: Vec<Image> = (0..5).map(|i| img(&i.to_string(), "n", Some(i))).collect();
        let q = Query::from_params([("limit", "2"), ("offset", "1")]).unwrap();
        let sel = q.select(&imgs, |i| i);
        let rec = Paging::default().page(&sel, &q);
        assert_eq!(
            rec.data.iter().map(|i| &i.id).collect::<Vec<_>>(),
            ["3", "2"]
        );
        assert_eq!((rec.current, rec.pages, rec.size, rec.total), (1, 3, 2, 5));
        let pages = Paging {
            offset_mode: OffsetMode::Pages,
            current_base: 0,
            size_mode: SizeMode::Count,
            max_limit: None,
        };
        let p = pages.page(&sel, &q);
        assert_eq!(p.data.iter().map(|i| &i.id).collect::<Vec<_>>(), ["2", "1"]);
        assert_eq!((p.current, p.size), (1, 2));
        let q = Query::from_params([("limit", "2"), ("offset", "2")]).unwrap();
        let last = pages.page(&sel, &q);
        assert_eq!((last.data.len(), last.size), (1, 1));
        let capped = Paging {
            max_limit: Some(1),
            ..Paging::default()
        };
        assert_eq!(capped.page(&sel, &q).data.len(), 1);
    }
}
