//! What the search index reads from the mirror: the committed state it must match, and the
//! versions to (re)index — all of them, or only those a range of runs touched.
//!
//! A run touches a version when it creates it (`valid_from` = run) or ends it (`valid_to` =
//! run); both are logged in the run's `changes` rows, which is how an update finds them without
//! scanning every version.

use rusqlite::OptionalExtension;

use super::Store;
use crate::error::Result;

/// One row of `versions`, as the index needs it.
#[derive(Debug, Clone)]
pub struct IndexedVersion {
    pub version_id: i64,
    pub scope_id: i64,
    pub image_id: String,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub raw: String,
}

/// The committed state of the mirror an index is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedState {
    /// The latest committed run.
    pub run_id: i64,
    /// When that run started (Unix ms): tells this mirror's run N from another mirror's.
    pub run_started_at: i64,
    /// The highest `versions.id` (0 when there is none).
    pub max_version_id: i64,
}

impl Store {
    /// Runs `f` on one consistent snapshot of the mirror (a read transaction), so that a sync
    /// committing meanwhile is either wholly seen or not at all.
    pub fn read_snapshot<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let tx = self.conn.unchecked_transaction()?;
        let out = f(self)?;
        tx.commit()?;
        Ok(out)
    }

    /// The latest committed run and the highest version id; `None` before the first commit.
    pub fn committed_state(&self) -> Result<Option<CommittedState>> {
        let run: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT id, started_at FROM runs WHERE status = 'committed' ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((run_id, run_started_at)) = run else {
            return Ok(None);
        };
        let max_version_id: i64 =
            self.conn
                .query_row("SELECT coalesce(max(id), 0) FROM versions", [], |r| {
                    r.get(0)
                })?;
        Ok(Some(CommittedState {
            run_id,
            run_started_at,
            max_version_id,
        }))
    }

    /// Rows of `versions`: each is one document of the search index.
    pub fn version_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM versions", [], |r| r.get(0))?)
    }

    /// When committed run `run_id` started, if it exists and is committed.
    pub fn committed_run_started_at(&self, run_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT started_at FROM runs WHERE id = ?1 AND status = 'committed'",
                [run_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every version created by a run up to `upto`, in id order.
    pub fn for_each_version(
        &self,
        upto: i64,
        mut f: impl FnMut(IndexedVersion) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT id, scope_id, image_id, valid_from, valid_to, raw FROM versions
             WHERE valid_from <= ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([upto])?;
        while let Some(r) = rows.next()? {
            f(row_version(r)?)?;
        }
        Ok(())
    }

    /// The versions that runs `after < run <= upto` created or ended, in id order.
    pub fn for_each_version_touched(
        &self,
        after: i64,
        upto: i64,
        mut f: impl FnMut(IndexedVersion) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT v.id, v.scope_id, v.image_id, v.valid_from, v.valid_to, v.raw
             FROM changes c
             JOIN versions v ON v.scope_id = c.scope_id AND v.image_id = c.image_id
             WHERE c.run_id > ?1 AND c.run_id <= ?2
               AND (v.valid_from = c.run_id OR v.valid_to = c.run_id)
             ORDER BY v.id",
        )?;
        let mut rows = stmt.query([after, upto])?;
        while let Some(r) = rows.next()? {
            f(row_version(r)?)?;
        }
        Ok(())
    }
}

fn row_version(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexedVersion> {
    Ok(IndexedVersion {
        version_id: r.get(0)?,
        scope_id: r.get(1)?,
        image_id: r.get(2)?,
        valid_from: r.get(3)?,
        valid_to: r.get(4)?,
        raw: r.get(5)?,
    })
}
