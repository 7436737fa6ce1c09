//! Committing the index with its payload: the committed run it reflects, which
//! [`super::open`] compares with the database.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexWriter, TantivyDocument, TantivyError};

use super::schema;
use super::tantivy_err;
use crate::error::{Error, Result};
use crate::store::feed::CommittedState;

/// What the index's last commit says it reflects (stored as the commit payload, JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Payload {
    pub(super) format: u32,
    pub(super) run_id: i64,
    pub(super) run_started_at: i64,
    pub(super) max_version_id: i64,
}

impl Payload {
    pub(super) fn of(state: &CommittedState) -> Payload {
        Payload {
            format: schema::FORMAT,
            run_id: state.run_id,
            run_started_at: state.run_started_at,
            max_version_id: state.max_version_id,
        }
    }
}

/// Commits with the payload, optionally merges every segment into one, and waits for merges.
pub(super) fn commit(
    mut writer: IndexWriter<TantivyDocument>,
    index: &Index,
    dir: &Path,
    payload: &Payload,
    merge_all: bool,
) -> Result<()> {
    let err = |what: &str, e: TantivyError| tantivy_err(what, dir, e);
    let text = serde_json::to_string(payload).map_err(|e| Error::internal(e.to_string()))?;
    let mut prepared = writer
        .prepare_commit()
        .map_err(|e| err("cannot commit the index at", e))?;
    prepared.set_payload(&text);
    prepared
        .commit()
        .map_err(|e| err("cannot commit the index at", e))?;
    if merge_all {
        let ids = index
            .searchable_segment_ids()
            .map_err(|e| err("cannot list the segments of", e))?;
        if ids.len() > 1 {
            writer
                .merge(&ids)
                .wait()
                .map_err(|e| err("cannot merge the index at", e))?;
        }
    }
    writer
        .wait_merging_threads()
        .map_err(|e| err("cannot merge the index at", e))
}
