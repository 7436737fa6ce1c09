//! Watches: saved searches that tell people when their images change.
//!
//! A watch is a query and the search filters (what they mean to `macat search`), stored in the
//! mirror. Its *matches* at a committed run are every image the search finds in the catalog at
//! that run, not a top N; [`check`] compares the matches of two runs, with the versions the
//! mirror keeps, into images added (started to match), removed (stopped matching) and changed
//! (matched at both, with other content).
//!
//! # The outbox
//! After every committed sync, [`catch_up`] checks each watch run by run from the run it has
//! been checked through to the latest committed run. A check that finds something makes one
//! event, written with the watch's new `checked_through` in one transaction: a crash before it
//! leaves the run unchecked (the next sync or `macat watch deliver` checks it), a crash after it
//! leaves it checked with its event. So every committed run makes exactly one event per watch it
//! affects. A new watch starts at the latest committed run: what matches already is not news.
//! Delivery ([`deliver`]) comes after, from the outbox, oldest first; it never changes the run.

pub mod deliver;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::index::matches::MatchedVersion;
use crate::index::request::FILTERS;
use crate::index::{SearchIndex, SearchRequest};
use crate::output::json::{stored_object, ChangedJson, RunJson};
use crate::store::diff::{field_changes, parse_object, ChangedImage, ScopedImage};
use crate::store::watches::{NewEvent, WatchRow};
use crate::store::{RunPoint, Store};

/// Checks a watch name: `[a-z0-9][a-z0-9_-]{0,63}`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'_' || b == b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid watch name {:?}: use 1 to 64 of a-z, 0-9, _ and -, starting with a letter \
             or digit",
            crate::output::one_line(name, 70)
        )))
    }
}

/// Shows a URL with its password (if any) masked: `https://user:****@host/`.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(invalid URL)".to_string(),
    }
}

/// What `macat watch add` was given, checked.
#[derive(Debug, Clone)]
pub struct NewWatch {
    pub name: String,
    pub query: String,
    pub filters: BTreeMap<String, String>,
    pub webhook: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub insecure_http: bool,
}

/// Saves a watch in the mirror at `db` (created if needed): checks its name, its webhook
/// (http(s); plain http only to loopback unless allowed; not contacted now), its secret file
/// (readable, not empty) and its query (it must parse, and compile against the index when the
/// mirror has a committed run).
pub fn add(db: &Path, w: NewWatch) -> Result<WatchRow> {
    check_name(&w.name)?;
    for k in w.filters.keys() {
        filter_name(k)?;
    }
    if let Some(url) = &w.webhook {
        check_webhook(url, w.insecure_http)?;
    }
    if let Some(path) = &w.secret_file {
        if w.webhook.is_none() {
            return Err(Error::usage(
                "--webhook-secret-file needs --webhook (the secret signs its deliveries)",
            ));
        }
        deliver::read_secret(path)?;
    }
    crate::index::query::parse(&w.query).map_err(|e| Error::usage(e.to_string()))?;
    let store = Store::open_or_create(db)?;
    let row = WatchRow {
        id: 0,
        name: w.name,
        query: w.query,
        filters: w.filters,
        webhook: w.webhook,
        secret_file: w.secret_file.map(|p| std::path::absolute(&p).unwrap_or(p)),
        insecure_http: w.insecure_http,
        created_at: crate::store::now_ms(),
        checked_through: None,
    };
    if let Some(state) = store.committed_state()? {
        let index = SearchIndex::open(&store)?;
        index.matches_between(&options(&row)?, state.run_id, state.run_id)?;
    }
    store.add_watch(&row)
}

/// Checks a webhook URL by the endpoint rule (without naming its password in errors).
fn check_webhook(url: &str, insecure_http: bool) -> Result<()> {
    crate::config::check_endpoint(url, insecure_http)
        .map(|_| ())
        .map_err(|e| {
            let shown = mask_url(url);
            Error::usage(
                e.to_string()
                    .replace(url, &shown)
                    .replace("endpoint", "webhook"),
            )
        })
}

fn filter_name(name: &str) -> Result<&'static str> {
    FILTERS
        .iter()
        .find(|f| **f == name)
        .copied()
        .ok_or_else(|| Error::internal(format!("unknown search filter {name}")))
}

/// The search a watch runs: its query and filters, every word matching (a watch takes every
/// match, so the request's limit and point in time are not used).
pub fn options(w: &WatchRow) -> Result<SearchRequest> {
    let invalid = |e: crate::index::Invalid| Error::usage(e.to_string());
    let mut req = SearchRequest::new(&w.query).map_err(invalid)?;
    for (k, v) in &w.filters {
        req = req.with_filter(filter_name(k)?, v).map_err(invalid)?;
    }
    Ok(req.with_partial(false))
}

/// What changed for a watch between two committed runs; lists sorted by id.
#[derive(Debug, Clone)]
pub struct WatchDiff {
    pub watch: String,
    pub query: String,
    pub from: RunPoint,
    pub to: RunPoint,
    /// Matches at `to` only, and at `from` only: as a diff gives them.
    pub added: Vec<ScopedImage>,
    pub changed: Vec<ChangedImage>,
    pub removed: Vec<ScopedImage>,
}

impl WatchDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// The contract's object (`watch check --format json`), with `event_id` first for an event.
    pub fn to_json(&self, event_id: Option<&str>) -> Result<String> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            event_id: Option<&'a str>,
            watch: &'a str,
            query: &'a str,
            from: RunJson,
            to: RunJson,
            added: Vec<&'a RawValue>,
            changed: Vec<ChangedJson<'a>>,
            removed: Vec<&'a RawValue>,
        }
        let body = Body {
            event_id,
            watch: &self.watch,
            query: &self.query,
            from: self.from.into(),
            to: self.to.into(),
            added: self.added.iter().map(raw_value).collect::<Result<_>>()?,
            changed: self.changed.iter().map(ChangedJson::from).collect(),
            removed: self.removed.iter().map(raw_value).collect::<Result<_>>()?,
        };
        serde_json::to_string(&body).map_err(|e| Error::internal(e.to_string()))
    }
}

fn raw_value(m: &ScopedImage) -> Result<&RawValue> {
    stored_object(&m.raw, &m.image_id)
}

/// Compares a watch's matches at two committed runs (in either order). A search that fails
/// inside the index rebuilds it from the database (said once on stderr) and asks again.
pub fn check(
    store: &Store,
    index: &SearchIndex,
    w: &WatchRow,
    from: RunPoint,
    to: RunPoint,
) -> Result<WatchDiff> {
    Ok(check_healing(store, index, w, from, to)?.0)
}

/// [`check`], and the index rebuilt on the way (when it was), for the checks after it.
fn check_healing(
    store: &Store,
    index: &SearchIndex,
    w: &WatchRow,
    from: RunPoint,
    to: RunPoint,
) -> Result<(WatchDiff, Option<SearchIndex>)> {
    let (found, healed) =
        index.matches_between_or_heal(store, &options(w)?, from.run_id, to.run_id)?;
    let mut at_from: HashMap<(i64, String), MatchedVersion> = HashMap::new();
    let mut at_to: Vec<MatchedVersion> = Vec::new();
    for m in found {
        if m.at_from {
            at_from.insert((m.scope_id, m.image_id.clone()), m);
        } else {
            at_to.push(m);
        }
    }
    let raw_of = |m: &MatchedVersion| store.version_raw(m.scope_id, &m.image_id, m.valid_from);
    let mut d = WatchDiff {
        watch: w.name.clone(),
        query: w.query.clone(),
        from,
        to,
        added: Vec::new(),
        changed: Vec::new(),
        removed: Vec::new(),
    };
    for m in at_to {
        let raw = raw_of(&m)?;
        match at_from.remove(&(m.scope_id, m.image_id.clone())) {
            Some(before) => {
                let after = parse_object(&raw);
                let changes = field_changes(&parse_object(&raw_of(&before)?), &after);
                // Gone and back with the same content is no change.
                if !changes.is_empty() {
                    let text = |k: &str| after.get(k).and_then(|v| v.as_str()).map(String::from);
                    d.changed.push(ChangedImage {
                        scope_id: m.scope_id,
                        name: text("name"),
                        tag: text("tag"),
                        image_id: m.image_id,
                        changes,
                    });
                }
            }
            None => d.added.push(ScopedImage {
                scope_id: m.scope_id,
                image_id: m.image_id,
                raw,
            }),
        }
    }
    for (_, m) in at_from {
        d.removed.push(ScopedImage {
            raw: raw_of(&m)?,
            scope_id: m.scope_id,
            image_id: m.image_id,
        });
    }
    d.added
        .sort_by(|a, b| (&a.image_id, a.scope_id).cmp(&(&b.image_id, b.scope_id)));
    d.removed
        .sort_by(|a, b| (&a.image_id, a.scope_id).cmp(&(&b.image_id, b.scope_id)));
    d.changed
        .sort_by(|a, b| (&a.image_id, a.scope_id).cmp(&(&b.image_id, b.scope_id)));
    Ok((d, healed))
}

/// The stable id of the event of watch `w` for run `run`: the same on every retry and every
/// process, and different for another mirror, another watch of the same name, another run.
pub fn event_id(store: &Store, w: &WatchRow, run: i64) -> Result<String> {
    let started = store.committed_run_started_at(run)?.unwrap_or(0);
    Ok(crate::feed::stable_uuid(&format!(
        "{}\n{}\n{}\n{}\n{}",
        w.name, w.id, w.created_at, run, started
    )))
}

/// Checks every watch through the latest committed run, making the events of the runs not yet
/// checked, in run order. Returns how many events it made.
pub fn catch_up(store: &Store, index: &SearchIndex) -> Result<u64> {
    let mut made = 0;
    // The index rebuilt by a check that found it damaged, used from then on.
    let mut healed: Option<SearchIndex> = None;
    for w in store.watches()? {
        let Some(through) = w.checked_through else {
            // Added before the first committed run: that run is its baseline.
            if let Some(first) = store.first_committed()? {
                store.record_check(w.id, first.run_id, None)?;
            }
            continue;
        };
        let mut prev = store.resolve(&crate::when::When::Run(through))?;
        for run in store.committed_after(Some(through))? {
            let (d, rebuilt) =
                check_healing(store, healed.as_ref().unwrap_or(index), &w, prev, run)?;
            if rebuilt.is_some() {
                healed = rebuilt;
            }
            let event = if d.is_empty() {
                None
            } else {
                let id = event_id(store, &w, run.run_id)?;
                Some(NewEvent {
                    body: d.to_json(Some(&id))?,
                    event_id: id,
                    from_run: prev.run_id,
                    added: d.added.len(),
                    changed: d.changed.len(),
                    removed: d.removed.len(),
                })
            };
            if store.record_check(w.id, run.run_id, event.as_ref())? && event.is_some() {
                made += 1;
            }
            prev = run;
        }
    }
    Ok(made)
}

/// What the events of a sync came to (the sync's JSON summary prints it as `events`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct EventCounts {
    pub new: u64,
    pub delivered: u64,
    pub pending: u64,
}

/// After a committed sync: make the events of the runs the watches have not been checked
/// through, then deliver what is pending. Never fails the sync: problems are warnings, and
/// what was not done is done by the next sync or `macat watch deliver`.
pub fn after_sync(db: &Path) -> EventCounts {
    crate::failpoint::hit("before-events");
    let mut counts = EventCounts::default();
    let mut run = || -> Result<()> {
        let store = Store::open_existing(db)?;
        if store.watches()?.is_empty() {
            return Ok(());
        }
        let index = SearchIndex::open(&store)?;
        counts.new = catch_up(&store, &index)?;
        let delivered = deliver::deliver_pending(&store)?;
        counts.delivered = delivered.delivered;
        Ok(())
    };
    if let Err(e) = run() {
        tracing::warn!(
            "checking the watches failed ({e}); the next sync or `macat watch deliver` catches up"
        );
    }
    counts.pending = Store::open_existing(db)
        .and_then(|s| s.pending_count())
        .unwrap_or(0);
    counts
}
