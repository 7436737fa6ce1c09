//! The mirror: a SQLite database holding every committed snapshot as versions of images.
//!
//! The schema is `schema.sql` at the top of the repository, embedded here and applied as
//! numbered migrations (see [`schema`]). This module opens and migrates the database, records
//! runs, and answers point-in-time reads; [`snapshot`] writes one run's snapshot, [`diff`]
//! compares two points in time and [`history`] follows one image across runs.

pub mod backup;
pub mod check;
pub mod compare;
pub mod diff;
pub mod feed;
pub mod history;
pub mod query;
pub mod schema;
pub mod snapshot;
pub mod timeline;
pub mod watches;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::api::types::Image;
use crate::error::{Error, Result};
use crate::when::When;

/// One walk target: where the catalog came from and which slice of it was walked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ScopeKey {
    pub endpoint: String,
    pub project_id: String,
    pub workspace_id: String,
    #[serde(rename = "type")]
    pub image_type: String,
    /// Set when the walk was restricted to one SWR organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An open mirror.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A committed, failed or running sync, as `macat runs` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub run_id: i64,
    pub scopes: Vec<ScopeKey>,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub pages: i64,
    pub seen: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub error: Option<String>,
}

/// A scope from a row of (endpoint, project_id, workspace_id, type, namespace), `''` being no
/// namespace.
fn scope_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScopeKey> {
    let ns: String = r.get(4)?;
    Ok(ScopeKey {
        endpoint: r.get(0)?,
        project_id: r.get(1)?,
        workspace_id: r.get(2)?,
        image_type: r.get(3)?,
        namespace: (!ns.is_empty()).then_some(ns),
    })
}

/// The error of a run whose sync process ended without committing or recording a failure
/// (killed, or the machine went down).
pub const ABANDONED: &str = "interrupted: the sync process ended before committing";

impl RunInfo {
    /// Shows a run left `running` by a process that no longer exists as what the next sync
    /// will record it as: failed, [`ABANDONED`].
    pub fn mark_abandoned(&mut self) {
        if self.status == "running" {
            self.status = "failed".into();
            self.finished_at = Some(self.started_at.clone());
            self.error = Some(ABANDONED.into());
        }
    }
}

/// A committed run chosen as a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPoint {
    pub run_id: i64,
    pub finished_at_ms: i64,
}

/// An image in the catalog at some run: the typed view for filtering and sorting, and the
/// object exactly as the API returned it for output.
#[derive(Debug, Clone)]
pub struct LiveImage {
    pub scope_id: i64,
    pub image: Image,
    pub raw: String,
}

/// Formats Unix milliseconds as RFC 3339 UTC (`2026-01-19T06:00:00.123Z`).
pub fn rfc3339_ms(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Store {
    /// Opens (creating if needed) the mirror for writing, migrating it to the current schema.
    pub fn open_or_create(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::bad_path(format!("cannot create {}", dir.display()), e))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Self::open_with(path, flags)
    }

    /// Opens an existing mirror; a missing one is a usage error that says how to make one.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(Error::usage(format!(
                "no mirror at {}: run `macat sync` first (or pass --db)",
                path.display()
            )));
        }
        match Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) {
            Err(e) if is_read_only(path) => {
                tracing::debug!("{e}; opening the mirror read-only");
                Self::open_read_only(path)
            }
            other => other,
        }
    }

    /// Opens a mirror on read-only media (or without write permission) for reading. It must
    /// already have this build's schema: migrating needs write access.
    fn open_read_only(path: &Path) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let version =
            |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0));
        let (conn, version) = match Connection::open_with_flags(path, flags)
            .and_then(|c| version(&c).map(|v| (c, v)))
        {
            Ok(opened) => opened,
            // On read-only media SQLite cannot create the WAL's shared-memory file; nobody can
            // write there either, so the file can be read as immutable.
            Err(_) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(&uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .and_then(|c| version(&c).map(|v| (c, v)))
                    .map_err(|e| open_error(path, e))?
            }
        };
        query::register_functions(&conn)?;
        let latest = schema::latest_version();
        if version != latest {
            return Err(Error::usage(format!(
                "the mirror at {} is read-only and has schema version {version}, not {latest}: \
                 open it once with write access to migrate it",
                path.display()
            )));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Caps this connection's page cache (the default, 16 MiB, is for the writes of a sync; a
    /// reader that streams the tables once gains nothing from caching them).
    pub fn set_cache_mib(&self, mib: u32) -> Result<()> {
        self.conn
            .execute_batch(&format!("PRAGMA cache_size = -{};", u64::from(mib) * 1024))?;
        Ok(())
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Store> {
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
        query::register_functions(&conn)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // 16 MiB of page cache: a first sync of 100,000 images is no faster with 64 (BENCHMARKS.md).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -16384;",
        )
        .map_err(|e| open_error(path, e))?;
        schema::migrate(&conn).map_err(|e| e.at_mirror(path))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a run: records it as running (committed at once, so `macat runs` shows it) and
    /// returns its id with the ids of its scopes.
    pub fn begin_run(&mut self, scopes: &[ScopeKey]) -> Result<(i64, Vec<i64>)> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO runs (started_at, status) VALUES (?1, 'running')",
            [now_ms()],
        )?;
        let run_id = tx.last_insert_rowid();
        let mut ids = Vec::with_capacity(scopes.len());
        for s in scopes {
            // The scope is the catalog slice (project, workspace, type); the endpoint is only
            // where this run fetched it from, and a namespace limits this run's walk.
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM scopes WHERE project_id = ?1 AND workspace_id = ?2
                     AND type = ?3 AND namespace = '' ORDER BY id LIMIT 1",
                    params![s.project_id, s.workspace_id, s.image_type],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE scopes SET endpoint = ?2 WHERE id = ?1",
                        params![id, s.endpoint],
                    )?;
                    id
                }
                None => {
                    tx.execute(
                        "INSERT INTO scopes (endpoint, project_id, workspace_id, type, namespace)
                         VALUES (?1, ?2, ?3, ?4, '')",
                        params![s.endpoint, s.project_id, s.workspace_id, s.image_type],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            tx.execute(
                "INSERT OR IGNORE INTO run_scopes (run_id, scope_id, endpoint, namespace)
                 VALUES (?1, ?2, ?3, ?4)",
                params![run_id, id, s.endpoint, s.namespace.as_deref().unwrap_or("")],
            )?;
            ids.push(id);
        }
        tx.commit()?;
        Ok((run_id, ids))
    }

    /// Records why a run failed. The snapshot it was writing has already been rolled back.
    pub fn fail_run(&self, run_id: i64, error: &str, pages: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET status = 'failed', error = ?2, finished_at = ?3, pages = ?4
             WHERE id = ?1 AND status = 'running'",
            params![run_id, error, now_ms(), pages as i64],
        )?;
        Ok(())
    }

    /// Marks runs left 'running' by a process that died (only called while holding the sync
    /// lock, so no live process owns them).
    pub fn fail_abandoned_runs(&self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE runs SET status = 'failed', finished_at = started_at, error = ?1
             WHERE status = 'running'",
            [ABANDONED],
        )?)
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunInfo>> {
        let mut scopes_of = self.conn.prepare(
            "SELECT coalesce(rs.endpoint, s.endpoint), s.project_id, s.workspace_id, s.type,
                    CASE WHEN rs.namespace != '' THEN rs.namespace ELSE s.namespace END
             FROM run_scopes rs JOIN scopes s ON s.id = rs.scope_id
             WHERE rs.run_id = ?1 ORDER BY s.id",
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT id, status, started_at, finished_at, pages, seen, added, changed, removed, error
             FROM runs ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RunInfo {
                run_id: r.get(0)?,
                scopes: Vec::new(),
                status: r.get(1)?,
                started_at: rfc3339_ms(r.get(2)?),
                finished_at: r.get::<_, Option<i64>>(3)?.map(rfc3339_ms),
                pages: r.get(4)?,
                seen: r.get(5)?,
                added: r.get(6)?,
                changed: r.get(7)?,
                removed: r.get(8)?,
                error: r.get(9)?,
            })
        })?;
        let mut out = Vec::new();
        for run in rows {
            let mut run = run?;
            run.scopes = scopes_of
                .query_map([run.run_id], scope_key)?
                .collect::<rusqlite::Result<_>>()?;
            out.push(run);
        }
        Ok(out)
    }

    /// The committed run a point in time refers to: the last one at or before it.
    pub fn resolve(&self, when: &When) -> Result<RunPoint> {
        let Some(RunPoint {
            finished_at_ms: first_at,
            ..
        }) = self.first_committed()?
        else {
            return Err(Error::usage(format!(
                "the mirror at {} has no committed run yet: run `macat sync` first",
                self.path.display()
            )));
        };
        let point = |sql: &str, arg: i64| -> Result<Option<RunPoint>> {
            Ok(self
                .conn
                .query_row(sql, [arg], |r| {
                    Ok(RunPoint {
                        run_id: r.get(0)?,
                        finished_at_ms: r.get(1)?,
                    })
                })
                .optional()?)
        };
        match when {
            When::Latest => point(
                "SELECT id, finished_at FROM runs WHERE status = 'committed' AND id <= ?1
                 ORDER BY id DESC LIMIT 1",
                i64::MAX,
            )?
            .ok_or_else(|| Error::internal("no committed run")),
            When::Run(n) => {
                let status: Option<String> = self
                    .conn
                    .query_row("SELECT status FROM runs WHERE id = ?1", [n], |r| r.get(0))
                    .optional()?;
                match status.as_deref() {
                    None => Err(Error::usage(format!(
                        "there is no run {n} (see `macat runs`)"
                    ))),
                    Some("committed") => {
                        point("SELECT id, finished_at FROM runs WHERE id = ?1", *n)?
                            .ok_or_else(|| Error::internal("run vanished"))
                    }
                    Some(s) => Err(Error::usage(format!(
                        "run {n} is {s}, not committed: it is not a point in time"
                    ))),
                }
            }
            When::At(t) => point(
                "SELECT id, finished_at FROM runs WHERE status = 'committed' AND finished_at <= ?1
                 ORDER BY finished_at DESC, id DESC LIMIT 1",
                t.timestamp_millis(),
            )?
            .ok_or_else(|| {
                Error::usage(format!(
                    "{} is before the first committed run ({})",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    rfc3339_ms(first_at)
                ))
            }),
        }
    }

    /// Calls `f` with every image live at committed run `run_id`, as raw JSON, sorted by id.
    pub fn for_each_live(&self, run_id: i64, mut f: impl FnMut(&str) -> Result<()>) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT raw FROM versions
             WHERE valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1)
             ORDER BY image_id, scope_id",
        )?;
        let mut rows = stmt.query([run_id])?;
        while let Some(row) = rows.next()? {
            let raw = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            f(raw)?;
        }
        Ok(())
    }

    /// The stored object of image `id` live at committed run `run_id` in one of `scopes` (the
    /// lowest scope id when several hold it).
    pub fn live_raw_in_scopes(
        &self,
        run_id: i64,
        id: &str,
        scopes: &[i64],
    ) -> Result<Option<String>> {
        let mut scopes = scopes.to_vec();
        scopes.sort_unstable();
        for scope in scopes {
            if let Some(raw) = self.version_at(scope, id, run_id)? {
                return Ok(Some(raw));
            }
        }
        Ok(None)
    }

    /// How many images are live at committed run `run_id`.
    pub fn live_count(&self, run_id: i64) -> Result<u64> {
        // version_keys: the same rows as versions, a tenth of the bytes to read.
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM version_keys
             WHERE valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1)",
            [run_id],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Every image live at committed run `run_id`, in storage order, parsed for querying.
    pub fn live_images(&self, run_id: i64) -> Result<Vec<LiveImage>> {
        // No ORDER BY: sorting the stored objects costs more than reading them, and every
        // caller sorts by its own keys.
        let mut stmt = self.conn.prepare(
            "SELECT scope_id, raw FROM versions
             WHERE valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1)",
        )?;
        let rows: Vec<(i64, String)> = stmt
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // Parsing is most of the cost of reading a large catalog: spread it over the cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let chunk = rows.len().div_ceil(threads).max(1);
        let parsed: Vec<Result<Vec<Image>>> = std::thread::scope(|s| {
            let workers: Vec<_> = rows
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|(_, raw)| {
                                serde_json::from_str::<Image>(raw).map_err(|e| {
                                    Error::internal(format!("a stored image does not parse: {e}"))
                                })
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(Error::internal("a parsing thread panicked")))
                })
                .collect()
        });
        let mut images = Vec::with_capacity(rows.len());
        for part in parsed {
            images.extend(part?);
        }
        Ok(rows
            .into_iter()
            .zip(images)
            .map(|((scope_id, raw), image)| LiveImage {
                scope_id,
                image,
                raw,
            })
            .collect())
    }

    /// The two points a comparison reads (`diff`, `watch check`): `to`, and `from` or, when it
    /// is not given, the committed run before `to`.
    pub fn comparison(&self, from: Option<&When>, to: &When) -> Result<(RunPoint, RunPoint)> {
        let to = self.resolve(to)?;
        let from = match from {
            Some(w) => self.resolve(w)?,
            None => self.committed_before(to.run_id)?.ok_or_else(|| {
                Error::usage(format!(
                    "run {} is the first committed run: there is nothing before it to compare \
                     with (pass --from, or sync again)",
                    to.run_id
                ))
            })?,
        };
        Ok((from, to))
    }

    /// The mirror's first committed run.
    pub fn first_committed(&self) -> Result<Option<RunPoint>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, finished_at FROM runs WHERE status = 'committed' ORDER BY id LIMIT 1",
                [],
                |r| {
                    Ok(RunPoint {
                        run_id: r.get(0)?,
                        finished_at_ms: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// The last committed run before `run_id` (the default "from" of a diff).
    pub fn committed_before(&self, run_id: i64) -> Result<Option<RunPoint>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, finished_at FROM runs WHERE status = 'committed' AND id < ?1
                 ORDER BY id DESC LIMIT 1",
                [run_id],
                |r| {
                    Ok(RunPoint {
                        run_id: r.get(0)?,
                        finished_at_ms: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// The walk target a scope id stands for.
    pub fn scope_key(&self, scope_id: i64) -> Result<ScopeKey> {
        Ok(self.conn.query_row(
            "SELECT endpoint, project_id, workspace_id, type, namespace FROM scopes WHERE id = ?1",
            [scope_id],
            scope_key,
        )?)
    }

    /// Every scope the mirror holds (any run), by id.
    pub fn scopes(&self) -> Result<Vec<(i64, ScopeKey)>> {
        let mut stmt = self.conn.prepare(
            "SELECT endpoint, project_id, workspace_id, type, namespace, id FROM scopes ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(5)?, scope_key(r)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The projects the mirror holds (any scope, any run).
    pub fn projects(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT project_id FROM scopes ORDER BY project_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The ids of the scopes of one project (none when the mirror does not hold it).
    pub fn scope_ids_of_project(&self, project_id: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM scopes WHERE project_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([project_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Like [`for_each_live`](Self::for_each_live), for the scopes of one project.
    pub fn for_each_live_in_project(
        &self,
        run_id: i64,
        project_id: &str,
        mut f: impl FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT v.raw FROM versions v JOIN scopes s ON s.id = v.scope_id
             WHERE s.project_id = ?2 AND v.valid_from <= ?1
               AND (v.valid_to IS NULL OR v.valid_to > ?1)
             ORDER BY v.image_id, v.scope_id",
        )?;
        let mut rows = stmt.query(rusqlite::params![run_id, project_id])?;
        while let Some(row) = rows.next()? {
            let raw = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            f(raw)?;
        }
        Ok(())
    }

    /// The changes a committed run recorded: (kind, image id, name, fields), sorted by kind and id.
    pub fn changes_of(&self, run_id: i64) -> Result<Vec<RecordedChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.kind, c.image_id, c.fields,
                    (SELECT json_extract(v.raw, '$.name') FROM versions v
                     WHERE v.scope_id = c.scope_id AND v.image_id = c.image_id
                     AND v.valid_from <= c.run_id ORDER BY v.valid_from DESC LIMIT 1)
             FROM changes c WHERE c.run_id = ?1 ORDER BY c.kind, c.image_id",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            let fields: Option<String> = r.get(2)?;
            Ok(RecordedChange {
                kind: r.get(0)?,
                image_id: r.get(1)?,
                fields: fields
                    .and_then(|f| serde_json::from_str(&f).ok())
                    .unwrap_or_default(),
                name: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// One row of a run's change log.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedChange {
    pub kind: String,
    pub image_id: String,
    pub name: Option<String>,
    pub fields: Vec<String>,
}

/// A path for an SQLite `file:` URI (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Whether the mirror cannot be written: its file or its directory (where SQLite keeps the WAL).
fn is_read_only(path: &Path) -> bool {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = std::fs::OpenOptions::new().append(true).open(path);
    file.err().is_some_and(|e| crate::error::is_read_only(&e))
        || tempfile::tempfile_in(dir)
            .err()
            .is_some_and(|e| crate::error::is_read_only(&e))
}

/// Why SQLite could not open the mirror at `path`, by its result code.
fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        // Before anything was read: the file was never SQLite (after that, it is damage).
        Some(ErrorCode::NotADatabase) => Error::NotADatabase {
            path: path.to_path_buf(),
            source: e,
        },
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            Error::CannotOpen {
                path: path.to_path_buf(),
                source: e,
            }
        }
        Some(ErrorCode::DatabaseCorrupt) => Error::Damaged {
            path: Some(path.to_path_buf()),
            source: e,
        },
        _ => Error::Database {
            context: format!("cannot open {}", path.display()),
            source: e,
        },
    }
}

/// Turns a point in time from milliseconds into a DateTime (for messages and JSON).
pub fn datetime_ms(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_sqlite_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(
            &path,
            "plain text, long enough to hold an SQLite header...".repeat(4),
        )
        .unwrap();
        let e = Store::open_existing(&path).err().unwrap();
        assert!(matches!(e, Error::NotADatabase { .. }), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("not a macat database"), "{e}");
    }

    #[test]
    fn what_sqlite_cannot_open_or_write_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        // A file that is not there, opened read-only: SQLITE_CANTOPEN.
        let missing = dir.path().join("missing.db");
        let e = Connection::open_with_flags(&missing, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map(drop)
            .map_err(|e| open_error(&missing, e))
            .unwrap_err();
        assert!(matches!(e, Error::CannotOpen { .. }), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        // A mirror opened read-only and written: SQLITE_READONLY.
        let path = dir.path().join("m.db");
        drop(Store::open_or_create(&path).unwrap());
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let e = conn
            .execute_batch("INSERT INTO runs (started_at, status) VALUES (0, 'running')")
            .map_err(|e| open_error(&path, e))
            .unwrap_err();
        assert!(matches!(e, Error::CannotOpen { .. }), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("readonly"), "{e}");
    }

    #[test]
    fn a_damaged_mirror_says_so_and_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut store = Store::open_or_create(&path).unwrap();
        store.begin_run(&[]).unwrap();
        let root: usize = store
            .conn()
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'runs'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        drop(store);
        // Keep the header and the schema (which spans several pages), overwrite the runs table.
        let mut bytes = std::fs::read(&path).unwrap();
        let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
        assert!(bytes.len() >= page * root, "the runs table is in the file");
        bytes[page * (root - 1)..page * root].fill(0xA5);
        std::fs::write(&path, &bytes).unwrap();
        // Found on opening (the schema check reads the tables) or on the first read.
        let e = match Store::open_existing(&path) {
            Err(e) => e,
            Ok(store) => store.runs().unwrap_err(),
        };
        assert!(matches!(e, Error::Damaged { .. }), "{e:?}");
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("damaged"), "{e}");
        assert!(e.to_string().contains("run `macat check`"), "{e}");
    }
}
