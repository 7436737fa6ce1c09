//! Watches and their events in the mirror: the saved searches, how far each has been checked,
//! and the outbox of events waiting to be delivered (see `schema.sql`, migration 6).
//!
//! A check of one run and its event are one transaction ([`Store::record_check`]): that is what
//! makes "exactly one event per watch and committed run" hold across crashes.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};

use super::{RunPoint, Store};
use crate::error::{Error, Result};

/// A saved search, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRow {
    pub id: i64,
    pub name: String,
    pub query: String,
    /// Search filters by field name (`arch`, `service_type`, ...).
    pub filters: BTreeMap<String, String>,
    pub webhook: Option<String>,
    /// The file holding the webhook secret (the secret itself is never stored).
    pub secret_file: Option<PathBuf>,
    pub insecure_http: bool,
    pub created_at: i64,
    /// The committed run the watch has been checked through (`None` before the first one).
    pub checked_through: Option<i64>,
}

/// An event to write with a check.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub from_run: i64,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub body: String,
}

/// An event of the outbox.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub event_id: String,
    pub watch_id: i64,
    pub from_run: i64,
    pub run_id: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub body: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub attempts: i64,
    /// When the run the event reports finished (Unix ms).
    pub run_finished_at: i64,
}

const WATCH_COLS: &str = "id, name, query, filters, webhook, secret_file, insecure_http, \
                          created_at, checked_through";

fn watch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WatchRow> {
    let filters: String = r.get(3)?;
    let secret: Option<String> = r.get(5)?;
    Ok(WatchRow {
        id: r.get(0)?,
        name: r.get(1)?,
        query: r.get(2)?,
        filters: serde_json::from_str(&filters).unwrap_or_default(),
        webhook: r.get(4)?,
        secret_file: secret.map(PathBuf::from),
        insecure_http: r.get(6)?,
        created_at: r.get(7)?,
        checked_through: r.get(8)?,
    })
}

const EVENT_COLS: &str = "e.seq, e.event_id, e.watch_id, e.from_run, e.run_id, e.added, \
                          e.changed, e.removed, e.body, e.created_at, e.delivered_at, \
                          e.attempts, coalesce(r.finished_at, e.created_at)";

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        seq: r.get(0)?,
        event_id: r.get(1)?,
        watch_id: r.get(2)?,
        from_run: r.get(3)?,
        run_id: r.get(4)?,
        added: r.get(5)?,
        changed: r.get(6)?,
        removed: r.get(7)?,
        body: r.get(8)?,
        created_at: r.get(9)?,
        delivered_at: r.get(10)?,
        attempts: r.get(11)?,
        run_finished_at: r.get(12)?,
    })
}

impl Store {
    /// Saves a new watch, starting at the latest committed run (what matches already is not
    /// news). A name already taken is a usage error.
    pub fn add_watch(&self, w: &WatchRow) -> Result<WatchRow> {
        let latest: Option<i64> = self.conn.query_row(
            "SELECT max(id) FROM runs WHERE status = 'committed'",
            [],
            |r| r.get(0),
        )?;
        let filters =
            serde_json::to_string(&w.filters).map_err(|e| Error::internal(e.to_string()))?;
        let secret = w
            .secret_file
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        let inserted = self.conn.execute(
            "INSERT INTO watches (name, query, filters, webhook, secret_file, insecure_http,
                                  created_at, checked_through)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                w.name,
                w.query,
                filters,
                w.webhook,
                secret,
                w.insecure_http,
                w.created_at,
                latest
            ],
        );
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(Error::usage(format!(
                    "a watch named {} already exists (remove it first with `macat watch rm {}`)",
                    w.name, w.name
                )))
            }
            other => other?,
        };
        self.watch(&w.name)?
            .ok_or_else(|| Error::internal("the new watch vanished"))
    }

    /// Every watch, by name.
    pub fn watches(&self) -> Result<Vec<WatchRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {WATCH_COLS} FROM watches ORDER BY name"))?;
        let rows = stmt.query_map([], watch_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One watch by name.
    pub fn watch(&self, name: &str) -> Result<Option<WatchRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {WATCH_COLS} FROM watches WHERE name = ?1"),
                [name],
                watch_row,
            )
            .optional()?)
    }

    /// Removes a watch and its events; false when there is none by that name.
    pub fn remove_watch(&self, name: &str) -> Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM watch_events WHERE watch_id IN (SELECT id FROM watches WHERE name = ?1)",
            [name],
        )?;
        let n = tx.execute("DELETE FROM watches WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// The committed runs after `run_id` (all of them for `None`), oldest first.
    pub fn committed_after(&self, run_id: Option<i64>) -> Result<Vec<RunPoint>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, finished_at FROM runs WHERE status = 'committed' AND id > ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([run_id.unwrap_or(0)], |r| {
            Ok(RunPoint {
                run_id: r.get(0)?,
                finished_at_ms: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records that a watch has been checked through `run_id`, with the event that check made
    /// (if any), in one transaction. A check already recorded (by a process that got there
    /// first) changes nothing.
    pub fn record_check(
        &self,
        watch_id: i64,
        run_id: i64,
        event: Option<&NewEvent>,
    ) -> Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        let moved = tx.execute(
            "UPDATE watches SET checked_through = ?2
             WHERE id = ?1 AND (checked_through IS NULL OR checked_through < ?2)",
            [watch_id, run_id],
        )?;
        if moved == 0 {
            return Ok(false);
        }
        if let Some(e) = event {
            tx.execute(
                "INSERT INTO watch_events (event_id, watch_id, from_run, run_id, added, changed,
                                           removed, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    e.event_id,
                    watch_id,
                    e.from_run,
                    run_id,
                    e.added as i64,
                    e.changed as i64,
                    e.removed as i64,
                    e.body,
                    super::now_ms()
                ],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Events not yet delivered to a webhook, oldest first, with their watch.
    pub fn pending_events(&self) -> Result<Vec<(EventRow, WatchRow)>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {EVENT_COLS} FROM watch_events e
             JOIN watches w ON w.id = e.watch_id
             LEFT JOIN runs r ON r.id = e.run_id
             WHERE e.delivered_at IS NULL AND w.webhook IS NOT NULL
             ORDER BY e.seq"
        ))?;
        let events: Vec<EventRow> = stmt
            .query_map([], event_row)?
            .collect::<rusqlite::Result<_>>()?;
        let watches: HashMap<i64, WatchRow> =
            self.watches()?.into_iter().map(|w| (w.id, w)).collect();
        Ok(events
            .into_iter()
            .filter_map(|e| {
                let w = watches.get(&e.watch_id)?.clone();
                Some((e, w))
            })
            .collect())
    }

    /// How many events wait for a webhook.
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM watch_events e JOIN watches w ON w.id = e.watch_id
             WHERE e.delivered_at IS NULL AND w.webhook IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Marks an event delivered.
    pub fn mark_delivered(&self, seq: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE watch_events SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL
             WHERE seq = ?1",
            [seq, super::now_ms()],
        )?;
        Ok(())
    }

    /// Records a failed delivery attempt (the error must hold no secret).
    pub fn mark_failed(&self, seq: i64, attempts: i64, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE watch_events SET attempts = attempts + ?2, last_error = ?3 WHERE seq = ?1",
            params![seq, attempts, error],
        )?;
        Ok(())
    }

    /// A watch's latest `limit` events of runs up to `until` (any run when `None`), newest first.
    pub fn events_of(
        &self,
        watch_id: i64,
        until: Option<i64>,
        limit: usize,
    ) -> Result<Vec<EventRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {EVENT_COLS} FROM watch_events e LEFT JOIN runs r ON r.id = e.run_id
             WHERE e.watch_id = ?1 AND (?2 IS NULL OR e.run_id <= ?2)
             ORDER BY e.run_id DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![watch_id, until, limit], event_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many events a watch has made, and how many of them are not delivered.
    pub fn event_counts(&self, watch_id: i64) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE delivered_at IS NULL)
             FROM watch_events WHERE watch_id = ?1",
            [watch_id],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// The stored object of one version (scope, image, the run it starts in).
    pub fn version_raw(&self, scope_id: i64, image_id: &str, valid_from: i64) -> Result<String> {
        self.conn
            .query_row(
                "SELECT raw FROM versions WHERE scope_id = ?1 AND image_id = ?2 AND valid_from = ?3",
                params![scope_id, image_id, valid_from],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                Error::internal(format!(
                    "the search index names a version the database does not hold ({image_id} \
                     from run {valid_from}); run `macat reindex`"
                ))
            })
    }

    /// The committed runs that changed the catalog, newest first, with their counts:
    /// (run, added, changed, removed).
    pub fn changing_runs(&self, limit: usize) -> Result<Vec<(RunPoint, i64, i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, finished_at, added, changed, removed FROM runs
             WHERE status = 'committed' AND added + changed + removed > 0
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                RunPoint {
                    run_id: r.get(0)?,
                    finished_at_ms: r.get(1)?,
                },
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Images in the catalog at the latest committed run, by image type (the scope's type);
    /// counted in version_keys, which holds the versions' run ranges without their objects.
    pub fn images_by_type(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.type, count(*) FROM version_keys v JOIN scopes s ON s.id = v.scope_id
             WHERE v.valid_to IS NULL GROUP BY s.type ORDER BY s.type",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the latest committed run finished (Unix ms).
    pub fn last_success_ms(&self) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT max(finished_at) FROM runs WHERE status = 'committed'",
            [],
            |r| r.get(0),
        )?)
    }
}
