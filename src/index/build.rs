//! A full build: every committed version written into a new index in a temporary directory
//! beside the live one, committed, then swapped in, so a reader never sees a half-built index.
//! Builds left behind by killed processes are removed by the next build.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tantivy::indexer::NoMergePolicy;
use tantivy::{Index, IndexWriter, TantivyDocument, Term};

use super::commit::{commit, Payload};
use super::schema::{self, Fields};
use super::{
    committed, elapsed_ms, index_dir, reader, tantivy_err, Action, IndexReport, SearchIndex,
};
use crate::error::{Error, Result};
use crate::store::feed::{CommittedState, IndexedVersion};
use crate::store::Store;

impl SearchIndex {
    /// Rebuilds the index from the database (`macat reindex`).
    pub fn rebuild(store: &Store) -> Result<SearchIndex> {
        let started = Instant::now();
        let dir = index_dir(store.path());
        store.read_snapshot(|s| {
            let state = committed(s)?;
            build(s, &dir, &state, started, true)
        })
    }

    /// Rebuilds a damaged index (`why`) from the database, and says so once.
    pub(super) fn heal(store: &Store, why: &str) -> Result<SearchIndex> {
        let ix = SearchIndex::rebuild(store)?;
        super::open::warn_rebuilt(&index_dir(store.path()), why);
        Ok(ix)
    }
}

/// The memory each thread of a full build indexes into before it writes a segment (about 7,000
/// images' worth). Less writes many more segments, more raises a first sync's peak RSS about as
/// much (BENCHMARKS.md, "Sync").
const BUILD_HEAP_PER_THREAD: usize = 24_000_000;

/// Builds a fresh index of every committed version in a temporary directory beside `dir`, then
/// swaps it in. The writer's threads each flush a segment when their [`BUILD_HEAP_PER_THREAD`]
/// fills (about 7,000 images each); `compact` then merges them into one segment, which makes
/// searches some 20% faster but costs another 1.7 s at 100,000 images: `macat reindex`
/// compacts; an index built for a sync or a search is compacted by the first later update that
/// writes anything.
pub(super) fn build(
    s: &Store,
    dir: &Path,
    state: &CommittedState,
    started: Instant,
    compact: bool,
) -> Result<SearchIndex> {
    let mut new = NewIndex::beside(dir)?;
    s.for_each_version(state.run_id, |v| new.add(&v))?;
    new.install(dir, state, compact, started)
}

/// How old a build directory must be to count as abandoned: a build takes seconds.
const ABANDONED_BUILD: Duration = Duration::from_secs(3600);

/// Removes build directories (`prefix*` in `parent`) left by processes killed while building
/// an index; one not touched for [`ABANDONED_BUILD`] is no other process's work in progress.
fn remove_abandoned_builds(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(prefix) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ABANDONED_BUILD);
        if stale {
            let path = entry.path();
            match std::fs::remove_dir_all(&path) {
                Ok(()) => tracing::info!("removed an abandoned index build {}", path.display()),
                Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
            }
        }
    }
}

/// An index being written in a temporary directory beside the one it will replace.
pub(super) struct NewIndex {
    tmp: tempfile::TempDir,
    index: Index,
    fields: Fields,
    writer: IndexWriter<TantivyDocument>,
    written: u64,
}

impl NewIndex {
    pub(super) fn beside(dir: &Path) -> Result<NewIndex> {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "catalog.db.index".into());
        let prefix = format!(".{base}.new-");
        remove_abandoned_builds(parent, &prefix);
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(parent)
            .map_err(|e| {
                Error::internal(format!(
                    "cannot create a directory for the search index in {}: {e}",
                    parent.display()
                ))
            })?;
        let index = Index::builder()
            .schema(schema::schema())
            .settings(schema::settings())
            .create_in_dir(tmp.path())
            .map_err(|e| tantivy_err("cannot create the index in", tmp.path(), e))?;
        schema::register_tokenizers(&index);
        let fields = Fields::new(&index.schema())
            .map_err(|e| tantivy_err("bad index schema in", tmp.path(), e))?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
        let writer: IndexWriter<TantivyDocument> = index
            .writer_with_num_threads(threads, threads * BUILD_HEAP_PER_THREAD)
            .map_err(|e| tantivy_err("cannot write the index in", tmp.path(), e))?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        Ok(NewIndex {
            tmp,
            index,
            fields,
            writer,
            written: 0,
        })
    }

    pub(super) fn add(&mut self, v: &IndexedVersion) -> Result<()> {
        self.writer
            .add_document(self.fields.document(v))
            .map_err(|e| tantivy_err("cannot write the index in", self.tmp.path(), e))?;
        self.written += 1;
        Ok(())
    }

    /// Writes the documents added so far to segments (committed, without a payload).
    pub(super) fn flush(&mut self) -> Result<()> {
        self.writer
            .commit()
            .map(drop)
            .map_err(|e| tantivy_err("cannot write the index in", self.tmp.path(), e))
    }

    /// Forgets every document of a scope added so far.
    pub(super) fn drop_scope(&mut self, scope_id: i64) {
        self.writer.delete_term(Term::from_field_u64(
            self.fields.scope_id,
            scope_id.max(0) as u64,
        ));
    }

    /// Commits with the payload of `state` and swaps the new index in place of `dir`.
    pub(super) fn install(
        self,
        dir: &Path,
        state: &CommittedState,
        compact: bool,
        started: Instant,
    ) -> Result<SearchIndex> {
        let NewIndex {
            tmp,
            index,
            fields,
            writer,
            written,
        } = self;
        commit(writer, &index, tmp.path(), &Payload::of(state), compact)?;
        // Open the reader before the swap: it keeps the files it maps, wherever they move.
        let reader =
            reader(&index).map_err(|e| tantivy_err("cannot read the index in", tmp.path(), e))?;
        let documents = reader.searcher().num_docs();
        let metas = index.load_metas();
        swap_in(tmp, dir)?;
        // Written just now by this process: its files are as checked.
        if let Ok(metas) = metas {
            super::sound::write_stamp(&metas, dir);
        }
        tracing::info!(written, run_id = state.run_id, "search index built");
        Ok(SearchIndex {
            reader,
            fields,
            payload: Payload::of(state),
            report: IndexReport {
                action: Action::Rebuilt,
                run_id: state.run_id,
                written,
                documents,
                duration_ms: elapsed_ms(started),
            },
        })
    }
}

/// Replaces `dir` (if any) by the freshly built `tmp`.
fn swap_in(tmp: tempfile::TempDir, dir: &Path) -> Result<()> {
    let new = tmp.keep();
    let fail = |what: &str, e: std::io::Error| {
        let _ = std::fs::remove_dir_all(&new);
        Error::internal(format!(
            "cannot {what} the search index at {}: {e}",
            dir.display()
        ))
    };
    let old = match std::fs::symlink_metadata(dir) {
        Ok(_) => {
            let mut old = new.clone().into_os_string();
            old.push(".old");
            let old = PathBuf::from(old);
            std::fs::rename(dir, &old).map_err(|e| fail("replace", e))?;
            Some(old)
        }
        Err(_) => None,
    };
    std::fs::rename(&new, dir).map_err(|e| fail("install", e))?;
    if let Some(old) = old {
        let removed = if old.is_dir() {
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::remove_file(&old)
        };
        if let Err(e) = removed {
            tracing::warn!(
                "could not remove the old search index {}: {e}",
                old.display()
            );
        }
    }
    Ok(())
}
