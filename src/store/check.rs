//! The mirror's health, read without writing anything (`macat check`): the schema version,
//! SQLite's own page check, and the history's invariants.
//!
//! The invariants (see `schema.sql` and [`super::snapshot`], which keeps them):
//! - **versions do not overlap**: the versions of one image in one scope, ordered by
//!   `valid_from`, each end (`valid_to`) at or before the next one starts, only the last may be
//!   open (`valid_to` NULL), and none ends before it starts;
//! - **versions belong to committed runs**: every `valid_from` and `valid_to` names a committed
//!   run (a failed or running run's writes are never visible);
//! - **changes point at versions**: an `added` row of run R has a version of that image starting
//!   at R; a `changed` row has one starting at R and one ending at R; a `removed` row has one
//!   ending at R;
//! - **counts match**: a committed run's `added`, `changed`, `removed` equal its change rows of
//!   each kind, the versions starting at it number `added + changed`, and those ending at it
//!   `changed + removed`;
//! - **query keys match versions**: `version_keys` (what `list` and `serve` filter and page on)
//!   holds exactly one row per version, with that version's keys.
//!
//! A check that cannot be run because the database fails under it fails with SQLite's message:
//! a damaged file never stops the other checks from reporting.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::feed::CommittedState;
use super::{schema, Store};

/// What a failed check means a person should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// The database itself is damaged or inconsistent: restore a backup.
    RestoreBackup,
    /// Only the derived search index is off: rebuild it.
    Reindex,
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub ok: bool,
    /// One line: what was found.
    pub detail: String,
    /// What to do when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

impl CheckResult {
    fn pass(name: &'static str, detail: String) -> CheckResult {
        CheckResult {
            name,
            ok: true,
            detail,
            remedy: None,
        }
    }

    pub fn fail(name: &'static str, detail: String, remedy: Remedy) -> CheckResult {
        CheckResult {
            name,
            ok: false,
            detail,
            remedy: Some(remedy),
        }
    }
}

/// The database's checks, and the committed state an index must agree with (when it could be
/// read).
pub struct DatabaseHealth {
    pub checks: Vec<CheckResult>,
    pub state: Option<CommittedState>,
    /// Rows of `versions` (each is one document of the search index).
    pub versions: Option<i64>,
}

/// Opens the mirror at `path` read-only (nothing is migrated or repaired) and checks it.
/// `read_data` runs SQLite's full `integrity_check` instead of `quick_check`.
pub fn check_database(path: &Path, read_data: bool) -> crate::error::Result<DatabaseHealth> {
    if !path.exists() {
        return Err(crate::error::Error::usage(format!(
            "no mirror at {}: run `macat sync` first (or pass --db)",
            path.display()
        )));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(path, flags) {
        Ok(c) => c,
        Err(e) => {
            return Ok(DatabaseHealth {
                checks: vec![CheckResult::fail(
                    "open",
                    format!("the database cannot be opened: {e}"),
                    Remedy::RestoreBackup,
                )],
                state: None,
                versions: None,
            })
        }
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(10));
    let store = Store {
        conn,
        path: path.to_path_buf(),
    };
    Ok(check_store(&store, read_data))
}

/// The checks on an open mirror, in one read transaction (a sync committing meanwhile is
/// wholly seen or not at all).
pub fn check_store(store: &Store, read_data: bool) -> DatabaseHealth {
    let conn = &store.conn;
    let tx = conn.unchecked_transaction().ok();
    let mut checks = vec![schema_version(conn), pages(conn, read_data)];
    checks.push(invariant(conn, "versions_do_not_overlap", OVERLAPS, |n| {
        format!("{n} version(s) overlap the next version of their image or end before they start")
    }));
    checks.push(invariant(
        conn,
        "versions_in_committed_runs",
        OUTSIDE_COMMITTED,
        |n| format!("{n} version(s) start or end in a run that is not committed"),
    ));
    checks.push(invariant(
        conn,
        "changes_point_at_versions",
        DANGLING_CHANGES,
        |n| format!("{n} change row(s) have no version where they say the image started or ended"),
    ));
    checks.push(run_counts(conn));
    checks.push(query_keys(conn));
    let state = store.committed_state().ok().flatten();
    let versions = conn
        .query_row("SELECT count(*) FROM versions", [], |r| r.get(0))
        .ok();
    drop(tx);
    DatabaseHealth {
        checks,
        state,
        versions,
    }
}

fn schema_version(conn: &Connection) -> CheckResult {
    const NAME: &str = "schema";
    let latest = schema::latest_version();
    match conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0)) {
        Ok(v) if v == latest => CheckResult::pass(NAME, format!("version {v} (current)")),
        Ok(v) if v < latest => CheckResult::pass(
            NAME,
            format!("version {v}, migrated to {latest} when next opened for writing"),
        ),
        Ok(v) => CheckResult::fail(
            NAME,
            format!("version {v} is newer than this macat knows ({latest}): upgrade macat"),
            Remedy::RestoreBackup,
        ),
        Err(e) => CheckResult::fail(
            NAME,
            format!("cannot read the version: {e}"),
            Remedy::RestoreBackup,
        ),
    }
}

fn pages(conn: &Connection, read_data: bool) -> CheckResult {
    let (name, pragma) = if read_data {
        ("integrity_check", "PRAGMA integrity_check(20)")
    } else {
        ("quick_check", "PRAGMA quick_check(20)")
    };
    let rows = conn.prepare(pragma).and_then(|mut s| {
        s.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    });
    match rows {
        Ok(rows) if rows == ["ok"] => CheckResult::pass(name, "ok".into()),
        Ok(rows) => CheckResult::fail(
            name,
            format!(
                "{} problem(s), first: {}",
                rows.len(),
                rows.first().map_or("", String::as_str)
            ),
            Remedy::RestoreBackup,
        ),
        Err(e) => CheckResult::fail(name, format!("cannot run: {e}"), Remedy::RestoreBackup),
    }
}

const OVERLAPS: &str = "
    SELECT count(*) FROM (
        SELECT valid_from, valid_to,
               lead(valid_from) OVER (PARTITION BY scope_id, image_id ORDER BY valid_from) AS next
        FROM versions)
    WHERE (valid_to IS NOT NULL AND valid_to <= valid_from)
       OR (next IS NOT NULL AND (valid_to IS NULL OR valid_to > next))";

const OUTSIDE_COMMITTED: &str = "
    SELECT count(*) FROM versions v
    WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = v.valid_from AND r.status = 'committed')
       OR (v.valid_to IS NOT NULL AND NOT EXISTS
            (SELECT 1 FROM runs r WHERE r.id = v.valid_to AND r.status = 'committed'))";

const DANGLING_CHANGES: &str = "
    SELECT count(*) FROM changes c
    WHERE (c.kind IN ('added', 'changed') AND NOT EXISTS (SELECT 1 FROM versions v
              WHERE v.scope_id = c.scope_id AND v.image_id = c.image_id
                AND v.valid_from = c.run_id))
       OR (c.kind IN ('changed', 'removed') AND NOT EXISTS (SELECT 1 FROM versions v
              WHERE v.scope_id = c.scope_id AND v.image_id = c.image_id
                AND v.valid_to = c.run_id))";

/// Rows `version_keys` lacks or has beyond what the versions imply (`version_keys_of`).
pub(crate) const KEYS_APART: &str = "
    SELECT (SELECT count(*) FROM (SELECT * FROM version_keys_of EXCEPT SELECT * FROM version_keys))
         + (SELECT count(*) FROM (SELECT * FROM version_keys EXCEPT SELECT * FROM version_keys_of))";

/// `version_keys` against `versions` (from schema 8 on; an older mirror gains the table, built
/// from its versions, when it is next opened for writing).
fn query_keys(conn: &Connection) -> CheckResult {
    const NAME: &str = "query_keys_match_versions";
    let has_table = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'version_keys'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0)
        > 0;
    if !has_table {
        return CheckResult::pass(NAME, "not kept before schema version 8".into());
    }
    invariant(conn, NAME, KEYS_APART, |n| {
        format!("{n} version(s) and query key row(s) disagree: listings may be wrong")
    })
}

/// A count query whose answer must be 0.
fn invariant(
    conn: &Connection,
    name: &'static str,
    sql: &str,
    describe: impl Fn(i64) -> String,
) -> CheckResult {
    match conn.query_row(sql, [], |r| r.get::<_, i64>(0)) {
        Ok(0) => CheckResult::pass(name, "holds".into()),
        Ok(n) => CheckResult::fail(name, describe(n), Remedy::RestoreBackup),
        Err(e) => CheckResult::fail(name, format!("cannot run: {e}"), Remedy::RestoreBackup),
    }
}

const RUN_COUNTS: &str = "
    SELECT r.id, r.added, r.changed, r.removed,
        (SELECT count(*) FROM changes c WHERE c.run_id = r.id AND c.kind = 'added'),
        (SELECT count(*) FROM changes c WHERE c.run_id = r.id AND c.kind = 'changed'),
        (SELECT count(*) FROM changes c WHERE c.run_id = r.id AND c.kind = 'removed'),
        (SELECT count(*) FROM versions v WHERE v.valid_from = r.id),
        (SELECT count(*) FROM versions v WHERE v.valid_to = r.id)
    FROM runs r WHERE r.status = 'committed' ORDER BY r.id";

fn run_counts(conn: &Connection) -> CheckResult {
    const NAME: &str = "run_counts";
    let rows = conn.prepare(RUN_COUNTS).and_then(|mut s| {
        s.query_map([], |r| {
            let v: [i64; 9] = [
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ];
            Ok(v)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            return CheckResult::fail(NAME, format!("cannot run: {e}"), Remedy::RestoreBackup)
        }
    };
    let bad: Vec<i64> = rows
        .iter()
        .filter(
            |[_, added, changed, removed, log_a, log_c, log_r, started, ended]| {
                (added, changed, removed) != (log_a, log_c, log_r)
                    || *started != added + changed
                    || *ended != changed + removed
            },
        )
        .map(|r| r[0])
        .collect();
    match bad.first() {
        None => CheckResult::pass(NAME, format!("{} committed run(s) agree", rows.len())),
        Some(first) => CheckResult::fail(
            NAME,
            format!(
                "{} committed run(s) count other changes than their versions show (first: run {first})",
                bad.len()
            ),
            Remedy::RestoreBackup,
        ),
    }
}
