//! What the pages show, read from the mirror: the same reads for `macat serve`'s pages and for
//! `macat report`'s static files, so both show one thing.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::diff::parse_object;
use crate::store::history::{Event, HistoryEntry, ImageHistory, Lookup};
use crate::store::{RunInfo, RunPoint, ScopeKey, Store};
use crate::when::When;

/// The point in time a page shows: the committed run, and the `as_of` as it was asked for
/// (kept in the page's links; `None`: the server's default).
#[derive(Debug, Clone)]
pub struct AsOf {
    pub run: RunPoint,
    pub asked: Option<String>,
}

/// The committed run `value` (a point in time given as parameter `name`) names; a bad or
/// unknown point is [`Error::Usage`] naming the parameter.
pub fn point(store: &Store, name: &str, value: &str) -> Result<RunPoint> {
    let bad = |m: String| Error::usage(format!("invalid parameter `{name}`: {m}"));
    let when = When::parse(value, chrono::Utc::now()).map_err(|e| bad(e.to_string()))?;
    store.resolve(&when).map_err(|e| match e {
        Error::Usage(m) => bad(m),
        other => other,
    })
}

/// Where an image stands at the point in time shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// In the catalog.
    Live,
    /// Removed by this run (and not back by the point shown).
    Removed(i64),
    /// Not yet in the catalog: it first appears in this run.
    NotYet(i64),
}

/// One image: the version shown, where it stands, and its whole history.
pub struct ImageView {
    pub id: String,
    /// The version live at the point shown; else the last one before it; else the first.
    pub object: Map<String, Value>,
    pub presence: Presence,
    /// The scopes holding the image, by scope id.
    pub scopes: Vec<(i64, ScopeKey)>,
    /// Every step, oldest first, over every scope.
    pub history: Vec<HistoryEntry>,
}

impl ImageView {
    /// The image with exactly this id (any scope, any run), at run `at`; `None` when the
    /// mirror never held it.
    pub fn read(store: &Store, id: &str, at: i64) -> Result<Option<ImageView>> {
        let found = match store.lookup(id, None)? {
            Lookup::Found(c) if c.first().is_some_and(|c| c.image_id == id) => c,
            _ => return Ok(None),
        };
        let ImageHistory {
            entries: history,
            scopes,
            ..
        } = store.image_history(&found)?;
        let mut live = None;
        for c in &found {
            live = store.version_at(c.scope_id, id, at)?;
            if live.is_some() {
                break;
            }
        }
        let before = history.iter().rev().find(|e| e.run.run_id <= at);
        let (raw, presence) = match (live, before, history.first()) {
            (Some(raw), _, _) => (raw, Presence::Live),
            (None, Some(e), _) => (e.raw.clone(), Presence::Removed(e.run.run_id)),
            (None, None, Some(e)) => (e.raw.clone(), Presence::NotYet(e.run.run_id)),
            (None, None, None) => return Ok(None),
        };
        Ok(Some(ImageView {
            id: id.to_string(),
            object: parse_object(&raw),
            presence,
            scopes,
            history,
        }))
    }

    /// Whether an entry is a removal (for the page's wording).
    pub fn is_removal(e: &HistoryEntry) -> bool {
        e.event == Event::Removed
    }
}

/// The runs a page at run `at` shows, newest first: those up to it, and, when it is the latest
/// committed run, the failed or running ones after it too.
pub fn runs_until(store: &Store, at: RunPoint) -> Result<Vec<RunInfo>> {
    let mut runs = crate::sync::lock::SyncLock::runs_as_seen(store)?;
    let latest = runs
        .iter()
        .find(|r| r.status == "committed")
        .map(|r| r.run_id);
    if latest != Some(at.run_id) {
        runs.retain(|r| r.run_id <= at.run_id);
    }
    Ok(runs)
}

/// The text of a field of an image object (`None` when absent or not text).
pub fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}
