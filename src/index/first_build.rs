//! The first index of a new mirror, fed by its first sync's snapshot writer while the walk
//! waits for pages, and swapped in once the run has committed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::build::NewIndex;
use super::{committed, index_dir, IndexReport};
use crate::error::{Error, Result};
use crate::store::feed::IndexedVersion;
use crate::store::Store;

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
