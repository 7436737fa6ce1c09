//! Is this index sound? One place for the question, asked three ways:
//!
//! - on every open ([`verify`]), cheaply: tantivy does not check its files' checksums when it
//!   opens them, so a flipped byte would be searched as if it were data (or panic deep inside a
//!   query). Every file of the index's segments is checked against its checksum once, and its
//!   identity then (size, inode, change time) is written to [`STAMP`]; later opens `stat` each
//!   file and check again only those whose identity changed. A file written to, truncated,
//!   replaced or removed since it was checked is checked again (a write always moves the change
//!   time, which no program can set back). A file that decays on the medium without any write
//!   is only found by `macat check`, which checks every checksum, or by the query it breaks
//!   ([`super::search`] rebuilds on a failed or panicking query);
//! - by `macat check` ([`agreement`]): every checksum, the payload against the database, one
//!   document per version; read-only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tantivy::index::SegmentComponent;
use tantivy::{Index, IndexMeta};

use super::commit::Payload;
use super::schema;
use crate::store::feed::CommittedState;

/// The file beside the index's own that records which files were checked, as they were then.
pub(super) const STAMP: &str = "macat-checked.json";

const META: &str = "meta.json";

/// The segment files of the index as its metadata describes it: each must exist.
fn segment_files(metas: &IndexMeta) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for seg in &metas.segments {
        for c in [
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::Terms,
            SegmentComponent::Store,
            SegmentComponent::FastFields,
            SegmentComponent::FieldNorms,
        ] {
            files.push(seg.relative_path(c));
        }
        if seg.has_deletes() {
            files.push(seg.relative_path(SegmentComponent::Delete));
        }
    }
    files
}

/// What identifies a file's content as it was when checked, without reading it.
fn identity(path: &Path) -> std::io::Result<String> {
    let m = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(format!(
            "{} {} {} {}.{}",
            m.len(),
            m.dev(),
            m.ino(),
            m.ctime(),
            m.ctime_nsec()
        ))
    }
    #[cfg(not(unix))]
    {
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(format!("{} {modified}", m.len()))
    }
}

type Stamp = BTreeMap<String, String>;

fn read_stamp(dir: &Path) -> Stamp {
    std::fs::read(dir.join(STAMP))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// What [`verify`] found besides damage.
pub(super) struct Verified {
    /// Files were checked (their identity had changed): the stamp should be written again.
    pub(super) checked: usize,
    /// `meta.json` changed since the last check: it has no checksum of its own, so the caller
    /// compares its documents with the database.
    pub(super) meta_changed: bool,
}

/// Checks the index's segment files: each exists, and each whose identity changed since the
/// last check matches its checksum. `Err` says what is wrong.
pub(super) fn verify(index: &Index, dir: &Path, metas: &IndexMeta) -> Result<Verified, String> {
    let stamp = read_stamp(dir);
    let mut checked = 0;
    for file in segment_files(metas) {
        let name = file.to_string_lossy().into_owned();
        let id = identity(&dir.join(&file)).map_err(|e| format!("{name} cannot be read: {e}"))?;
        if stamp.get(&name) == Some(&id) {
            continue;
        }
        match index.directory().validate_checksum(&file) {
            Ok(true) => checked += 1,
            Ok(false) => return Err(format!("{name} fails its checksum")),
            Err(e) => return Err(format!("{name} cannot be read: {e}")),
        }
    }
    let meta_changed = identity(&dir.join(META)).ok() != stamp.get(META).cloned();
    Ok(Verified {
        checked,
        meta_changed,
    })
}

/// Records the identity of the index's files as they are now, after [`verify`] checked them or
/// this process wrote them. Best effort: an index that cannot be written to is checked whole on
/// every open instead.
pub(super) fn write_stamp(metas: &IndexMeta, dir: &Path) {
    let mut stamp = Stamp::new();
    for file in segment_files(metas)
        .into_iter()
        .chain([PathBuf::from(META)])
    {
        if let Ok(id) = identity(&dir.join(&file)) {
            stamp.insert(file.to_string_lossy().into_owned(), id);
        }
    }
    let write = || -> std::io::Result<()> {
        let text = serde_json::to_vec(&stamp).map_err(std::io::Error::other)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &text)?;
        tmp.persist(dir.join(STAMP)).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::debug!(
            "cannot record the checked index files in {}: {e}",
            dir.display()
        );
    }
}

/// Whether the index in `dir` agrees with the database (`macat check`): it reflects `state`,
/// holds one document per version (`versions`), and every file matches its checksum. Read-only.
/// `Ok` holds the verdict's detail, `Err` what is wrong.
pub fn agreement(
    dir: &Path,
    state: Option<CommittedState>,
    versions: Option<i64>,
) -> Result<String, String> {
    let Some(state) = state else {
        return Ok("no committed run to index yet".into());
    };
    if !dir.join(META).exists() {
        return Ok("no index yet: the next search builds it".into());
    }
    let checked = crate::crash::caught(|| agreement_of(dir, &state, versions));
    checked.unwrap_or_else(|panic| Err(format!("reading the index panicked: {panic}")))
}

fn agreement_of(
    dir: &Path,
    state: &CommittedState,
    versions: Option<i64>,
) -> Result<String, String> {
    let index = Index::open_in_dir(dir).map_err(|e| format!("the index cannot be opened: {e}"))?;
    let metas = index
        .load_metas()
        .map_err(|e| format!("the index's metadata cannot be read: {e}"))?;
    let payload = metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .unwrap_or_default();
    let field = |k: &str| payload.get(k).and_then(serde_json::Value::as_i64);
    if field("format") != Some(i64::from(schema::FORMAT)) {
        return Err(format!(
            "the index was written in another format ({:?}, this macat writes {})",
            field("format"),
            schema::FORMAT
        ));
    }
    let want = Payload::of(state);
    if field("run_id") != Some(want.run_id)
        || field("run_started_at") != Some(want.run_started_at)
        || field("max_version_id") != Some(want.max_version_id)
    {
        return Err(format!(
            "the index reflects run {} but the database's latest committed run is {} \
             (or another history)",
            field("run_id").map_or("none".into(), |r| r.to_string()),
            state.run_id
        ));
    }
    let documents: i64 = metas.segments.iter().map(|s| i64::from(s.num_docs())).sum();
    if let Some(versions) = versions.filter(|&v| v != documents) {
        return Err(format!(
            "the index holds {documents} documents for {versions} versions"
        ));
    }
    let mut bad = Vec::new();
    for file in segment_files(&metas) {
        let name = file.to_string_lossy().into_owned();
        match index.directory().validate_checksum(&file) {
            Ok(true) => {}
            Ok(false) | Err(_) => bad.push(name),
        }
    }
    if bad.is_empty() {
        Ok(format!(
            "level with run {}, {documents} documents",
            state.run_id
        ))
    } else {
        bad.sort();
        Err(format!(
            "{} index file(s) fail their checksum: {}",
            bad.len(),
            bad.join(", ")
        ))
    }
}
