//! Opening the index: the catch-up policy. Whoever opens the index compares the run its last
//! commit records with the database's committed state and does nothing, catches up (applies
//! the versions the runs since touched) or rebuilds it ([`super::build`]).

use std::path::Path;
use std::time::{Duration, Instant};

use tantivy::directory::error::LockError;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::{Index, IndexMeta, IndexWriter, TantivyDocument, TantivyError, Term};

use super::build::build;
use super::commit::{commit, Payload};
use super::schema::{self, Fields};
use super::sound;
use super::{
    committed, elapsed_ms, index_dir, reader, tantivy_err, Action, IndexReport, SearchIndex,
};
use crate::error::Result;
use crate::store::feed::CommittedState;
use crate::store::Store;

/// How long an update waits for another process's index writer before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Why an existing index cannot be used as it is.
enum Unusable {
    /// No index was ever built here (a new mirror, a restored backup).
    Missing,
    /// Damaged, foreign, or written by another format: what is wrong.
    Broken(String),
}

struct Opened {
    index: Index,
    fields: Fields,
    metas: IndexMeta,
    payload: Option<Payload>,
}

fn open_existing(dir: &Path) -> std::result::Result<Opened, Unusable> {
    if !dir.join("meta.json").exists() {
        return Err(if dir.exists() {
            Unusable::Broken("its meta.json is missing".into())
        } else {
            Unusable::Missing
        });
    }
    let index = Index::open_in_dir(dir).map_err(|e| Unusable::Broken(e.to_string()))?;
    if index.settings().sort_by_field != schema::settings().sort_by_field {
        return Err(Unusable::Broken(
            "its documents are not in name order".into(),
        ));
    }
    schema::register_tokenizers(&index);
    let fields = Fields::new(&index.schema()).map_err(|e| Unusable::Broken(e.to_string()))?;
    let metas = index
        .load_metas()
        .map_err(|e| Unusable::Broken(e.to_string()))?;
    let payload = metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<Payload>(p).ok());
    Ok(Opened {
        index,
        fields,
        metas,
        payload,
    })
}

impl SearchIndex {
    /// Opens the index of the mirror `store`, first bringing it level with the database
    /// (catching up, or rebuilding it when missing, damaged or foreign: then it says so once).
    pub fn open(store: &Store) -> Result<SearchIndex> {
        let started = Instant::now();
        let dir = index_dir(store.path());
        store.read_snapshot(|s| {
            let state = committed(s)?;
            // Reading a damaged index may panic inside tantivy: that is damage too.
            let outcome = crate::crash::caught(|| use_existing(s, &dir, &state, started))
                .unwrap_or_else(|panic| {
                    Ok(Err(Unusable::Broken(format!(
                        "reading it panicked: {panic}"
                    ))))
                })?;
            match outcome {
                Ok(ix) => Ok(ix),
                Err(Unusable::Missing) => {
                    tracing::info!("no search index at {}: building it", dir.display());
                    build(s, &dir, &state, started, false)
                }
                Err(Unusable::Broken(why)) => {
                    // Compacted, as `macat reindex` builds it: the same index, the same answers.
                    let ix = build(s, &dir, &state, started, true)?;
                    warn_rebuilt(&dir, &why);
                    Ok(ix)
                }
            }
        })
    }
}

/// The one line that says the index was rebuilt, and why.
pub(super) fn warn_rebuilt(dir: &Path, why: &str) {
    tracing::warn!(
        "the search index at {} was rebuilt from the mirror: {why}",
        dir.display()
    );
}

/// The existing index, level with `state` (caught up if behind), when it is sound.
fn use_existing(
    s: &Store,
    dir: &Path,
    state: &CommittedState,
    started: Instant,
) -> Result<std::result::Result<SearchIndex, Unusable>> {
    let opened = match open_existing(dir) {
        Ok(o) => o,
        Err(u) => return Ok(Err(u)),
    };
    let want = Payload::of(state);
    let broken = |why: String| Ok(Err(Unusable::Broken(why)));
    let behind = match opened.payload {
        Some(p) if p == want => false,
        Some(p) if can_catch_up(s, &p, state)? => true,
        Some(p) if p.format != schema::FORMAT => {
            return broken(format!(
                "it was written by another macat (format {})",
                p.format
            ))
        }
        Some(_) => return broken("it does not match the database's history".into()),
        None => return broken("it records no run".into()),
    };
    let verified = match sound::verify(&opened.index, dir, &opened.metas) {
        Ok(v) => v,
        Err(why) => return broken(format!("it is damaged ({why})")),
    };
    let metas = opened.metas.clone();
    let ix = if behind {
        let from = opened.payload.expect("checked above");
        match catch_up(s, dir, opened, &from, state, started) {
            Ok(Some(ix)) => ix,
            Ok(None) => return broken("another process holds its writer lock".into()),
            Err(e) => return broken(format!("updating it failed ({e})")),
        }
    } else {
        let reader = match reader(&opened.index) {
            Ok(r) => r,
            Err(e) => return broken(format!("it cannot be read ({e})")),
        };
        let documents = reader.searcher().num_docs();
        SearchIndex {
            reader,
            fields: opened.fields,
            payload: want,
            report: IndexReport {
                action: Action::UpToDate,
                run_id: want.run_id,
                written: 0,
                documents,
                duration_ms: elapsed_ms(started),
            },
        }
    };
    // meta.json has no checksum: when it changed since the last check, its documents must be
    // the database's versions, one each.
    if verified.meta_changed {
        let versions = s.version_count()?;
        if versions != ix.report.documents as i64 {
            return broken(format!(
                "it holds {} documents for {versions} versions",
                ix.report.documents
            ));
        }
    }
    if !behind && (verified.checked > 0 || verified.meta_changed) {
        sound::write_stamp(&metas, dir);
    }
    Ok(Ok(ix))
}

/// Brings the index of `store` level with the database; for the end of a sync, which owns
/// that upkeep ([`crate::sync::run`]).
pub fn update(store: &Store) -> Result<IndexReport> {
    SearchIndex::open(store).map(|ix| ix.report)
}

/// Whether the index describes an earlier point of this database's history.
fn can_catch_up(s: &Store, p: &Payload, state: &CommittedState) -> Result<bool> {
    Ok(p.format == schema::FORMAT
        && p.run_id < state.run_id
        && p.max_version_id <= state.max_version_id
        && s.committed_run_started_at(p.run_id)? == Some(p.run_started_at))
}

/// Updates add one small segment each; every segment costs each search a little, so small
/// segments are merged as soon as two of a size exist (the big one stays as it is). The first
/// update that writes anything also merges the segments a build left.
fn merge_policy() -> Box<LogMergePolicy> {
    let mut policy = LogMergePolicy::default();
    policy.set_min_num_segments(2);
    // Updates delete old copies of versions; reclaim the space once a segment is 30% dead.
    policy.set_del_docs_ratio_before_merge(0.3);
    Box::new(policy)
}

/// Applies the runs after the index's run: returns `None` when another process holds the
/// writer lock for longer than [`LOCK_WAIT`].
fn catch_up(
    s: &Store,
    dir: &Path,
    opened: Opened,
    from: &Payload,
    state: &CommittedState,
    started: Instant,
) -> Result<Option<SearchIndex>> {
    let Opened { index, fields, .. } = opened;
    let writer: IndexWriter<TantivyDocument> = loop {
        match index.writer_with_num_threads(1, 32_000_000) {
            Ok(w) => break w,
            Err(TantivyError::LockFailure(LockError::LockBusy, _)) => {
                if started.elapsed() > LOCK_WAIT {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(50));
                // The holder may have done our work.
                if let Ok(now) = open_existing(dir) {
                    if now.payload == Some(Payload::of(state)) {
                        let reader = reader(&now.index)
                            .map_err(|e| tantivy_err("cannot read the index at", dir, e))?;
                        let documents = reader.searcher().num_docs();
                        return Ok(Some(SearchIndex {
                            reader,
                            fields: now.fields,
                            payload: Payload::of(state),
                            report: IndexReport {
                                action: Action::UpToDate,
                                run_id: state.run_id,
                                written: 0,
                                documents,
                                duration_ms: elapsed_ms(started),
                            },
                        }));
                    }
                }
            }
            Err(e) => return Err(tantivy_err("cannot write the index at", dir, e)),
        }
    };
    writer.set_merge_policy(Box::new(NoMergePolicy));
    let mut written = 0u64;
    s.for_each_version_touched(from.run_id, state.run_id, |v| {
        writer.delete_term(Term::from_field_u64(fields.version_id, v.version_id as u64));
        writer
            .add_document(fields.document(&v))
            .map_err(|e| tantivy_err("cannot write the index at", dir, e))?;
        written += 1;
        Ok(())
    })?;
    // A run that changed nothing only moves the payload: no segment is written, and none is
    // merged (an unchanged re-sync does not rewrite the index).
    if written > 0 {
        writer.set_merge_policy(merge_policy());
    }
    crate::failpoint::hit("index-before-commit");
    commit(writer, &index, dir, &Payload::of(state), false)?;
    if let Ok(metas) = index.load_metas() {
        sound::write_stamp(&metas, dir);
    }
    let reader = reader(&index).map_err(|e| tantivy_err("cannot read the index at", dir, e))?;
    let documents = reader.searcher().num_docs();
    tracing::info!(
        from = from.run_id,
        to = state.run_id,
        written,
        "search index caught up"
    );
    Ok(Some(SearchIndex {
        reader,
        fields,
        payload: Payload::of(state),
        report: IndexReport {
            action: Action::Updated,
            run_id: state.run_id,
            written,
            documents,
            duration_ms: elapsed_ms(started),
        },
    }))
}
