//! One image across runs: finding it by what users type, and the story of its versions.
//!
//! Users name an image by id, by name, or by `name:tag` (and, for convenience, by a unique
//! prefix of its id, which is what a shortened id column in a table shows). Names are not
//! unique in the catalog, so a lookup can be ambiguous; the caller shows the candidates.
//!
//! A history is read from the versions of the image in each scope: the first version is when
//! it appeared; a version that starts in the run the previous one ended is a change; a gap
//! between them is a removal and a comeback.

use rusqlite::params;
use serde::Serialize;

use super::diff::{field_changes, parse_object, FieldChange};
use super::{RunPoint, Store};
use crate::error::Result;

/// An image a lookup matched, in one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub scope_id: i64,
    pub image_id: String,
    /// Name and tag at the point looked at (or of its latest version, over all time).
    pub name: Option<String>,
    pub tag: Option<String>,
}

/// What a lookup found.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// One image id (in one or more scopes).
    Found(Vec<Candidate>),
    /// More than one image id matched; the candidates, sorted by name, tag and id.
    Ambiguous(Vec<Candidate>),
    NotFound,
}

/// What happened to an image in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// First seen in this scope.
    Added,
    /// Its content differs from the run before.
    Changed,
    /// A complete walk of its scope no longer returned it.
    Removed,
    /// Seen again after a removal (same id).
    Returned,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Added => "added",
            Event::Changed => "changed",
            Event::Removed => "removed",
            Event::Returned => "returned",
        }
    }
}

/// One step of an image's history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub scope_id: i64,
    pub run: RunPoint,
    pub event: Event,
    /// For `Changed`, and for `Returned` compared with the object before the removal.
    pub changes: Vec<FieldChange>,
    /// The object from this run on; for `Removed`, the object as last seen.
    pub raw: String,
}

/// Shortest id prefix accepted as a way to name an image.
pub const MIN_ID_PREFIX: usize = 4;

impl Store {
    /// Finds the image `spec` names: an id, a name, `name:tag`, or a unique id prefix, tried in
    /// that order (the first rule that matches anything decides). With `at`, only images in the
    /// catalog at that run count; without, any image the mirror ever held.
    pub fn lookup(&self, spec: &str, at: Option<i64>) -> Result<Lookup> {
        let live =
            "(?2 IS NULL OR (v.valid_from <= ?2 AND (v.valid_to IS NULL OR v.valid_to > ?2)))";
        // Ids are looked up scope by scope (CROSS JOIN keeps scopes the outer loop), so each is
        // a seek in versions_by_image (scope_id, image_id, valid_from), not a scan.
        let by_id = format!(
            "SELECT DISTINCT v.scope_id, v.image_id FROM scopes s
             CROSS JOIN versions v ON v.scope_id = s.id AND v.image_id = ?1 WHERE {live}"
        );
        let by_prefix = format!(
            "SELECT DISTINCT v.scope_id, v.image_id FROM scopes s
             CROSS JOIN versions v ON v.scope_id = s.id
              AND v.image_id >= ?1 AND v.image_id < ?1 || char(1114111) WHERE {live}"
        );
        let keys = |sql: &str| -> Result<Vec<(i64, String)>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map(params![spec, at], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let mut found = keys(&by_id)?;
        if found.is_empty() {
            found = self.by_name(spec, at, live)?;
        }
        if found.is_empty() && spec.chars().count() >= MIN_ID_PREFIX {
            found = keys(&by_prefix)?;
        }
        if found.is_empty() {
            return Ok(Lookup::NotFound);
        }
        let mut candidates = found
            .into_iter()
            .map(|(scope_id, image_id)| self.candidate(scope_id, image_id, at))
            .collect::<Result<Vec<_>>>()?;
        candidates.sort_by(|a, b| {
            (&a.name, &a.tag, &a.image_id, a.scope_id).cmp(&(
                &b.name,
                &b.tag,
                &b.image_id,
                b.scope_id,
            ))
        });
        let first = candidates[0].image_id.clone();
        if candidates.iter().all(|c| c.image_id == first) {
            Ok(Lookup::Found(candidates))
        } else {
            Ok(Lookup::Ambiguous(candidates))
        }
    }

    /// Images whose name is `spec` or, failing that, whose `name:tag` is `spec`: seeks in
    /// version_keys_by_name (migration 8); the tag is read from the few versions of that name.
    fn by_name(&self, spec: &str, at: Option<i64>, live: &str) -> Result<Vec<(i64, String)>> {
        let (name, tag) = spec.split_once(':').unwrap_or((spec, ""));
        let sql = format!(
            "SELECT DISTINCT scope_id, image_id, whole FROM (
                 SELECT v.scope_id, v.image_id, 1 AS whole FROM version_keys v
                 WHERE v.q_name = ?1 AND {live}
                 UNION ALL
                 SELECT v.scope_id, v.image_id, 0 AS whole FROM version_keys v
                 JOIN versions t ON t.id = v.version_id
                 WHERE ?3 <> '' AND v.q_name = ?4 AND t.q_tag = ?3 AND {live})
             ORDER BY scope_id, image_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows: Vec<(i64, String, bool)> = stmt
            .query_map(params![spec, at, tag, name], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, Option<bool>>(2)?.unwrap_or(false),
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let whole_name = rows.iter().any(|r| r.2);
        let mut keys: Vec<(i64, String)> = rows
            .into_iter()
            .filter(|r| r.2 == whole_name)
            .map(|r| (r.0, r.1))
            .collect();
        keys.dedup();
        Ok(keys)
    }

    fn candidate(&self, scope_id: i64, image_id: String, at: Option<i64>) -> Result<Candidate> {
        let (name, tag) = self.conn.query_row(
            "SELECT json_extract(raw, '$.name'), json_extract(raw, '$.tag') FROM versions
             WHERE scope_id = ?1 AND image_id = ?2
             AND (?3 IS NULL OR (valid_from <= ?3 AND (valid_to IS NULL OR valid_to > ?3)))
             ORDER BY valid_from DESC LIMIT 1",
            params![scope_id, image_id, at],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Candidate {
            scope_id,
            image_id,
            name,
            tag,
        })
    }

    /// The object of an image in a scope as of a committed run, if it was in the catalog then.
    pub fn version_at(&self, scope_id: i64, image_id: &str, run_id: i64) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT raw FROM versions WHERE scope_id = ?1 AND image_id = ?2
                 AND valid_from <= ?3 AND (valid_to IS NULL OR valid_to > ?3)",
            )?
            .query_row(params![scope_id, image_id, run_id], |r| r.get(0))
            .optional()?)
    }

    /// Every step of an image's history in one scope, oldest first.
    pub fn history(&self, scope_id: i64, image_id: &str) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.valid_from, rf.finished_at, v.valid_to, rt.finished_at, v.raw
             FROM versions v
             JOIN runs rf ON rf.id = v.valid_from
             LEFT JOIN runs rt ON rt.id = v.valid_to
             WHERE v.scope_id = ?1 AND v.image_id = ?2
             ORDER BY v.valid_from",
        )?;
        type Row = (i64, Option<i64>, Option<i64>, Option<i64>, String);
        let versions: Vec<Row> = stmt
            .query_map(params![scope_id, image_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let point = |run_id: i64, at: Option<i64>| RunPoint {
            run_id,
            finished_at_ms: at.unwrap_or(0),
        };
        let mut out: Vec<HistoryEntry> = Vec::new();
        let mut prev: Option<&Row> = None;
        for (i, v) in versions.iter().enumerate() {
            let (from, from_at, to, to_at, raw) = v;
            let (event, changes) = match prev {
                None => (Event::Added, Vec::new()),
                Some(p) => {
                    let changes = field_changes(&parse_object(&p.4), &parse_object(raw));
                    if p.2 == Some(*from) {
                        (Event::Changed, changes)
                    } else {
                        (Event::Returned, changes)
                    }
                }
            };
            out.push(HistoryEntry {
                scope_id,
                run: point(*from, *from_at),
                event,
                changes,
                raw: raw.clone(),
            });
            let next_starts = versions.get(i + 1).map(|n| n.0);
            if let Some(end) = to {
                if next_starts != Some(*end) {
                    out.push(HistoryEntry {
                        scope_id,
                        run: point(*end, *to_at),
                        event: Event::Removed,
                        changes: Vec::new(),
                        raw: raw.clone(),
                    });
                }
            }
            prev = Some(v);
        }
        Ok(out)
    }
}

/// The history of one image id, over every scope that holds it.
pub struct ImageHistory {
    pub id: String,
    pub entries: Vec<HistoryEntry>,
    /// The scope of each entry, by scope id.
    pub scopes: Vec<(i64, super::ScopeKey)>,
}

impl Store {
    /// The history of the image the candidates found (one id, every scope holding it), oldest
    /// first.
    pub fn image_history(&self, found: &[Candidate]) -> Result<ImageHistory> {
        let mut entries = Vec::new();
        let mut scopes = Vec::new();
        for c in found {
            entries.extend(self.history(c.scope_id, &c.image_id)?);
            scopes.push((c.scope_id, self.scope_key(c.scope_id)?));
        }
        entries.sort_by_key(|e| (e.run.run_id, e.scope_id));
        Ok(ImageHistory {
            id: found
                .first()
                .map(|c| c.image_id.clone())
                .unwrap_or_default(),
            entries,
            scopes,
        })
    }
}

impl ImageHistory {
    /// The scope of `scope_id`, when an entry is in it.
    pub fn scope(&self, scope_id: i64) -> Option<&super::ScopeKey> {
        self.scopes
            .iter()
            .find(|(id, _)| *id == scope_id)
            .map(|(_, k)| k)
    }
}
