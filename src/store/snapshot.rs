//! Writes one run's snapshot: versions for new and changed images, removals, the change log.
//!
//! The whole run is one transaction. Each scope is a savepoint inside it, so a walk that has
//! to start over (the catalog changed under it) rolls back only its own scope. Nothing is
//! visible to readers until [`SnapshotWriter::commit`]; dropping the writer rolls everything
//! back, which is what a failed or interrupted run relies on.
//!
//! An unchanged image costs one hash comparison and no write: the live versions of a scope are
//! loaded once as `id -> (row, hash)`, and every image the walk returns is taken off that map.
//! What is left when the scope's walk completes was removed from the catalog.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use crate::api::types::Item;
use crate::error::Result;
use crate::store::diff::{field_changes, parse_object};
use crate::store::feed::IndexedVersion;
use crate::store::now_ms;

/// What one run (or one scope of it) did to the mirror.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub seen: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.seen += o.seen;
        self.added += o.added;
        self.changed += o.changed;
        self.removed += o.removed;
    }
}

struct ScopeState {
    scope_id: i64,
    namespace: Option<String>,
    live: HashMap<String, (i64, [u8; 16])>,
    counts: Counts,
}

/// Told of each version a run writes, as it writes it: the first search index of a mirror is
/// built from these while its first sync walks. It hears of versions added, not of versions
/// ended, so it is for a mirror's first run.
pub trait VersionSink: Send {
    fn added(&mut self, v: IndexedVersion);
    /// The scope's walk starts over: the versions it wrote so far are gone.
    fn scope_restarted(&mut self, scope_id: i64);
}

/// The open transaction of one run.
pub struct SnapshotWriter<'c> {
    conn: &'c Connection,
    run_id: i64,
    scope: Option<ScopeState>,
    totals: Counts,
    open: bool,
    sink: Option<Box<dyn VersionSink>>,
    /// The mirror's first run: `version_keys` is filled at once when it commits.
    keys_deferred: bool,
}

impl<'c> SnapshotWriter<'c> {
    /// Opens the run's transaction (taking the database's write lock).
    pub fn begin(conn: &'c Connection, run_id: i64) -> Result<Self> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut w = SnapshotWriter {
            conn,
            run_id,
            scope: None,
            totals: Counts::default(),
            open: true,
            sink: None,
            keys_deferred: false,
        };
        // Dropped from here on, the writer rolls back the marker with everything else.
        w.keys_deferred =
            conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM versions)", [], |r| {
                r.get(0)
            })?;
        if w.keys_deferred {
            conn.execute(
                "INSERT INTO version_keys_deferred (run_id) VALUES (?1)",
                [run_id],
            )?;
        }
        Ok(w)
    }

    /// Tells `sink` of every version this run writes.
    pub fn with_sink(mut self, sink: Box<dyn VersionSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Starts (or, after [`restart_scope`](Self::restart_scope), restarts) a scope's walk.
    /// A walk limited to one namespace covers only that namespace's images: the others can be
    /// neither updated nor removed by it.
    pub fn start_scope(&mut self, scope_id: i64, namespace: Option<&str>) -> Result<()> {
        self.conn.execute_batch("SAVEPOINT scope")?;
        // From version_keys: the same versions' ids and hashes, without reading their objects.
        let mut stmt = self.conn.prepare_cached(
            "SELECT image_id, version_id, hash FROM version_keys
             WHERE scope_id = ?1 AND valid_to IS NULL AND (?2 IS NULL OR q_namespace = ?2)",
        )?;
        let mut live = HashMap::new();
        let mut rows = stmt.query(params![scope_id, namespace])?;
        while let Some(r) = rows.next()? {
            let hash: Vec<u8> = r.get(2)?;
            let mut h = [0u8; 16];
            if hash.len() == 16 {
                h.copy_from_slice(&hash);
            }
            live.insert(r.get::<_, String>(0)?, (r.get::<_, i64>(1)?, h));
        }
        self.scope = Some(ScopeState {
            scope_id,
            namespace: namespace.map(str::to_string),
            live,
            counts: Counts::default(),
        });
        Ok(())
    }

    /// Throws away what the current scope's walk wrote, to walk it again.
    pub fn restart_scope(&mut self) -> Result<()> {
        let (scope_id, namespace) = {
            let s = self.current()?;
            (s.scope_id, s.namespace.clone())
        };
        self.conn
            .execute_batch("ROLLBACK TO scope; RELEASE scope")?;
        if let Some(sink) = self.sink.as_mut() {
            sink.scope_restarted(scope_id);
        }
        self.start_scope(scope_id, namespace.as_deref())
    }

    fn current(&mut self) -> Result<&mut ScopeState> {
        self.scope
            .as_mut()
            .ok_or_else(|| crate::error::Error::internal("no scope started"))
    }

    /// Records images from one page. Each id must be given once per scope walk.
    pub fn add_items(&mut self, items: &[Item]) -> Result<()> {
        let run_id = self.run_id;
        let conn = self.conn;
        let scope = self
            .scope
            .as_mut()
            .ok_or_else(|| crate::error::Error::internal("no scope started"))?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO versions (scope_id, image_id, valid_from, hash, raw)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut close = conn.prepare_cached("UPDATE versions SET valid_to = ?2 WHERE id = ?1")?;
        let mut old_raw = conn.prepare_cached("SELECT raw FROM versions WHERE id = ?1")?;
        let mut log = conn.prepare_cached(
            "INSERT INTO changes (run_id, scope_id, image_id, kind, fields)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for item in items {
            scope.counts.seen += 1;
            let id = item.image.id.as_str();
            let previous = scope.live.remove(id);
            if let Some((_, hash)) = previous {
                if hash == item.hash {
                    continue;
                }
            }
            insert.execute(params![
                scope.scope_id,
                id,
                run_id,
                &item.hash[..],
                item.raw
            ])?;
            if let Some(sink) = self.sink.as_mut() {
                sink.added(IndexedVersion {
                    version_id: conn.last_insert_rowid(),
                    scope_id: scope.scope_id,
                    image_id: id.to_string(),
                    valid_from: run_id,
                    valid_to: None,
                    raw: item.raw.clone(),
                });
            }
            match previous {
                None => {
                    log.execute(params![run_id, scope.scope_id, id, "added", None::<String>])?;
                    scope.counts.added += 1;
                }
                Some((row, _)) => {
                    let before: String = old_raw.query_row([row], |r| r.get(0))?;
                    let fields = changed_fields(&before, &item.raw);
                    close.execute(params![row, run_id])?;
                    let fields = serde_json::to_string(&fields).unwrap_or_default();
                    log.execute(params![run_id, scope.scope_id, id, "changed", fields])?;
                    scope.counts.changed += 1;
                }
            }
        }
        Ok(())
    }

    /// Ends a complete walk of the scope: whatever it did not return has been removed.
    pub fn end_scope(&mut self) -> Result<Counts> {
        let run_id = self.run_id;
        let scope = self
            .scope
            .take()
            .ok_or_else(|| crate::error::Error::internal("no scope started"))?;
        let mut close = self
            .conn
            .prepare_cached("UPDATE versions SET valid_to = ?2 WHERE id = ?1")?;
        let mut log = self.conn.prepare_cached(
            "INSERT INTO changes (run_id, scope_id, image_id, kind, fields)
             VALUES (?1, ?2, ?3, 'removed', NULL)",
        )?;
        let mut counts = scope.counts;
        for (id, (row, _)) in &scope.live {
            close.execute(params![row, run_id])?;
            log.execute(params![run_id, scope.scope_id, id])?;
            counts.removed += 1;
        }
        self.conn.execute_batch("RELEASE scope")?;
        self.totals.add(counts);
        Ok(counts)
    }

    /// Commits the snapshot and marks the run committed. Returns the run's totals.
    pub fn commit(mut self, pages: u64) -> Result<Counts> {
        // The sink has heard of every version: told now (dropped), it finishes its work while
        // the transaction commits.
        self.sink = None;
        if self.keys_deferred {
            fill_version_keys(self.conn)?;
        }
        let t = self.totals;
        self.conn.execute(
            "UPDATE runs SET status = 'committed', finished_at = ?2, pages = ?3, seen = ?4,
             added = ?5, changed = ?6, removed = ?7 WHERE id = ?1",
            params![
                self.run_id,
                now_ms(),
                pages as i64,
                t.seen as i64,
                t.added as i64,
                t.changed as i64,
                t.removed as i64
            ],
        )?;
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(t)
    }
}

impl Drop for SnapshotWriter<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Fills `version_keys` from every version at once, in key order, its indexes built after it
/// (a mirror's first run, see `version_keys_deferred` in schema.sql), and lets the triggers
/// keep it from then on.
fn fill_version_keys(conn: &Connection) -> Result<()> {
    let indexes: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'index' AND tbl_name = 'version_keys' AND sql IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &indexes {
        conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    conn.execute_batch(
        "INSERT INTO version_keys SELECT * FROM version_keys_of ORDER BY 1, 2, 3, 4, 5;
         DELETE FROM version_keys_deferred;",
    )?;
    for (_, sql) in &indexes {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// The top-level fields whose values differ between two objects (a field present on one side
/// only counts as changed), sorted by name: the names of [`field_changes`], which `diff` and
/// `history` use too, so the change log and a computed diff cannot disagree.
pub fn changed_fields(before: &str, after: &str) -> Vec<String> {
    field_changes(&parse_object(before), &parse_object(after))
        .into_iter()
        .map(|c| c.field)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ScopeKey, Store};

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_first_run_fills_version_keys_when_it_commits_and_later_runs_through_triggers() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("m.db")).unwrap();
        let scope = ScopeKey {
            endpoint: "https://e".into(),
            project_id: "p".into(),
            workspace_id: "0".into(),
            image_type: "BUILD_IN".into(),
            namespace: None,
        };
        let item = |id: &str, name: &str, created: i64| {
            let v = serde_json::json!({"id": id, "name": name, "type": "BUILD_IN", "create_at": created});
            Item::from_value(&v).unwrap()
        };
        let days = [
            vec![item("a", "x", 1), item("b", "y", 2)],
            vec![item("a", "x2", 1), item("c", "z", 3)],
        ];
        for (day, items) in days.iter().enumerate() {
            let (run_id, scope_ids) = store.begin_run(std::slice::from_ref(&scope)).unwrap();
            let mut w = SnapshotWriter::begin(store.conn(), run_id).unwrap();
            w.start_scope(scope_ids[0], None).unwrap();
            w.add_items(items).unwrap();
            if day == 0 {
                // Written at commit, not row by row.
                assert_eq!(
                    count(&store, "SELECT count(*) FROM version_keys_deferred"),
                    1
                );
                assert_eq!(count(&store, "SELECT count(*) FROM version_keys"), 0);
            }
            w.end_scope().unwrap();
            w.commit(1).unwrap();
            assert_eq!(
                count(&store, "SELECT count(*) FROM version_keys_deferred"),
                0
            );
            assert_eq!(
                count(&store, crate::store::check::KEYS_APART),
                0,
                "day {day}"
            );
            assert_eq!(
                count(&store, "SELECT count(*) FROM version_keys"),
                count(&store, "SELECT count(*) FROM versions")
            );
        }
        // The index dropped for the fill is back.
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM sqlite_schema WHERE name = 'version_keys_by_name'"
            ),
            1
        );
    }

    #[test]
    fn changed_fields_counts_one_sided_fields() {
        let f = changed_fields(
            r#"{"id":"a","tag":"1","size":5,"gone":true}"#,
            r#"{"id":"a","tag":"2","size":5,"new":null}"#,
        );
        assert_eq!(f, ["gone", "new", "tag"]);
    }
}
