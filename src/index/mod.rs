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

pub mod analyze;
pub mod matches;
pub mod query;
pub mod schema;
pub mod search;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::directory::error::LockError;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::error::{Error, Result};
use crate::store::feed::{CommittedState, IndexedVersion};
use crate::store::Store;
use schema::Fields;

pub use search::{Hit, SearchOptions};

/// How long an update waits for another process's index writer before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The index directory of the mirror at `db`: `<db>.index`.
pub fn index_dir(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".index");
    PathBuf::from(s)
}

/// What the index's last commit says it reflects (stored as the commit payload, JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    format: u32,
    run_id: i64,
    run_started_at: i64,
    max_version_id: i64,
}

impl Payload {
    fn of(state: &CommittedState) -> Payload {
        Payload {
            format: schema::FORMAT,
            run_id: state.run_id,
            run_started_at: state.run_started_at,
            max_version_id: state.max_version_id,
        }
    }
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

/// Why an existing index cannot be used as it is.
enum Unusable {
    Missing,
    Broken(String),
}

struct Opened {
    index: Index,
    fields: Fields,
    payload: Option<Payload>,
}

fn tantivy_err(context: &str, dir: &Path, e: TantivyError) -> Error {
    Error::internal(format!("{context} {}: {e}", dir.display()))
}

fn open_existing(dir: &Path) -> std::result::Result<Opened, Unusable> {
    if !dir.join("meta.json").exists() {
        return Err(Unusable::Missing);
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
        payload,
    })
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
    /// Opens the index of the mirror `store`, first bringing it level with the database
    /// (catching up, or rebuilding it when missing, broken or foreign).
    pub fn open(store: &Store) -> Result<SearchIndex> {
        let started = Instant::now();
        let dir = index_dir(store.path());
        store.read_snapshot(|s| {
            let state = committed(s)?;
            let want = Payload::of(&state);
            let why = match open_existing(&dir) {
                Ok(opened) => match opened.payload {
                    Some(p) if p == want => match reader(&opened.index) {
                        Ok(reader) => {
                            let documents = reader.searcher().num_docs();
                            return Ok(SearchIndex {
                                reader,
                                fields: opened.fields,
                                payload: p,
                                report: IndexReport {
                                    action: Action::UpToDate,
                                    run_id: p.run_id,
                                    written: 0,
                                    documents,
                                    duration_ms: elapsed_ms(started),
                                },
                            });
                        }
                        Err(e) => format!("it cannot be read ({e})"),
                    },
                    Some(p) if can_catch_up(s, &p, &state)? => {
                        match catch_up(s, &dir, opened, &p, &state, started) {
                            Ok(Some(ix)) => return Ok(ix),
                            Ok(None) => "another process holds its writer lock".to_string(),
                            Err(e) => format!("updating it failed ({e})"),
                        }
                    }
                    Some(p) if p.format != schema::FORMAT => {
                        format!("it was written by another macat (format {})", p.format)
                    }
                    Some(_) => "it does not match the database's history".to_string(),
                    None => "it records no run".to_string(),
                },
                Err(Unusable::Missing) => {
                    tracing::info!("no search index at {}: building it", dir.display());
                    return build(s, &dir, &state, started, false);
                }
                Err(Unusable::Broken(e)) => format!("it is unreadable ({e})"),
            };
            tracing::warn!("rebuilding the search index at {}: {why}", dir.display());
            build(s, &dir, &state, started, false)
        })
    }

    /// Rebuilds the index from the database (`macat reindex`).
    pub fn rebuild(store: &Store) -> Result<SearchIndex> {
        let started = Instant::now();
        let dir = index_dir(store.path());
        store.read_snapshot(|s| {
            let state = committed(s)?;
            build(s, &dir, &state, started, true)
        })
    }

    /// What opening the index did.
    pub fn report(&self) -> &IndexReport {
        &self.report
    }

    /// The committed run the index reflects.
    pub fn run_id(&self) -> i64 {
        self.payload.run_id
    }
}

/// Brings the index of `store` level with the database; for the end of a sync.
pub fn update(store: &Store) -> Result<IndexReport> {
    SearchIndex::open(store).map(|ix| ix.report)
}

/// Updates the index of the mirror at `db` after a committed run. The run stays committed
/// whatever happens here: an index left behind is caught up by the next command that opens it.
pub fn update_after_sync(db: &Path) -> Result<IndexReport> {
    let store = Store::open_existing(db)?;
    store.set_cache_mib(4)?;
    update(&store)
}

fn committed(s: &Store) -> Result<CommittedState> {
    s.committed_state()?.ok_or_else(|| {
        Error::usage(format!(
            "the mirror at {} has no committed run yet: run `macat sync` first",
            s.path().display()
        ))
    })
}

/// Whether the index describes an earlier point of this database's history.
fn can_catch_up(s: &Store, p: &Payload, state: &CommittedState) -> Result<bool> {
    Ok(p.format == schema::FORMAT
        && p.run_id < state.run_id
        && p.max_version_id <= state.max_version_id
        && s.committed_run_started_at(p.run_id)? == Some(p.run_started_at))
}

/// The memory each thread of a full build indexes into before it writes a segment (about 7,000
/// images' worth). Less writes many more segments, more raises a first sync's peak RSS about as
/// much (BENCHMARKS.md, "Sync").
const BUILD_HEAP_PER_THREAD: usize = 24_000_000;

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

/// Commits with the payload, optionally merges every segment into one, and waits for merges.
fn commit(
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

/// Builds a fresh index of every committed version in a temporary directory beside `dir`, then
/// swaps it in. The writer's threads each flush a segment when their [`BUILD_HEAP_PER_THREAD`]
/// fills (about 7,000 images each); `compact` then merges them into one segment, which makes
/// searches some 20% faster but costs another 1.7 s at 100,000 images: `macat reindex`
/// compacts; an index built for a sync or a search is compacted by the first later update that
/// writes anything.
fn build(
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
struct NewIndex {
    tmp: tempfile::TempDir,
    index: Index,
    fields: Fields,
    writer: IndexWriter<TantivyDocument>,
    written: u64,
}

impl NewIndex {
    fn beside(dir: &Path) -> Result<NewIndex> {
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

    fn add(&mut self, v: &IndexedVersion) -> Result<()> {
        self.writer
            .add_document(self.fields.document(v))
            .map_err(|e| tantivy_err("cannot write the index in", self.tmp.path(), e))?;
        self.written += 1;
        Ok(())
    }

    /// Writes the documents added so far to segments (committed, without a payload).
    fn flush(&mut self) -> Result<()> {
        self.writer
            .commit()
            .map(drop)
            .map_err(|e| tantivy_err("cannot write the index in", self.tmp.path(), e))
    }

    /// Forgets every document of a scope added so far.
    fn drop_scope(&mut self, scope_id: i64) {
        self.writer.delete_term(Term::from_field_u64(
            self.fields.scope_id,
            scope_id.max(0) as u64,
        ));
    }

    /// Commits with the payload of `state` and swaps the new index in place of `dir`.
    fn install(
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
        swap_in(tmp, dir)?;
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

/// The first index of a new mirror, built while its first sync walks: the sync's snapshot
/// writer hands each version it writes to a [`Feeder`], a thread indexes it, and once the run
/// has committed [`FirstBuild::finish`] commits the index with that run and swaps it in. A
/// walk spends most of its time waiting for pages; the index is built meanwhile instead of
/// after it. Only for a mirror with no committed run: the feeder hears of versions written, not
/// of versions ended.
pub struct FirstBuild {
    dir: PathBuf,
    worker: Option<std::thread::JoinHandle<Result<NewIndex>>>,
}

/// What a sync's snapshot writer tells the [`FirstBuild`].
enum Feed {
    Add(Vec<IndexedVersion>),
    DropScope(i64),
}

/// The sending end of a [`FirstBuild`]; dropping it ends the build's input.
pub struct Feeder {
    tx: std::sync::mpsc::SyncSender<Feed>,
    /// Versions not sent yet: they go in batches of [`FEED_BATCH`], not one message (and one
    /// wake-up of the index thread) each.
    batch: Vec<IndexedVersion>,
}

/// Versions waiting to be indexed (about 6 MB of them): when the index falls behind, the walk
/// waits for it rather than holding the whole catalog in memory. Since the index is built at
/// low priority it does fall behind: 8,192 took a zero-latency first sync of 100,000 images up
/// to 186 MiB (4,096: 164-166 MiB), at the same speed (BENCHMARKS.md, "Sync").
const FEED_QUEUE: usize = 4096;

/// Versions handed to the index thread at once.
const FEED_BATCH: usize = 128;

impl FirstBuild {
    /// Starts building the first index of the mirror at `db`.
    pub fn start(db: &Path) -> Result<(FirstBuild, Feeder)> {
        let dir = index_dir(db);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Feed>(FEED_QUEUE / FEED_BATCH);
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<()>>(1);
        let in_dir = dir.clone();
        let worker = std::thread::Builder::new()
            .name("first-index".into())
            .spawn(move || {
                // The walk comes first: its requests wait on nothing but the network when the
                // index uses the CPU the walk leaves. The index writer's threads are started
                // here and take this thread's priority.
                lower_priority();
                let mut new = match NewIndex::beside(&in_dir) {
                    Ok(new) => {
                        let _ = ready_tx.send(Ok(()));
                        new
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Err(Error::internal("the index builder did not start"));
                    }
                };
                let mut failed = None;
                for feed in rx {
                    // After a failure the rest is only drained, so the walk never blocks.
                    if failed.is_some() {
                        continue;
                    }
                    match feed {
                        Feed::Add(batch) => {
                            failed = batch.iter().find_map(|v| new.add(v).err());
                        }
                        Feed::DropScope(scope_id) => new.drop_scope(scope_id),
                    }
                }
                if let Some(e) = failed {
                    return Err(e);
                }
                // The run is committing: the segments are written meanwhile, and committed
                // here (without the run's payload, in the build's own directory); `finish`
                // commits again with it, which writes no segment.
                new.flush()?;
                Ok(new)
            })
            .map_err(|e| Error::internal(format!("cannot start the index builder: {e}")))?;
        let ready = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(Error::internal("the index builder stopped")));
        if let Err(e) = ready {
            let _ = worker.join();
            return Err(e);
        }
        Ok((
            FirstBuild {
                dir,
                worker: Some(worker),
            },
            Feeder {
                tx,
                batch: Vec::with_capacity(FEED_BATCH),
            },
        ))
    }

    /// After the run committed (and its [`Feeder`] is dropped): commits the index with the
    /// mirror's committed state and swaps it in.
    pub fn finish(mut self, store: &Store) -> Result<IndexReport> {
        let started = Instant::now();
        let new = self.join()?;
        let state = committed(store)?;
        let ix = new.install(&self.dir, &state, false, started)?;
        Ok(ix.report)
    }

    fn join(&mut self) -> Result<NewIndex> {
        let worker = self
            .worker
            .take()
            .ok_or_else(|| Error::internal("the index builder was already joined"))?;
        worker
            .join()
            .map_err(|_| Error::internal("the index builder panicked"))?
    }
}

impl Drop for FirstBuild {
    /// An unfinished build (the run failed) is thrown away, its directory with it.
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.join();
        }
    }
}

impl Feeder {
    fn send_batch(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(FEED_BATCH));
            // A builder that stopped (it failed) is caught up by the next command instead.
            let _ = self.tx.send(Feed::Add(batch));
        }
    }
}

impl crate::store::snapshot::VersionSink for Feeder {
    fn added(&mut self, v: IndexedVersion) {
        self.batch.push(v);
        if self.batch.len() >= FEED_BATCH {
            self.send_batch();
        }
    }

    fn scope_restarted(&mut self, scope_id: i64) {
        // The scope's versions not sent yet are dropped with those sent.
        self.batch.retain(|v| v.scope_id != scope_id);
        let _ = self.tx.send(Feed::DropScope(scope_id));
    }
}

impl Drop for Feeder {
    /// The end of the input: what is left goes first.
    fn drop(&mut self) {
        self.send_batch();
    }
}

/// Makes the calling thread, and the threads it starts, the last to get the CPU (nice 19).
fn lower_priority() {
    #[cfg(unix)]
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!("cannot lower the index builder's priority: {e}");
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
