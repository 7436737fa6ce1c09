//! Running a search: the compiled query ([`super::compile`]) without typos, then with them when
//! the exact hits do not fill the page; the hits of the point in time asked for, one per image,
//! in a stable order (equal scores: shorter names first, then by name); their highlights
//! ([`super::highlight`]).

use std::collections::HashSet;

use serde::Serialize;
use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::query::Query;
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, Score, Searcher, TantivyDocument};

use super::analyze;
use super::compile::Compiler;
use super::request::SearchRequest;
use super::schema::LIVE;
use super::SearchIndex;
use crate::error::{Error, Result};

/// Byte ranges of matched words in a hit's fields, for highlighting.
#[derive(Debug, Clone, Default)]
pub struct Highlights {
    pub name: Vec<(usize, usize)>,
    pub tag: Vec<(usize, usize)>,
    pub description: Vec<(usize, usize)>,
}

/// One hit: a version of an image.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub name: Option<String>,
    pub tag: Option<String>,
    pub score: f64,
    pub description: Option<String>,
    pub arch: Option<String>,
    #[serde(rename = "type")]
    pub image_type: Option<String>,
    pub service_type: Option<String>,
    pub status: Option<String>,
    pub swr_path: Option<String>,
    pub namespace: Option<String>,
    /// Whether this version is in the catalog at the point in time searched.
    pub live: bool,
    /// The run range in which this version was in the catalog: from `valid_from` until
    /// `valid_to` (exclusive; null while it still is).
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    #[serde(skip)]
    pub highlights: Highlights,
    #[serde(skip)]
    scope_id: u64,
}

/// A document as the collector ranks it.
type Ranked = (Score, DocAddress);
fn first_str(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
}

fn first_u64(doc: &TantivyDocument, field: Field) -> u64 {
    doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0)
}

impl SearchIndex {
    /// Runs a search. A malformed query or filter is a usage error (exit 2).
    pub fn search(&self, opts: &SearchRequest) -> Result<Vec<Hit>> {
        if opts.unresolved() {
            return Err(Error::internal(
                "the search's point in time was not resolved against the mirror",
            ));
        }
        let expr = opts.expr();
        let limit = opts.limit().max(1);
        let filter = self.filter(opts)?;
        // Typos rank below every exact match, so they are looked for only when the exact
        // matches do not fill the page; the hits they add come after the exact ones.
        let mut c = Compiler::new(&self.fields, false);
        let exact = self.compile(&mut c, expr, opts.query(), &filter)?;
        let mut hits = self.collect(&*exact, limit, opts)?;
        if hits.len() < limit && c.typos_possible {
            let mut fuzzy = Compiler::new(&self.fields, true);
            let q = self.compile(&mut fuzzy, expr, opts.query(), &filter)?;
            // The exact hits match again here: fetch enough to fill the page past them.
            let more = self.collect(&*q, limit + hits.len(), opts)?;
            let seen: HashSet<(u64, String)> =
                hits.iter().map(|h| (h.scope_id, h.id.clone())).collect();
            hits.extend(
                more.into_iter()
                    .filter(|h| !seen.contains(&(h.scope_id, h.id.clone())))
                    .take(limit - hits.len()),
            );
            c = fuzzy;
        }
        if opts.highlight() {
            self.highlight_hits(&c, &mut hits);
        }
        Ok(hits)
    }

    /// The query of a search with no limit: every image it can find, typos included (what
    /// [`super::matches`] runs for a watch). Every word must match: no partial matches.
    pub(super) fn unlimited_query(&self, opts: &SearchRequest) -> Result<Box<dyn Query>> {
        let filter = self.filter(opts)?;
        let mut c = Compiler::new(&self.fields, false);
        let exact = self.compile(&mut c, opts.expr(), opts.query(), &filter)?;
        if !c.typos_possible {
            return Ok(exact);
        }
        self.compile(
            &mut Compiler::new(&self.fields, true),
            opts.expr(),
            opts.query(),
            &filter,
        )
    }

    /// The best `limit` hits of a query, one per image (a search with history can match several
    /// versions of one image: the best one stands for it).
    fn collect(&self, query: &dyn Query, limit: usize, opts: &SearchRequest) -> Result<Vec<Hit>> {
        let f = &self.fields;
        let run = opts.run().unwrap_or(self.payload.run_id);
        let searcher = self.reader.searcher();
        let mut want = if opts.include_removed() {
            limit * 4 + 16
        } else {
            limit
        };
        let mut hits: Vec<Hit>;
        loop {
            let top = self
                .top(&searcher, query, want, run, opts.include_removed())
                .map_err(|e| Error::internal(format!("search failed: {e}")))?;
            let fetched = top.len();
            hits = Vec::with_capacity(fetched.min(limit));
            let mut seen: HashSet<(u64, String)> = HashSet::new();
            for (score, addr) in top {
                let doc: TantivyDocument = searcher
                    .doc(addr)
                    .map_err(|e| Error::internal(format!("reading a hit failed: {e}")))?;
                let id = first_str(&doc, f.image_id).unwrap_or_default();
                let scope_id = first_u64(&doc, f.scope_id);
                if !seen.insert((scope_id, id.clone())) {
                    continue;
                }
                let valid_from = first_u64(&doc, f.valid_from) as i64;
                let valid_to = match first_u64(&doc, f.valid_to) {
                    LIVE => None,
                    t => Some(t as i64),
                };
                hits.push(Hit {
                    id,
                    name: first_str(&doc, f.name),
                    tag: first_str(&doc, f.tag).map(|v| analyze::without_base(&v).to_string()),
                    score: (f64::from(score) * 1000.0).round() / 1000.0,
                    description: first_str(&doc, f.description),
                    arch: first_str(&doc, f.arch),
                    image_type: first_str(&doc, f.image_type),
                    service_type: first_str(&doc, f.service_type),
                    status: first_str(&doc, f.status),
                    swr_path: first_str(&doc, f.swr_path)
                        .map(|v| analyze::without_base(&v).to_string()),
                    namespace: first_str(&doc, f.namespace),
                    live: valid_from <= run && valid_to.is_none_or(|t| t > run),
                    valid_from,
                    valid_to,
                    highlights: Highlights::default(),
                    scope_id,
                });
            }
            if hits.len() >= limit || fetched < want {
                break;
            }
            want *= 4;
        }
        // Equal scores in a stable order: shorter names, then by name (as the collector ordered
        // them), tag, id.
        let lower = |n: &Option<String>| n.as_deref().map(str::to_lowercase);
        let len = |n: &Option<String>| n.as_deref().map_or(0, |n| n.chars().count());
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| len(&a.name).cmp(&len(&b.name)))
                .then_with(|| lower(&a.name).cmp(&lower(&b.name)))
                .then_with(|| a.tag.cmp(&b.tag))
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.scope_id.cmp(&b.scope_id))
        });
        hits.truncate(limit);
        Ok(hits)
    }

    /// The best `want` documents by score, then name, among the versions live at `run` (or,
    /// with `include_removed`, any version that existed by then).
    fn top(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        want: usize,
        run: i64,
        include_removed: bool,
    ) -> tantivy::Result<Vec<Ranked>> {
        // Equal scores come in document order, which is name-rank order (see
        // `schema::settings`): no per-document tie-break.
        let top = TopDocs::with_limit(want).order_by_score();
        let run = run.max(0) as u64;
        let latest = run >= self.payload.run_id.max(0) as u64;
        let from = move |v: u64| v <= run;
        let field = |name: &str| name.to_string();
        match (include_removed, latest) {
            (false, true) => searcher.search(
                query,
                &FilterCollector::new(field("valid_to"), |v: u64| v == LIVE, top),
            ),
            (false, false) => searcher.search(
                query,
                &FilterCollector::new(
                    field("valid_from"),
                    from,
                    FilterCollector::new(field("valid_to"), move |v: u64| v > run, top),
                ),
            ),
            (true, false) => {
                searcher.search(query, &FilterCollector::new(field("valid_from"), from, top))
            }
            (true, true) => searcher.search(query, &top),
        }
    }
}
