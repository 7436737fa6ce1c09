//! Two sets of scopes side by side (`macat compare`): which images exist on one side only, and
//! which differ, field by field.
//!
//! A side is a selector, `key=value` pairs joined with `,`: `region=R` (the scope's endpoint
//! mapped to its region by the SDK's region table, or a `modelarts.REGION.` host), `project=ID`,
//! `workspace=ID`, `type=T` (`BUILD_IN`, `DEDICATED`, any case). A scope is on a side when it
//! matches every pair. A selector that matches no scope of the mirror, or two sides that share
//! a scope, are usage errors.
//!
//! Images are matched across the sides by (`name`, `tag`), since ids differ between regions.
//! When one side holds several images with the same (name, tag) (two scopes of one side), they
//! are paired in order of (type, id) and the rest are one-sided. A pair differs when a field
//! other than `id`, `create_at` and `update_at` differs; `swr_path` is compared (and shown)
//! without its registry host, which differs by region by design.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use super::diff::{field_changes, parse_object};
use super::{LiveImage, RunPoint, ScopeKey, Store};
use crate::error::{Error, Result};

/// One side of a comparison, as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub text: String,
    pub region: Option<String>,
    pub project: Option<String>,
    pub workspace: Option<String>,
    pub image_type: Option<String>,
}

impl Selector {
    /// Parses `key=value[,key=value...]`; a bad key, value or repeated key is a usage error.
    pub fn parse(text: &str) -> Result<Selector> {
        let mut sel = Selector {
            text: text.to_string(),
            ..Selector::default()
        };
        let shape = "region=R, project=ID, workspace=ID or type=T, joined with `,`";
        for part in text.split(',') {
            let (key, value) = part
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .filter(|(_, v)| !v.is_empty())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "invalid scope selector {:?}: expected {shape}",
                        crate::output::one_line(text, 80)
                    ))
                })?;
            let slot = match key {
                "region" => &mut sel.region,
                "project" => &mut sel.project,
                "workspace" => &mut sel.workspace,
                "type" => &mut sel.image_type,
                other => {
                    return Err(Error::usage(format!(
                        "unknown key {:?} in scope selector: expected {shape}",
                        crate::output::one_line(other, 40)
                    )))
                }
            };
            if slot.is_some() {
                return Err(Error::usage(format!(
                    "`{key}` is given twice in the scope selector {:?}",
                    crate::output::one_line(text, 80)
                )));
            }
            *slot = Some(value.to_string());
        }
        if let Some(t) = &mut sel.image_type {
            let upper = t.to_ascii_uppercase();
            if upper != "BUILD_IN" && upper != "DEDICATED" {
                return Err(Error::usage(format!(
                    "invalid type {:?} in scope selector: BUILD_IN or DEDICATED",
                    crate::output::one_line(t, 40)
                )));
            }
            *t = upper;
        }
        Ok(sel)
    }

    /// Whether a scope is on this side.
    pub fn matches(&self, scope: &ScopeKey) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        eq(&self.project, &scope.project_id)
            && eq(&self.workspace, &scope.workspace_id)
            && eq(&self.image_type, &scope.image_type)
            && self.region.as_deref().is_none_or(|r| {
                crate::api::regions::region_of(&scope.endpoint).is_some_and(|have| have == r)
            })
    }
}

/// One side of the result: the selector, the scopes it matched, and how many images they hold.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub selector: String,
    pub scopes: Vec<ScopeKey>,
    pub images: usize,
}

/// A field that differs between the two images of a pair (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

/// An image on both sides whose fields differ.
#[derive(Debug, Clone, Serialize)]
pub struct Different {
    pub name: Option<String>,
    pub tag: Option<String>,
    pub a_id: String,
    pub b_id: String,
    pub changes: Vec<Change>,
}

/// The comparison; every list sorted by (name, tag, id).
#[derive(Debug, Clone)]
pub struct Comparison {
    pub run: RunPoint,
    pub a: Side,
    pub b: Side,
    /// The images as the API returned them.
    pub only_a: Vec<LiveImage>,
    pub only_b: Vec<LiveImage>,
    pub different: Vec<Different>,
}

/// Fields left out of the comparison: they differ between regions for every image.
const IGNORED: [&str; 3] = ["id", "create_at", "update_at"];

/// `swr_path` without its registry host (`swr.cn-north-4.myhuaweicloud.com/org/repo:tag` ->
/// `org/repo:tag`).
fn without_registry(path: &str) -> &str {
    path.split_once('/').map_or(path, |(_, rest)| rest)
}

/// An image object as compared: ignored fields dropped, `swr_path` without its host.
fn comparable(raw: &str) -> Map<String, Value> {
    let mut m = parse_object(raw);
    for f in IGNORED {
        m.remove(f);
    }
    if let Some(Value::String(p)) = m.get_mut("swr_path") {
        *p = without_registry(p).to_string();
    }
    m
}

type MatchKey = (Option<String>, Option<String>);

impl Store {
    /// Compares the scopes `a` and `b` select, as of committed run `run`.
    pub fn compare(&self, a: &Selector, b: &Selector, run: RunPoint) -> Result<Comparison> {
        let scopes = self.scopes()?;
        let pick = |sel: &Selector| -> Result<Vec<(i64, ScopeKey)>> {
            let picked: Vec<_> = scopes
                .iter()
                .filter(|(_, s)| sel.matches(s))
                .cloned()
                .collect();
            if picked.is_empty() {
                return Err(Error::usage(format!(
                    "{:?} selects no scope of the mirror (it holds {})",
                    crate::output::one_line(&sel.text, 80),
                    describe(&scopes)
                )));
            }
            Ok(picked)
        };
        let (sa, sb) = (pick(a)?, pick(b)?);
        if let Some((_, shared)) = sa.iter().find(|(id, _)| sb.iter().any(|(j, _)| j == id)) {
            return Err(Error::usage(format!(
                "both sides select the scope {} (project {}, workspace {}, type {}): make the \
                 selectors tell the two sides apart",
                crate::output::one_line(&shared.endpoint, 80),
                crate::output::one_line(&shared.project_id, 40),
                crate::output::one_line(&shared.workspace_id, 40),
                shared.image_type
            )));
        }
        let ids_a: HashSet<i64> = sa.iter().map(|(id, _)| *id).collect();
        let ids_b: HashSet<i64> = sb.iter().map(|(id, _)| *id).collect();
        let mut side_a: BTreeMap<MatchKey, Vec<LiveImage>> = BTreeMap::new();
        let mut side_b: BTreeMap<MatchKey, Vec<LiveImage>> = BTreeMap::new();
        let (mut count_a, mut count_b) = (0, 0);
        for img in self.live_images(run.run_id)? {
            let key = (img.image.name.clone(), img.image.tag.clone());
            if ids_a.contains(&img.scope_id) {
                count_a += 1;
                side_a.entry(key).or_default().push(img);
            } else if ids_b.contains(&img.scope_id) {
                count_b += 1;
                side_b.entry(key).or_default().push(img);
            }
        }
        let order = |v: &mut Vec<LiveImage>| {
            v.sort_by(|x, y| {
                (&x.image.image_type, &x.image.id).cmp(&(&y.image.image_type, &y.image.id))
            })
        };
        let (mut only_a, mut only_b, mut different) = (Vec::new(), Vec::new(), Vec::new());
        for (key, mut left) in side_a {
            order(&mut left);
            let mut right = side_b.remove(&key).unwrap_or_default();
            order(&mut right);
            let extra_right = right.split_off(left.len().min(right.len()));
            let extra_left = left.split_off(right.len());
            for (x, y) in left.iter().zip(&right) {
                let changes: Vec<Change> = field_changes(&comparable(&x.raw), &comparable(&y.raw))
                    .into_iter()
                    .map(|c| Change {
                        field: c.field,
                        a: c.from,
                        b: c.to,
                    })
                    .collect();
                if !changes.is_empty() {
                    different.push(Different {
                        name: key.0.clone(),
                        tag: key.1.clone(),
                        a_id: x.image.id.clone(),
                        b_id: y.image.id.clone(),
                        changes,
                    });
                }
            }
            only_a.extend(extra_left);
            only_b.extend(extra_right);
        }
        for (_, mut right) in side_b {
            order(&mut right);
            only_b.extend(right);
        }
        let side = |sel: &Selector, picked: Vec<(i64, ScopeKey)>, images| Side {
            selector: sel.text.clone(),
            scopes: picked.into_iter().map(|(_, s)| s).collect(),
            images,
        };
        Ok(Comparison {
            run,
            a: side(a, sa, count_a),
            b: side(b, sb, count_b),
            only_a,
            only_b,
            different,
        })
    }
}

/// The mirror's scopes in a few words, for the error of a selector that matches none.
fn describe(scopes: &[(i64, ScopeKey)]) -> String {
    if scopes.is_empty() {
        return "no scope yet: run `macat sync` first".into();
    }
    let list: Vec<String> = scopes
        .iter()
        .take(6)
        .map(|(_, s)| {
            let region = crate::api::regions::region_of(&s.endpoint)
                .map_or_else(String::new, |r| format!("region={r},"));
            crate::output::one_line(
                &format!(
                    "{region}project={},workspace={},type={}",
                    s.project_id, s.workspace_id, s.image_type
                ),
                160,
            )
        })
        .collect();
    let more = scopes.len().saturating_sub(list.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{}{tail}", list.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(endpoint: &str, project: &str, ty: &str) -> ScopeKey {
        ScopeKey {
            endpoint: endpoint.into(),
            project_id: project.into(),
            workspace_id: "0".into(),
            image_type: ty.into(),
            namespace: None,
        }
    }

    #[test]
    fn selectors_parse_and_match_by_region_project_workspace_type() {
        let s = Selector::parse("region=cn-north-4,type=dedicated").unwrap();
        assert_eq!(s.region.as_deref(), Some("cn-north-4"));
        assert_eq!(s.image_type.as_deref(), Some("DEDICATED"));
        let cn = "https://modelarts.cn-north-4.myhuaweicloud.com";
        assert!(s.matches(&scope(cn, "p", "DEDICATED")));
        assert!(!s.matches(&scope(cn, "p", "BUILD_IN")));
        assert!(!s.matches(&scope("http://127.0.0.1:9", "p", "DEDICATED")));
        // The region table's odd endpoint (ap-southeast-1 on .cn).
        let ap = Selector::parse("region=ap-southeast-1").unwrap();
        assert!(ap.matches(&scope(
            "https://modelarts.ap-southeast-1.myhuaweicloud.cn",
            "p",
            "BUILD_IN"
        )));
        let p = Selector::parse("project=p1, workspace=0").unwrap();
        assert!(p.matches(&scope(cn, "p1", "BUILD_IN")));
        assert!(!p.matches(&scope(cn, "p2", "BUILD_IN")));
        for bad in [
            "",
            "region",
            "region=",
            "zone=x",
            "type=OTHER",
            "project=a,project=b",
        ] {
            assert_eq!(Selector::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn compared_objects_leave_out_ids_times_and_the_registry_host() {
        let a = comparable(
            r#"{"id":"1","create_at":1,"update_at":2,"swr_path":"swr.cn-north-4.myhuaweicloud.com/atelier/x:1","description":"d"}"#,
        );
        let b = comparable(
            r#"{"id":"2","create_at":3,"update_at":4,"swr_path":"swr.ap-southeast-1.myhuaweicloud.com/atelier/x:1","description":"e"}"#,
        );
        let changes = field_changes(&a, &b);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "description");
        assert_eq!(a["swr_path"], "atelier/x:1");
    }
}
