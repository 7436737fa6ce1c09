//! The catalog over time, for charts: its size per image type after each committed run.
//!
//! Sizes are not counted run by run (a scan of the catalog per run); each run's net change per
//! type is the versions it started less the versions it ended (a change ends one version and
//! starts another), so two grouped passes over the versions give every run's size.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{RunPoint, Store};
use crate::error::Result;

/// The catalog's size per type after each committed run, oldest run first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The image types (the scopes' `type`), sorted.
    pub types: Vec<String>,
    /// Each committed run, with the number of images of each of `types` after it.
    pub runs: Vec<(RunPoint, Vec<i64>)>,
}

impl Store {
    /// The size of the catalog per type after every committed run up to `until` (inclusive).
    pub fn timeline(&self, until: i64) -> Result<Timeline> {
        let mut delta: HashMap<(String, i64), i64> = HashMap::new();
        let mut types = BTreeSet::new();
        for (sql, sign) in [
            (
                "SELECT s.type, v.valid_from, count(*) FROM versions v
                 JOIN scopes s ON s.id = v.scope_id GROUP BY s.type, v.valid_from",
                1,
            ),
            (
                "SELECT s.type, v.valid_to, count(*) FROM versions v
                 JOIN scopes s ON s.id = v.scope_id WHERE v.valid_to IS NOT NULL
                 GROUP BY s.type, v.valid_to",
                -1,
            ),
        ] {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (t, run, n) = row?;
                types.insert(t.clone());
                *delta.entry((t, run)).or_default() += sign * n;
            }
        }
        let types: Vec<String> = types.into_iter().collect();
        let mut stmt = self.conn.prepare(
            "SELECT id, finished_at FROM runs WHERE status = 'committed' AND id <= ?1 ORDER BY id",
        )?;
        let points = stmt
            .query_map([until], |r| {
                Ok(RunPoint {
                    run_id: r.get(0)?,
                    finished_at_ms: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut size: BTreeMap<&str, i64> = types.iter().map(|t| (t.as_str(), 0)).collect();
        let mut runs = Vec::with_capacity(points.len());
        for p in points {
            for t in &types {
                if let Some(d) = delta.get(&(t.clone(), p.run_id)) {
                    *size.get_mut(t.as_str()).expect("every type is counted") += d;
                }
            }
            runs.push((p, types.iter().map(|t| size[t.as_str()]).collect()));
        }
        Ok(Timeline { types, runs })
    }
}
