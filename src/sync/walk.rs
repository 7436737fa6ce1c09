//! Walking one scope's pages, whatever the server's paging dialect.
//!
//! The API reference leaves open whether `offset` counts records or pages, whether `current`
//! is 0- or 1-based, and whether `size` is the page size asked for or the records returned; a
//! server may also return fewer records per page than asked. The walker trusts none of
//! `current`, `size` or `pages`. It reads the first page (offset 0): its record count `n` is the
//! real page size. Then it probes offset 1:
//! - the probe starts with the first page's second record: offset counts **records**; the next
//!   pages are at offsets n, 2n, ...;
//! - the probe starts with the first page's first record: offset counts **pages from 1** (0 and
//!   1 both mean the first page); the next pages are at offsets 2, 3, ...;
//! - the probe shares nothing with the first page: offset counts **pages from 0**; the probe is
//!   the second page, and the rest are at offsets 2, 3, ...
//!
//! The probe does not wait for an answer of its own: it goes out with the other pages at the
//! offsets of the usual dialect (records), and their answers are held until it has told the
//! stride; an answer asked for at an offset the stride does not give to its page is dropped and
//! asked for again at the right one. The remaining pages are fetched with bounded concurrency, and every
//! page is checked: same `total`, the record count it must have, no id seen before. At the end
//! the distinct ids must number `total`, and the first page, read again, must be unchanged. Any
//! failed check means the catalog moved under the walk: the scope is walked again.
//!
//! A scope whose first page holds all of `total` records (real catalogs are small) is complete
//! and consistent by itself: one answer is one state of the catalog, so there is nothing to
//! probe and nothing to read again. Every scope's first page goes out at once; only a scope with
//! more pages waits for its turn (see [`walk_scope`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::stream::{self, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::{send, SyncOptions, WriteMsg, MAX_WALKS};
use crate::api::client::Client;
use crate::api::types::{Item, Page};
use crate::error::{Error, Result};
use crate::store::ScopeKey;

/// What offset 1 revealed about the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stride {
    Records,
    PagesFrom0,
    PagesFrom1,
}

struct Walk<'a> {
    client: &'a Client,
    scope: &'a ScopeKey,
    opts: &'a SyncOptions,
    tx: &'a mpsc::Sender<WriteMsg>,
    seen: HashSet<String>,
    /// Pages fetched by this walk, and by the whole run.
    pages: u64,
    fetched: &'a AtomicU64,
    problem: Option<String>,
    /// Told once every page request of the walk is under way (see [`walk_scope`]).
    all_sent: Option<oneshot::Sender<()>>,
    /// The previous scope's `all_sent`: awaited before the pages after the first.
    after: Option<oneshot::Receiver<()>>,
}

/// Walks a scope until one walk is complete and consistent (at most [`MAX_WALKS`] times) and
/// hands its images to the writer. Every page fetched is counted in `fetched`. The first page
/// is asked for at once; the rest wait for `after` (the previous scope's `all_sent`, told or
/// dropped). `all_sent` is told (or dropped) once the walk has no more pages to ask for, only
/// the last answers and the final re-read of the first page: the next scope's pages go out
/// then, on the requests this one no longer needs.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn walk_scope(
    client: &Client,
    scope: &ScopeKey,
    scope_id: i64,
    opts: &SyncOptions,
    tx: &mpsc::Sender<WriteMsg>,
    fetched: &AtomicU64,
    all_sent: oneshot::Sender<()>,
    after: Option<oneshot::Receiver<()>>,
) -> Result<()> {
    let mut all_sent = Some(all_sent);
    let mut after = after;
    send(tx, WriteMsg::StartScope(scope_id, scope.namespace.clone())).await?;
    let mut problems = Vec::new();
    for attempt in 1..=MAX_WALKS {
        if attempt > 1 {
            send(tx, WriteMsg::RestartScope).await?;
        }
        if let Some(p) = &opts.progress {
            p.walk_started(scope);
        }
        let mut walk = Walk {
            client,
            scope,
            opts,
            tx,
            seen: HashSet::new(),
            pages: 0,
            fetched,
            problem: None,
            all_sent: all_sent.take(),
            after: after.take(),
        };
        walk.run().await?;
        all_sent = walk.all_sent.take();
        after = walk.after.take();
        match walk.problem {
            None => {
                tracing::info!(
                    scope = %scope.image_type,
                    images = walk.seen.len(),
                    pages = walk.pages,
                    "scope walked"
                );
                send(tx, WriteMsg::EndScope).await?;
                return Ok(());
            }
            Some(p) => {
                tracing::warn!(
                    "the {} catalog changed during walk {attempt}/{MAX_WALKS}: {p}",
                    scope.image_type
                );
                problems.push(p);
            }
        }
    }
    Err(Error::GaveUp(format!(
        "the {} catalog changed during each of {MAX_WALKS} walks ({}); nothing was committed",
        scope.image_type,
        problems.last().map(String::as_str).unwrap_or("")
    )))
}

impl Walk<'_> {
    fn params(&self, offset: u64) -> Vec<(String, String)> {
        let mut p = vec![
            ("limit".to_string(), self.opts.page_size.to_string()),
            ("offset".to_string(), offset.to_string()),
            ("type".to_string(), self.scope.image_type.clone()),
            ("workspace_id".to_string(), self.scope.workspace_id.clone()),
        ];
        if let Some(ns) = &self.scope.namespace {
            p.push(("namespace".to_string(), ns.clone()));
        }
        p
    }

    async fn fetch(&mut self, offset: u64) -> Result<Page> {
        let f = self.client.list_images(&self.params(offset)).await?;
        self.count_page();
        Ok(f.page)
    }

    fn count_page(&mut self) {
        self.pages += 1;
        self.fetched.fetch_add(1, Ordering::Relaxed);
    }

    fn progress(&self, records: usize) {
        if let Some(p) = &self.opts.progress {
            p.page(self.scope, records as u64);
        }
    }

    fn flag(&mut self, problem: String) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }

    /// Hands a page's new records to the writer; a repeated id means the pages shifted.
    async fn accept(&mut self, items: Vec<Item>) -> Result<()> {
        self.progress(items.len());
        let mut fresh = Vec::with_capacity(items.len());
        for item in items {
            if self.seen.insert(item.image.id.clone()) {
                fresh.push(item);
            } else {
                let id = item.image.id.clone();
                self.flag(format!("image {id} was returned twice"));
            }
        }
        send(self.tx, WriteMsg::Items(fresh)).await
    }

    async fn run(&mut self) -> Result<()> {
        // The first page alone: when it holds the whole catalog, it is the walk.
        let first = self.fetch(0).await?;
        let total = first.total;
        if let Some(p) = &self.opts.progress {
            p.total(self.scope, total);
        }
        let n = first.items.len() as u64;
        let fingerprint: Vec<(String, [u8; 16])> = first
            .items
            .iter()
            .map(|i| (i.image.id.clone(), i.hash))
            .collect();
        self.accept(first.items).await?;
        if n >= total || n == 0 {
            // Nothing more to ask for: the next scope's pages may go.
            if let Some(all_sent) = self.all_sent.take() {
                let _ = all_sent.send(());
            }
            if n != total {
                self.flag(format!(
                    "the first page holds {n} records but `total` says {total}"
                ));
            }
            return Ok(());
        }

        // More pages: the previous scope's go first.
        if let Some(after) = self.after.take() {
            let _ = after.await;
        }
        let page_count = total.div_ceil(n);
        let expected = |page: u64| n.min(total - page * n);
        // The probe goes out with the other pages at the offsets of the usual dialect (offset
        // counts records), so that the probe costs no round trip of its own. Answers are held
        // until the probe has told the stride; those asked for at an offset the stride does not
        // give to their page are dropped and asked for again.
        let guess = Stride::Records;
        let mut done: HashSet<u64> = HashSet::new();
        let mut stride: Option<Stride> = None;
        let mut held: Vec<(u64, Page)> = Vec::new();
        let mut requests = vec![(None, 1)];
        requests.extend((1..page_count).map(|page| (Some(page), offset_of(guess, n, page))));
        let mut fetched = self.requests(requests);
        let mut unanswered = page_count;
        loop {
            self.tell_all_sent(unanswered);
            let Some((page, result)) = fetched.next().await else {
                break;
            };
            unanswered -= 1;
            let data = result?.page;
            self.count_page();
            match page {
                Some(page) => held.push((page, data)),
                // The probe.
                None => {
                    if data.total != total {
                        self.flag(format!("`total` moved from {total} to {}", data.total));
                        return Ok(());
                    }
                    let Some(found) = self.stride_of(&data, &fingerprint) else {
                        return Ok(());
                    };
                    tracing::debug!(stride = ?found, page_size = n, total, "paging detected");
                    stride = Some(found);
                    if found == Stride::PagesFrom0 {
                        // The probe is the second page.
                        done.insert(1);
                        if !self.take_page(data, total, expected(1), 1).await? {
                            return Ok(());
                        }
                    }
                }
            }
            // Pages wait until the probe tells the stride; from then on each is taken as it
            // comes, if the guess asked for it at the right offset.
            let Some(found) = stride else {
                continue;
            };
            for (page, data) in std::mem::take(&mut held) {
                if offset_of(found, n, page) == offset_of(guess, n, page)
                    && done.insert(page)
                    && !self.take_page(data, total, expected(page), page).await?
                {
                    return Ok(());
                }
            }
        }
        drop(fetched);
        let Some(stride) = stride else {
            return Err(Error::internal("the probe was never answered"));
        };

        // The pages the guess got wrong, at the offsets the probe revealed.
        let missing: Vec<(Option<u64>, u64)> = (1..page_count)
            .filter(|page| !done.contains(page))
            .map(|page| (Some(page), offset_of(stride, n, page)))
            .collect();
        let mut unanswered = missing.len() as u64;
        let mut fetched = self.requests(missing);
        loop {
            self.tell_all_sent(unanswered);
            let Some((page, result)) = fetched.next().await else {
                break;
            };
            unanswered -= 1;
            let data = result?.page;
            self.count_page();
            let page = page.unwrap_or_default();
            if !self.take_page(data, total, expected(page), page).await? {
                return Ok(());
            }
        }
        drop(fetched);

        if self.seen.len() as u64 != total {
            self.flag(format!(
                "{} distinct images for a `total` of {total}",
                self.seen.len()
            ));
            return Ok(());
        }
        if self.problem.is_some() {
            return Ok(());
        }
        let again = self.fetch(0).await?;
        let same = again.total == total
            && again.items.len() == fingerprint.len()
            && again
                .items
                .iter()
                .zip(&fingerprint)
                .all(|(i, (id, hash))| &i.image.id == id && &i.hash == hash);
        if !same {
            self.flag("the first page changed during the walk".into());
        }
        Ok(())
    }

    /// What the probe (offset 1) says about the stride, or `None` (flagged) when it is none.
    fn stride_of(&mut self, probe: &Page, fingerprint: &[(String, [u8; 16])]) -> Option<Stride> {
        let n = fingerprint.len();
        let probe_first = probe.items.first().map(|i| i.image.id.as_str());
        if n >= 2 && probe_first == Some(fingerprint[1].0.as_str()) {
            Some(Stride::Records)
        } else if probe_first == Some(fingerprint[0].0.as_str()) {
            Some(Stride::PagesFrom1)
        } else if probe_first.is_some_and(|p| fingerprint.iter().all(|(id, _)| id != p)) {
            Some(Stride::PagesFrom0)
        } else {
            self.flag("offset 1 returned records from the middle of the first page".into());
            None
        }
    }

    /// Checks and accepts page `index` (0-based); `false` when `total` moved (flagged: the
    /// walk is over).
    async fn take_page(
        &mut self,
        page: Page,
        total: u64,
        expected: u64,
        index: u64,
    ) -> Result<bool> {
        if page.total != total {
            self.flag(format!("`total` moved from {total} to {}", page.total));
            return Ok(false);
        }
        self.check_page(&page, total, expected, index);
        self.accept(page.items).await?;
        Ok(true)
    }

    /// Once no more than the stream's lookahead are unanswered, every request of the walk has
    /// been sent: the next scope's pages may go.
    fn tell_all_sent(&mut self, unanswered: u64) {
        if unanswered <= self.opts.ahead() as u64 {
            if let Some(all_sent) = self.all_sent.take() {
                let _ = all_sent.send(());
            }
        }
    }

    /// The answers to page requests `(tag, offset)`, as they come. Each request runs as its
    /// own task, so parsing and hashing pages (the CPU part of a walk) spreads over the
    /// runtime's threads instead of queueing behind one another. The client keeps
    /// `concurrency` requests on the wire; twice as many tasks let the next requests go out
    /// while answers wait to be parsed or written.
    fn requests(
        &self,
        requests: Vec<(Option<u64>, u64)>,
    ) -> impl futures::Stream<Item = (Option<u64>, Result<crate::api::client::Fetched>)> + use<>
    {
        let requests: Vec<_> = requests
            .into_iter()
            .map(|(tag, offset)| (tag, self.params(offset), self.client.clone()))
            .collect();
        stream::iter(requests)
            .map(|(tag, params, client)| {
                let mut task =
                    AbortOnDrop(tokio::spawn(
                        async move { client.list_images(&params).await },
                    ));
                async move {
                    let result = (&mut task.0).await;
                    let result = result.unwrap_or_else(|e| {
                        Err(Error::internal(format!("a page request failed: {e}")))
                    });
                    drop(task);
                    (tag, result)
                }
            })
            .buffer_unordered(self.opts.ahead())
    }

    fn check_page(&mut self, page: &Page, total: u64, expected: u64, index: u64) {
        let got = page.items.len() as u64;
        if got != expected {
            self.flag(format!(
                "page {} of {total} records held {got}, expected {expected}",
                index + 1
            ));
        }
    }
}

/// The offset of page `page` (0-based) of `n` records under a stride.
fn offset_of(stride: Stride, n: u64, page: u64) -> u64 {
    match stride {
        Stride::Records => page * n,
        Stride::PagesFrom0 => page,
        Stride::PagesFrom1 => page + 1,
    }
}

/// A spawned request that is cancelled when the walk stops waiting for it (a walk abandoned
/// because the catalog moved, an error, or Ctrl-C), instead of running on unobserved.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
