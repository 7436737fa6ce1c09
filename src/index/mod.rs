//! The search index: a tantivy index beside the mirror (`<db>.index/`), derived from it.
//!
//! The database is the source of truth. Each index document is one *version* of an image (a
//! `versions` row) with the run range in which it was live, so searches can be asked about any
//! point in history ([`schema`]). The index records, in its commit payload, which committed run
//! it reflects; whoever opens it ([`SearchIndex::open`]) compares that with the database and
//!
//! - does nothing when they match;
//! - catches up when the index is behind (a sync committed but its index update did not happen,
//!   e.g. the process died in between): the versions the missed runs created or ended are
//!   deleted by version id and added again, then committed with the new run id;
//! - rebuilds from scratch when the index is missing, unreadable, written by another format,
//!   or describes another history than the database's (a replaced or restored mirror).
//!
//! A rebuild writes a new index in a temporary directory and swaps it in, so a reader never
//! sees a half-built index. Updates take tantivy's writer lock; a second process that finds it
//! taken waits for the first, then re-checks. A new mirror's first index is built during its
//! first sync's walk ([`FirstBuild`]) and swapped in once that run has committed.

//!
//! # Layout
//! - [`open`]: opening, and the catch-up policy above;
//! - [`commit`]: the commit and its payload (the run the index reflects);
//! - [`build`]: a full build in a temporary directory, the swap, abandoned builds;
//! - [`first_build`]: the first index, built during a new mirror's first sync;
//! - [`schema`], [`analyze`]: the documents and their words; [`query`]: the query language;
//! - [`request`]: one search request, checked once, whoever asks it;
//! - [`compile`]: a parsed query as a tantivy query (ranking tiers); [`search`]: running it,
//!   collecting and ordering the hits; [`highlight`]: which words of a hit matched.

pub mod analyze;
mod build;
mod commit;
mod compile;
mod first_build;
mod highlight;
pub mod matches;
mod open;
pub mod query;
pub mod request;
pub mod schema;
pub mod search;
mod sound;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyError};

use crate::error::{Error, Result};
use crate::store::feed::CommittedState;
use crate::store::Store;
use commit::Payload;
use schema::Fields;

pub use first_build::{Feeder, FirstBuild};
pub use open::update;
pub use request::{Invalid, SearchRequest};
pub use search::Hit;
pub use sound::agreement;

/// The index directory of the mirror at `db`: `<db>.index`.
pub fn index_dir(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".index");
    PathBuf::from(s)
}

/// What opening or updating the index had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    UpToDate,
    Updated,
    Rebuilt,
}

/// The outcome of [`SearchIndex::open`], [`SearchIndex::rebuild`] or [`update`].
#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    pub action: Action,
    /// The committed run the index now reflects.
    pub run_id: i64,
    /// Versions (re)written by this action.
    pub written: u64,
    /// Documents in the index.
    pub documents: u64,
    pub duration_ms: u64,
}

/// An open, up-to-date index, ready to search.
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    payload: Payload,
    report: IndexReport,
}

fn tantivy_err(context: &str, dir: &Path, e: TantivyError) -> Error {
    Error::internal(format!("{context} {}: {e}", dir.display()))
}

fn reader(index: &Index) -> tantivy::Result<IndexReader> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

fn elapsed_ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

impl SearchIndex {
    /// What opening the index did.
    pub fn report(&self) -> &IndexReport {
        &self.report
    }

    /// The committed run the index reflects.
    pub fn run_id(&self) -> i64 {
        self.payload.run_id
    }
}

fn committed(s: &Store) -> Result<CommittedState> {
    s.committed_state()?.ok_or_else(|| {
        Error::usage(format!(
            "the mirror at {} has no committed run yet: run `macat sync` first",
            s.path().display()
        ))
    })
}
