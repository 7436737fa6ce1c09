//! Applies `schema.sql`, the one definition of the database, as numbered migrations.
//!
//! `schema.sql` is a sequence of sections, each opened by a line `-- migration N: ...`.
//! `PRAGMA user_version` holds the number of the last section applied. Opening a database
//! applies every later section, each with its version bump in one transaction; a database
//! whose version is newer than this build knows is refused rather than guessed at.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The schema, embedded at build time.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");

/// One numbered section of `schema.sql`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub sql: &'static str,
}

/// The sections of `schema.sql`, in order: each runs from its `-- migration N:` line (at the
/// start of a line) to the next.
pub fn migrations() -> Vec<Migration> {
    let mut out: Vec<Migration> = Vec::new();
    let mut offset = 0;
    for line in SCHEMA_SQL.split_inclusive('\n') {
        let version = line
            .strip_prefix("-- migration ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.trim().parse::<u32>().ok());
        if let Some(version) = version {
            if let Some(prev) = out.last_mut() {
                prev.sql = &SCHEMA_SQL[prev_start(prev.sql)..offset];
            }
            out.push(Migration {
                version,
                sql: &SCHEMA_SQL[offset..],
            });
        }
        offset += line.len();
    }
    out
}

/// Where a section (a suffix of `SCHEMA_SQL` until cut) starts in the file.
fn prev_start(section: &str) -> usize {
    section.as_ptr() as usize - SCHEMA_SQL.as_ptr() as usize
}

/// The version this build writes.
pub fn latest_version() -> u32 {
    migrations().last().map_or(0, |m| m.version)
}

/// Brings a database up to [`latest_version`], or refuses one from a newer macat.
pub fn migrate(conn: &Connection) -> Result<()> {
    migrate_to(conn, latest_version())
}

/// Applies migrations up to and including `target` (tests build older databases with this).
pub fn migrate_to(conn: &Connection, target: u32) -> Result<()> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let latest = latest_version();
    if current > latest {
        return Err(Error::usage(format!(
            "the database has schema version {current}, newer than this macat supports \
             ({latest}); upgrade macat to read it"
        )));
    }
    for m in migrations()
        .into_iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let sql = format!(
            "BEGIN IMMEDIATE;\n{}\nPRAGMA user_version = {};\nCOMMIT;",
            m.sql, m.version
        );
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(Error::database(
                format!(
                    "migrating the database to schema version {} failed",
                    m.version
                ),
                e,
            ));
        }
        tracing::info!(version = m.version, "migrated the database schema");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_numbered_one_by_one() {
        let ms = migrations();
        assert!(!ms.is_empty());
        for (i, m) in ms.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(!m.sql.trim().is_empty());
        }
    }

    #[test]
    fn fresh_database_reaches_latest_and_reopens() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        migrate(&conn).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest_version());
    }

    #[test]
    fn newer_database_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 999").unwrap();
        let err = migrate(&conn).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("newer"));
    }
}
