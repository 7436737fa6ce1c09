//! `macat sync`: walk every page of every scope and commit one snapshot, or change nothing.
//!
//! The walk runs on the async runtime; the snapshot is written by one thread that owns the
//! database connection ([`crate::store::snapshot`]), fed page by page through a bounded channel.
//! Memory holds the pages in flight and the ids seen, never the whole catalog.
//!
//! Servers disagree on paging (see [`walk`]); the walker detects which kind it is talking to.
//! A walk that sees the catalog move under it (a `total` that changes, a record seen twice, fewer
//! distinct records than `total`, a first page that differs when read again at the end) is
//! thrown away and the scope walked again, up to [`MAX_WALKS`] times; then the run fails. An
//! image is removed only when a complete, consistent walk of its scope no longer returns it.

pub mod lock;
pub mod walk;

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::api::client::{Client, ClientConfig};
use crate::api::types::Item;
use crate::error::{Error, Result};
use crate::index::FirstBuild;
use crate::store::snapshot::{Counts, SnapshotWriter};
use crate::store::{ScopeKey, Store};

/// How many times a scope is walked before a catalog that keeps changing fails the run.
pub const MAX_WALKS: u32 = 3;

/// One scope to walk: the client that reaches its project and the slice of the catalog.
#[derive(Clone)]
pub struct ScopeTarget {
    pub client: ClientConfig,
    pub workspace_id: String,
    /// `BUILD_IN` or `DEDICATED`.
    pub image_type: String,
    pub namespace: Option<String>,
}

impl ScopeTarget {
    /// The scopes of one target: `all` walks BUILD_IN and DEDICATED.
    pub fn expand(
        client: ClientConfig,
        workspace_id: &str,
        image_type: &str,
        namespace: Option<&str>,
    ) -> Vec<ScopeTarget> {
        let types: &[&str] = if image_type.eq_ignore_ascii_case("all") {
            &["BUILD_IN", "DEDICATED"]
        } else {
            std::slice::from_ref(&image_type)
        };
        types
            .iter()
            .map(|t| ScopeTarget {
                client: client.clone(),
                workspace_id: workspace_id.to_string(),
                image_type: t.to_ascii_uppercase(),
                namespace: namespace.map(str::to_string),
            })
            .collect()
    }

    fn key(&self) -> ScopeKey {
        ScopeKey {
            endpoint: self.client.endpoint.clone(),
            project_id: self.client.project_id.clone(),
            workspace_id: self.workspace_id.clone(),
            image_type: self.image_type.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// Told what the walk is doing (a progress bar on a terminal; nothing elsewhere).
pub trait Progress: Send + Sync {
    /// A walk of `scope` started (again, after a catalog change).
    fn walk_started(&self, scope: &ScopeKey);
    /// The scope holds `total` images.
    fn total(&self, scope: &ScopeKey, total: u64);
    /// A page of `records` images of the scope arrived.
    fn page(&self, scope: &ScopeKey, records: u64);
    /// The run ended (committed or not).
    fn finish(&self);
}

/// What to walk and how.
#[derive(Clone)]
pub struct SyncOptions {
    pub scopes: Vec<ScopeTarget>,
    pub page_size: u64,
    pub concurrency: usize,
    pub progress: Option<std::sync::Arc<dyn Progress>>,
}

impl SyncOptions {
    /// Requests on the wire at once (at least one).
    fn in_flight(&self) -> usize {
        self.concurrency.max(1)
    }

    /// Pages a stage of the walk may hold ahead of the next: twice the requests in flight.
    fn ahead(&self) -> usize {
        self.in_flight() * 2
    }
}

/// The outcome of a run (`--format json` prints it as is).
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub run_id: i64,
    /// `committed` or `failed`.
    pub status: &'static str,
    pub scopes: Vec<ScopeKey>,
    pub pages: u64,
    pub seen: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub duration_ms: u64,
    /// Why a failed run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A sync that did not commit: the error, and the failed run's report when a run was recorded.
#[derive(Debug)]
pub struct Failed {
    pub report: Option<SyncReport>,
    pub error: Error,
}

impl From<Failed> for Error {
    fn from(f: Failed) -> Error {
        f.error
    }
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed {
            report: None,
            error,
        }
    }
}

/// Messages from the walk to the thread that writes the snapshot.
pub(crate) enum WriteMsg {
    StartScope(i64, Option<String>),
    RestartScope,
    Items(Vec<Item>),
    EndScope,
    Commit { pages: u64 },
}

/// Runs one sync into the mirror at `db`. `interrupt` resolving (Ctrl-C) abandons the run with
/// nothing committed.
pub async fn run(
    db: &Path,
    opts: SyncOptions,
    interrupt: impl Future<Output = ()>,
) -> std::result::Result<SyncReport, Failed> {
    let started = Instant::now();
    let _lock = lock::SyncLock::acquire(db)?;
    let mut store = Store::open_or_create(db)?;
    let abandoned = store.fail_abandoned_runs()?;
    if abandoned > 0 {
        tracing::warn!("marked {abandoned} run(s) left unfinished by an earlier process as failed");
    }
    let mut targets: Vec<(ScopeKey, Client)> = Vec::new();
    for t in &opts.scopes {
        let key = t.key();
        if targets.iter().all(|(k, _)| *k != key) {
            targets.push((key, Client::new(t.client.clone())?));
        }
    }
    if targets.is_empty() {
        return Err(Error::usage("nothing to sync: no scope was given").into());
    }
    let scopes: Vec<ScopeKey> = targets.iter().map(|(k, _)| k.clone()).collect();
    let new_mirror = store.committed_state()?.is_none();
    let (run_id, scope_ids) = store.begin_run(&scopes)?;
    tracing::info!(run_id, "sync started");

    // A new mirror's first index is built while the walk waits for pages. (Nothing between here
    // and the writer thread, which takes the feeder, may return early: dropping the build joins
    // its thread, which ends once the feeder is gone.)
    let (first_index, feeder) = if new_mirror {
        match FirstBuild::start(db) {
            Ok((build, feeder)) => (Some(build), Some(feeder)),
            Err(e) => {
                tracing::warn!(
                    "cannot build the search index during the sync ({e}); it is built after"
                );
                (None, None)
            }
        }
    } else {
        (None, None)
    };

    let (tx, rx) = mpsc::channel::<WriteMsg>(opts.ahead());
    let writer = std::thread::spawn(move || {
        let result = write_snapshot(&store, run_id, rx, feeder);
        (store, result)
    });

    let pages = AtomicU64::new(0);
    let walk = async {
        walk_scopes(&targets, &scope_ids, &opts, &tx, &pages).await?;
        let pages = pages.load(Ordering::Relaxed);
        send(&tx, WriteMsg::Commit { pages }).await?;
        Ok::<u64, Error>(pages)
    };
    let walked = tokio::select! {
        r = walk => r,
        _ = interrupt => Err(Error::Interrupted),
    };
    drop(tx);
    if let Some(p) = &opts.progress {
        p.finish();
    }
    let (store, written) = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| Error::internal(format!("writer task failed: {e}")))?
        .map_err(|_| Error::internal("the snapshot writer panicked"))?;
    let pages = pages.into_inner();

    // A database error is the root cause when the walk only saw the channel close.
    let outcome = match (walked, written) {
        (Ok(pages), Ok(Some(counts))) => Ok((pages, counts)),
        (_, Err(db)) => Err(db),
        (Err(walk), _) => Err(walk),
        (Ok(_), Ok(None)) => Err(Error::internal("the snapshot was not committed")),
    };
    let mut report = SyncReport {
        run_id,
        status: "committed",
        scopes,
        pages,
        seen: 0,
        added: 0,
        changed: 0,
        removed: 0,
        duration_ms: started.elapsed().as_millis() as u64,
        error: None,
    };
    match outcome {
        Ok((_, c)) => {
            report.seen = c.seen;
            report.added = c.added;
            report.changed = c.changed;
            report.removed = c.removed;
            tracing::info!(run_id, "sync committed");
            update_index(&store, first_index, run_id);
            Ok(report)
        }
        Err(e) => {
            if let Err(record) = store.fail_run(run_id, &e.to_string(), report.pages) {
                tracing::error!("could not record the failed run: {record}");
            }
            report.status = "failed";
            report.error = Some(e.to_string());
            Err(Failed {
                report: Some(report),
                error: e,
            })
        }
    }
}

/// Brings the search index level with the run just committed, with the sync's own connection:
/// a new mirror's first index (built during the walk) is swapped in; any other index catches up
/// (or is rebuilt, if it cannot). The run stands whatever happens here: an index left behind is
/// a warning, and the next command that opens the index catches up.
fn update_index(store: &Store, first: Option<FirstBuild>, run_id: i64) {
    if let Some(build) = first {
        match build.finish(store) {
            Ok(_) => return,
            // Built again below, from the database.
            Err(e) => tracing::warn!("building the search index failed ({e})"),
        }
    }
    // The sync's page cache is for its writes; the update reads each changed version once.
    let updated = store
        .set_cache_mib(4)
        .and_then(|()| crate::index::update(store));
    if let Err(e) = updated {
        tracing::warn!(
            "run {run_id} is committed, but updating the search index failed ({e}); \
             the next search catches up"
        );
    }
}

/// Walks the scopes, every scope's first page at once (a scope that fits one page is done
/// then); a scope's further pages wait until the previous scope has asked for all of its own,
/// only its last answers and the re-read of its first page outstanding (a walk's only round
/// trips that leave requests unused). Their writes still reach the writer one scope after
/// another: a scope's messages wait in a small queue of their own until the scopes before it
/// have ended. The run's clients share one limit of `concurrency` requests on the wire.
async fn walk_scopes(
    targets: &[(ScopeKey, Client)],
    scope_ids: &[i64],
    opts: &SyncOptions,
    tx: &mpsc::Sender<WriteMsg>,
    pages: &AtomicU64,
) -> Result<()> {
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.in_flight()));
    let mut walks = Vec::new();
    let mut queues = Vec::new();
    let mut previous: Option<oneshot::Receiver<()>> = None;
    for ((scope, client), scope_id) in targets.iter().zip(scope_ids) {
        let client = client.clone().with_in_flight(limit.clone());
        let (queue_tx, queue_rx) = mpsc::channel::<WriteMsg>(opts.ahead());
        let (all_sent, next) = oneshot::channel();
        let after = previous.replace(next);
        walks.push(async move {
            let walked = walk::walk_scope(
                &client, scope, *scope_id, opts, &queue_tx, pages, all_sent, after,
            )
            .await;
            // Closing the queue tells the writer's side that this scope is over.
            drop(queue_tx);
            walked
        });
        queues.push(queue_rx);
    }
    let forward = async {
        for mut queue in queues {
            while let Some(msg) = queue.recv().await {
                send(tx, msg).await?;
            }
        }
        Ok(())
    };
    futures::future::try_join(futures::future::try_join_all(walks), forward).await?;
    Ok(())
}

pub(crate) async fn send(tx: &mpsc::Sender<WriteMsg>, msg: WriteMsg) -> Result<()> {
    tx.send(msg)
        .await
        .map_err(|_| Error::internal("the snapshot writer stopped"))
}

/// The writer thread: applies the walk's messages in one transaction. Returns the run's counts
/// when it committed, `None` when the walk ended without asking for a commit (rolled back).
fn write_snapshot(
    store: &Store,
    run_id: i64,
    mut rx: mpsc::Receiver<WriteMsg>,
    feeder: Option<crate::index::Feeder>,
) -> Result<Option<Counts>> {
    let mut writer = SnapshotWriter::begin(store.conn(), run_id)?;
    if let Some(feeder) = feeder {
        writer = writer.with_sink(Box::new(feeder));
    }
    let mut applied = 0;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            WriteMsg::StartScope(id, ns) => writer.start_scope(id, ns.as_deref())?,
            WriteMsg::RestartScope => writer.restart_scope()?,
            WriteMsg::Items(items) => {
                writer.add_items(&items)?;
                applied += 1;
                crate::failpoint::hit_page(applied);
            }
            WriteMsg::EndScope => {
                writer.end_scope()?;
            }
            WriteMsg::Commit { pages } => {
                crate::failpoint::hit("before-commit");
                let counts = writer.commit(pages)?;
                crate::failpoint::hit("after-commit");
                return Ok(Some(counts));
            }
        }
    }
    Ok(None)
}
