//! Pieces the contract's JSON objects share (`diff`, `watch check` and its events, `compare`,
//! `history`): a point in time, a changed image, and a stored object written as it is.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::store::diff::{ChangedImage, FieldChange};
use crate::store::{rfc3339_ms, RunPoint};

/// A committed run as the contract gives it: `{"run_id", "finished_at"}`.
#[derive(Debug, Serialize)]
pub struct RunJson {
    pub run_id: i64,
    pub finished_at: String,
}

impl From<RunPoint> for RunJson {
    fn from(p: RunPoint) -> Self {
        RunJson {
            run_id: p.run_id,
            finished_at: rfc3339_ms(p.finished_at_ms),
        }
    }
}

/// A changed image: `{"id", "name", "changes": [{"field", "from", "to"}]}`.
#[derive(Debug, Serialize)]
pub struct ChangedJson<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub changes: &'a [FieldChange],
}

impl<'a> From<&'a ChangedImage> for ChangedJson<'a> {
    fn from(c: &'a ChangedImage) -> Self {
        ChangedJson {
            id: &c.image_id,
            name: c.name.as_deref(),
            changes: &c.changes,
        }
    }
}

/// A stored object (the canonical JSON the API sent) as a JSON value of the output, not parsed
/// into a tree and written again. `id` names it if it does not parse (a damaged row).
pub fn stored_object<'a>(raw: &'a str, id: &str) -> Result<&'a RawValue> {
    serde_json::from_str::<&RawValue>(raw)
        .map_err(|e| Error::internal(format!("stored object {id}: {e}")))
}
