//! What differs between two points in time: images added, removed and changed, field by field.
//!
//! The diff is computed from versions, not from the change log, so it works between any two
//! committed runs (adjacent or not, in either order) and agrees with what `export --as-of`
//! shows at each end. An image's identity is (scope, id): each scope is compared with itself,
//! so a run that walked only some scopes leaves the others unchanged rather than "removed".
//!
//! Only versions that started or ended between the two runs can differ, and the indexes on
//! `valid_from` and `valid_to` find exactly those; an unchanged image costs nothing, whatever
//! the size of the catalog.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{RunPoint, Store};
use crate::error::Result;

/// One top-level field that differs between two versions of an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    /// `None` when the field is absent on this side (distinct from an explicit `null`).
    pub from: Option<Value>,
    pub to: Option<Value>,
}

/// The fields whose values differ between two objects, sorted by name. A field present on one
/// side only counts as changed (the meaning `changes.json` and the change log use).
pub fn field_changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldChange> {
    let mut fields: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .map(|f| FieldChange {
            field: f.clone(),
            from: before.get(f).cloned(),
            to: after.get(f).cloned(),
        })
        .collect()
}

/// A stored object as a JSON map (a stored object that is not one reads as empty).
pub fn parse_object(raw: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// An image in one scope, as the API returned it.
#[derive(Debug, Clone)]
pub struct ScopedImage {
    pub scope_id: i64,
    pub image_id: String,
    pub raw: String,
}

/// An image present at both points with different content.
#[derive(Debug, Clone)]
pub struct ChangedImage {
    pub scope_id: i64,
    pub image_id: String,
    /// The name at the later point of the two asked for (`to`).
    pub name: Option<String>,
    pub tag: Option<String>,
    pub changes: Vec<FieldChange>,
}

/// The difference between the catalog at `from` and at `to`; every list sorted by id.
#[derive(Debug, Clone)]
pub struct Diff {
    pub from: RunPoint,
    pub to: RunPoint,
    pub added: Vec<ScopedImage>,
    pub removed: Vec<ScopedImage>,
    pub changed: Vec<ChangedImage>,
}

type Key = (i64, String);

impl Store {
    /// The diff between the catalog as of two committed runs.
    pub fn diff(&self, from: RunPoint, to: RunPoint) -> Result<Diff> {
        let reversed = from.run_id > to.run_id;
        let (lo, hi) = if reversed { (to, from) } else { (from, to) };
        // Live at `lo` and ended by `hi`: removed or replaced between the two.
        let ended = self.versions_between(
            "SELECT scope_id, image_id, hash, raw FROM versions
             WHERE valid_to > ?1 AND valid_to <= ?2 AND valid_from <= ?1",
            lo.run_id,
            hi.run_id,
        )?;
        // Live at `hi` and started after `lo`: added or replacing.
        let started = self.versions_between(
            "SELECT scope_id, image_id, hash, raw FROM versions
             WHERE valid_from > ?1 AND valid_from <= ?2 AND (valid_to IS NULL OR valid_to > ?2)",
            lo.run_id,
            hi.run_id,
        )?;
        let mut ended: HashMap<Key, (Vec<u8>, String)> =
            ended.into_iter().map(|(k, h, r)| (k, (h, r))).collect();
        let mut appeared = Vec::new();
        let mut changed = Vec::new();
        for (key, hash, raw) in started {
            match ended.remove(&key) {
                // Gone and back with the same content: no difference between the two points.
                Some((old_hash, _)) if old_hash == hash => {}
                Some((_, old_raw)) => {
                    let (before, after) = if reversed {
                        (raw, old_raw)
                    } else {
                        (old_raw, raw)
                    };
                    let after_map = parse_object(&after);
                    let text = |k: &str| after_map.get(k).and_then(Value::as_str).map(String::from);
                    changed.push(ChangedImage {
                        scope_id: key.0,
                        name: text("name"),
                        tag: text("tag"),
                        changes: field_changes(&parse_object(&before), &after_map),
                        image_id: key.1,
                    });
                }
                None => appeared.push(ScopedImage {
                    scope_id: key.0,
                    image_id: key.1,
                    raw,
                }),
            }
        }
        let vanished: Vec<ScopedImage> = ended
            .into_iter()
            .map(|((scope_id, image_id), (_, raw))| ScopedImage {
                scope_id,
                image_id,
                raw,
            })
            .collect();
        let (mut added, mut removed) = if reversed {
            (vanished, appeared)
        } else {
            (appeared, vanished)
        };
        added.sort_by(|a, b| (&a.image_id, a.scope_id).cmp(&(&b.image_id, b.scope_id)));
        removed.sort_by(|a, b| (&a.image_id, a.scope_id).cmp(&(&b.image_id, b.scope_id)));
        changed.sort_by(|a, b| (&a.image_id, a.scope_id).cmp(&(&b.image_id, b.scope_id)));
        Ok(Diff {
            from,
            to,
            added,
            removed,
            changed,
        })
    }

    fn versions_between(&self, sql: &str, lo: i64, hi: i64) -> Result<Vec<(Key, Vec<u8>, String)>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([lo, hi], |r| {
            Ok(((r.get(0)?, r.get(1)?), r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_fields_and_explicit_nulls_are_changes() {
        let a = parse_object(r#"{"id":"a","tag":"1","gone":true,"n":null}"#);
        let b = parse_object(r#"{"id":"a","tag":"2","new":null}"#);
        let c = field_changes(&a, &b);
        let names: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, ["gone", "n", "new", "tag"]);
        assert_eq!(c[2].from, None);
        assert_eq!(c[2].to, Some(Value::Null));
        assert!(field_changes(&a, &a).is_empty());
    }
}
