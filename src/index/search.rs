//! Running a search: the compiled query ([`super::compile`]) without typos, then with them when
//! the exact hits do not fill the page, then (plain words only, when asked for) the images that
//! match the most of the words; the hits of the point in time asked for, one per image, in a
//! reproducible order; their highlights ([`super::highlight`]).
//!
//! # Equal matches
//! Hits of equal score rank ACTIVE images first, then the newer `create_at`, `update_at`, id
//! (the contract's ties). The collector itself ranks by (score, [`RECENCY`], [`UPDATED`],
//! [`ID_RANK`]), fast fields of every document, so which documents make the cut never depends
//! on how the index is split into segments; the full id then orders what is left.
//!
//! # Partial matches
//! A query of two or more plain words that fewer images match in full than the limit is filled
//! up with images that match some of its words, after every full match: ranked by how many
//! words they match ([`EXACT`] each), then by which (each word adds the weight of the best field
//! it matched in, scaled by how rare the word is, at most [`PARTIAL_WEIGHT`] x 11 per word).
//! Their score is that divided by [`EXACT`] (the number of words matched and a fraction), so it
//! stays below every full match's; [`Hit::missing`] names the words they lack.

use std::collections::HashSet;

use serde::Serialize;
use tantivy::collector::{Count, FilterCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, EnableScoring, Occur, Query};
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TantivyDocument};

use super::analyze;
use super::compile::{Compiler, EXACT};
use super::query::{self, Term};
use super::request::SearchRequest;
use super::schema::{ID_RANK, LIVE, RECENCY, UPDATED};
use super::SearchIndex;
use crate::error::{Error, Result};
use crate::store::Store;

/// What a partial hit's word adds at most per point of field weight (its rarest: a word found
/// in a single document).
pub const PARTIAL_WEIGHT: f32 = 10.0;

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
    /// Whether this hit matches only some of the query's words (a partial match).
    pub partial: bool,
    /// The query words a partial hit does not match, as typed (empty for a full match).
    pub missing: Vec<String>,
    #[serde(skip)]
    pub highlights: Highlights,
    #[serde(skip)]
    scope_id: u64,
    /// The collector's ranking of the hit's document.
    #[serde(skip)]
    key: Key,
    #[serde(skip)]
    addr: DocAddress,
}

/// How the collector ranks a document: the score, then [`RECENCY`], [`UPDATED`] and
/// [`ID_RANK`], each higher first.
type Key = (Score, u64, u64, u64);

/// A document as the collector ranks it.
type Ranked = (Key, DocAddress);

fn first_str(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
}

fn first_u64(doc: &TantivyDocument, field: Field) -> u64 {
    doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0)
}

impl SearchIndex {
    /// Runs a search. A malformed query or filter is a usage error (exit 2); a panic inside the
    /// index (damage the open could not see) is an error, not a crash.
    pub fn search(&self, opts: &SearchRequest) -> Result<Vec<Hit>> {
        crate::crash::caught(|| self.search_unguarded(opts)).unwrap_or_else(|panic| {
            Err(Error::internal(format!(
                "the search panicked in the index: {panic}"
            )))
        })
    }

    /// Runs a search on the index opened from `store`, healing it if the search fails inside
    /// it ([`or_heal`](Self::or_heal)). Returns the hits, and the new index when it was rebuilt
    /// (to use from then on).
    pub fn search_or_heal(
        &self,
        store: &Store,
        opts: &SearchRequest,
    ) -> Result<(Vec<Hit>, Option<SearchIndex>)> {
        self.or_heal(store, "a search", |ix| ix.search(opts))
    }

    /// Asks `ask` of this index (opened from `store`); when it fails inside the index (an error
    /// or a panic there: damage that opening could not see), rebuilds the index from the
    /// database, says so once (naming `what` failed), and asks the rebuilt one. A usage error
    /// is the caller's, not damage. Returns the answer, and the rebuilt index when there is one.
    pub(super) fn or_heal<T>(
        &self,
        store: &Store,
        what: &str,
        ask: impl Fn(&SearchIndex) -> Result<T>,
    ) -> Result<(T, Option<SearchIndex>)> {
        match ask(self) {
            Ok(answer) => Ok((answer, None)),
            Err(e @ Error::Usage(_)) => Err(e),
            Err(e) => {
                let healed = SearchIndex::heal(store, &format!("{what} failed on it ({e})"))?;
                let answer = ask(&healed)?;
                Ok((answer, Some(healed)))
            }
        }
    }

    fn search_unguarded(&self, opts: &SearchRequest) -> Result<Vec<Hit>> {
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
        if hits.len() < limit && opts.partial() {
            if let Some(words) = query::plain_words(opts.query()) {
                self.fill_partial(&words, &filter, limit, opts, &mut hits)?;
            }
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
                    score: (f64::from(score.0) * 1000.0).round() / 1000.0,
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
                    partial: false,
                    missing: Vec::new(),
                    highlights: Highlights::default(),
                    scope_id,
                    key: score,
                    addr,
                });
            }
            if hits.len() >= limit || fetched < want {
                break;
            }
            want *= 4;
        }
        // As the collector ranked them, then by the whole id (newer, i.e. larger, first) and
        // scope: a total order.
        hits.sort_by(|a, b| {
            b.key
                .0
                .total_cmp(&a.key.0)
                .then_with(|| (b.key.1, b.key.2, b.key.3).cmp(&(a.key.1, a.key.2, a.key.3)))
                .then_with(|| b.id.cmp(&a.id))
                .then_with(|| a.scope_id.cmp(&b.scope_id))
        });
        hits.truncate(limit);
        Ok(hits)
    }

    /// The best `want` documents by [`Key`], among the versions live at `run` (or, with
    /// `include_removed`, any version that existed by then).
    fn top(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        want: usize,
        run: i64,
        include_removed: bool,
    ) -> tantivy::Result<Vec<Ranked>> {
        let top = TopDocs::with_limit(want).tweak_score(|seg: &SegmentReader| {
            let column = |name: &str| {
                seg.fast_fields()
                    .u64(name)
                    .ok()
                    .map(|c| c.first_or_default_col(0))
            };
            let (recency, updated, id) = (column(RECENCY), column(UPDATED), column(ID_RANK));
            move |doc: DocId, score: Score| -> Key {
                let at = |c: &Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>| {
                    c.as_ref().map_or(0, |c| c.get_val(doc))
                };
                (score, at(&recency), at(&updated), at(&id))
            }
        });
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

impl SearchIndex {
    /// Fills `hits` (every full match) up to `limit` with images that match some of `words`,
    /// ranked as the module says, each naming the words it misses.
    fn fill_partial(
        &self,
        words: &[Term],
        filter: &Option<Box<dyn Query>>,
        limit: usize,
        opts: &SearchRequest,
        hits: &mut Vec<Hit>,
    ) -> Result<()> {
        let err = |e: tantivy::TantivyError| Error::internal(format!("search failed: {e}"));
        let searcher = self.reader.searcher();
        let docs = searcher.num_docs().max(2) as f32;
        let mut c = Compiler::new(&self.fields, false);
        // Each word's clause scores the weight of the best field it matches in.
        c.base = 0.0;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut each: Vec<(&str, Option<Box<dyn Query>>)> = Vec::new();
        for t in words {
            let q = match c.term(t)? {
                Some(q) => q,
                None => continue,
            };
            let found = searcher.search(&*q, &Count).map_err(err)?;
            if found == 0 {
                each.push((&t.text, None));
                continue;
            }
            // Rarer words weigh more: 1 for a word in one document, 0 for one in all.
            let rarity = ((docs / found as f32).ln() / docs.ln()).clamp(0.0, 1.0);
            should.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(q.box_clone(), EXACT)),
            ));
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(q.box_clone(), PARTIAL_WEIGHT * rarity)),
            ));
            each.push((&t.text, Some(q)));
        }
        if should.is_empty() {
            return Ok(());
        }
        let mut query: Box<dyn Query> = Box::new(BooleanQuery::new(should));
        if let Some(f) = filter {
            query = Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                (Occur::Must, f.box_clone()),
            ]));
        }
        // The full matches match again here: fetch enough to fill the page past them.
        let more = self.collect(&*query, limit + hits.len(), opts)?;
        let seen: HashSet<(u64, String)> =
            hits.iter().map(|h| (h.scope_id, h.id.clone())).collect();
        let scoring = EnableScoring::disabled_from_searcher(&searcher);
        let weights = each
            .iter()
            .map(|(text, q)| Ok((*text, q.as_ref().map(|q| q.weight(scoring)).transpose()?)))
            .collect::<tantivy::Result<Vec<_>>>()
            .map_err(err)?;
        for mut h in more {
            if hits.len() >= limit {
                break;
            }
            if seen.contains(&(h.scope_id, h.id.clone())) {
                continue;
            }
            let reader = searcher.segment_reader(h.addr.segment_ord);
            for (text, w) in &weights {
                let matched = match w {
                    Some(w) => {
                        let mut s = w.scorer(reader, 1.0).map_err(err)?;
                        let (at, doc) = (s.doc(), h.addr.doc_id);
                        at == doc || (at < doc && s.seek(doc) == doc)
                    }
                    None => false,
                };
                if !matched {
                    h.missing.push(text.to_string());
                }
            }
            h.partial = !h.missing.is_empty();
            h.score = (f64::from(h.key.0) / f64::from(EXACT) * 1000.0).round() / 1000.0;
            hits.push(h);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tantivy::indexer::NoMergePolicy;
    use tantivy::{Index, IndexWriter};

    use super::*;
    use crate::index::commit::Payload;
    use crate::index::schema::{self, Fields};
    use crate::index::{reader, Action, IndexReport};
    use crate::store::feed::IndexedVersion;

    /// Every image of the fixture's latest day, one live version each (run 1).
    fn fixture() -> (Vec<IndexedVersion>, Vec<serde_json::Value>) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalog-day3.json");
        let text = std::fs::read_to_string(path).expect("the fixture");
        let images: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON");
        let versions = images
            .iter()
            .enumerate()
            .map(|(i, img)| IndexedVersion {
                version_id: i as i64 + 1,
                scope_id: if img["workspace_id"] == "0" { 1 } else { 2 },
                image_id: img["id"].as_str().expect("an id").to_string(),
                valid_from: 1,
                valid_to: None,
                raw: img.to_string(),
            })
            .collect();
        (versions, images)
    }

    /// An index of `versions` (in that order), one segment per `per_segment` documents.
    fn index_of(versions: &[IndexedVersion], per_segment: usize) -> SearchIndex {
        let index = Index::builder()
            .schema(schema::schema())
            .settings(schema::settings())
            .create_in_ram()
            .expect("an index");
        schema::register_tokenizers(&index);
        let fields = Fields::new(&index.schema()).expect("fields");
        let mut w: IndexWriter<TantivyDocument> = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("a writer");
        w.set_merge_policy(Box::new(NoMergePolicy));
        for chunk in versions.chunks(per_segment) {
            for v in chunk {
                w.add_document(fields.document(v)).expect("added");
            }
            w.commit().expect("committed");
        }
        let reader = reader(&index).expect("a reader");
        SearchIndex {
            reader,
            fields,
            payload: Payload {
                format: schema::FORMAT,
                run_id: 1,
                run_started_at: 0,
                max_version_id: versions.len() as i64,
            },
            report: IndexReport {
                action: Action::Rebuilt,
                run_id: 1,
                written: versions.len() as u64,
                documents: versions.len() as u64,
                duration_ms: 0,
            },
        }
    }

    /// The SDK's newer fields: `show_name`/`show_tag` by `show_name:`, tag keys and values by
    /// `tags:` (and by plain words, after the name).
    #[test]
    fn show_names_and_tag_keys_and_values_are_searchable() {
        let (mut versions, _) = fixture();
        let raw = serde_json::json!({
            "id": "tagged-0001", "name": "custom-trainer", "tag": "v1", "status": "ACTIVE",
            "show_name": "Team Trainer", "show_tag": "stable-2026",
            "tags": [{"key": "costcenter", "value": "vision-team"}, {"key": "gpuquota"}],
            "workspace_id": "0", "type": "DEDICATED"
        });
        versions.push(IndexedVersion {
            version_id: versions.len() as i64 + 1,
            scope_id: 1,
            image_id: "tagged-0001".into(),
            valid_from: 1,
            valid_to: None,
            raw: raw.to_string(),
        });
        let index = index_of(&versions, versions.len());
        for q in [
            "tags:costcenter",
            "tags:vision-team",
            "tags:gpuquota",
            "show_name:trainer",
            "show_name:stable-2026",
            "gpuquota",
        ] {
            // First: an exact match ranks above what typos or partial words add.
            assert_eq!(
                ids(&index, q, 5).first().map(String::as_str),
                Some("tagged-0001"),
                "{q}"
            );
        }
        assert!(ids(&index, "tags:nothing-like-it", 5).is_empty());
        // A fixture image's tag, `{"key": "tier", "value": "base"}`.
        assert_eq!(
            ids(&index, "tags:tier", 1),
            vec!["b757674f-18a3-5cad-8202-79054c3b4b2b".to_string()]
        );
    }

    fn ids(index: &SearchIndex, query: &str, limit: u64) -> Vec<String> {
        let req = SearchRequest::new(query)
            .and_then(|r| r.with_limit(limit))
            .expect("a valid request");
        let hits = index.search(&req).expect("a search");
        hits.into_iter().map(|h| h.id).collect()
    }

    #[test]
    fn equal_matches_come_in_one_order_whatever_the_segments() {
        let (versions, _) = fixture();
        let one = index_of(&versions, versions.len());
        let mut reversed = versions.clone();
        reversed.reverse();
        let many = index_of(&reversed, 7);
        assert_eq!(one.reader.searcher().segment_readers().len(), 1);
        assert!(many.reader.searcher().segment_readers().len() > 10);
        for query in [
            "*",
            "pytorch",
            "mindspore",
            "snt9b",
            "cuda 11.1",
            "vllm-ascend-serving",
            "notebook ssh",
            "llm inference",
            "training",
            "ascend -pytorch",
        ] {
            // A small limit cuts through equal matches: which make the cut must not depend on
            // the layout either.
            for limit in [3, 5, 50] {
                assert_eq!(
                    ids(&one, query, limit),
                    ids(&many, query, limit),
                    "{query} --limit {limit}"
                );
            }
        }
    }

    #[test]
    fn equal_matches_rank_active_then_newer() {
        let (versions, images) = fixture();
        let index = index_of(&versions, 11);
        let req = SearchRequest::new("*")
            .and_then(|r| r.with_limit(1000))
            .expect("a valid request");
        let hits = index.search(&req).expect("a search");
        assert!(hits.len() > 100 && hits.iter().all(|h| h.score == hits[0].score));
        let key = |id: &str| {
            let i = images.iter().find(|i| i["id"] == id).expect("an image");
            (
                i["status"] == "ACTIVE",
                i["create_at"].as_i64().unwrap_or(0),
                i["update_at"].as_i64().unwrap_or(0),
                id.to_string(),
            )
        };
        let keys: Vec<_> = hits.iter().map(|h| key(&h.id)).collect();
        for w in keys.windows(2) {
            assert!(w[0] >= w[1], "{:?} before {:?}", w[0], w[1]);
        }
        // Three versions of one image name: the newest first.
        let got = ids(&index, "vllm-ascend-serving", 3);
        let short: Vec<&str> = got.iter().map(|id| &id[..8]).collect();
        assert_eq!(short, ["6d333c96", "0c422ca1", "893efd62"]);
    }

    #[test]
    fn partial_matches_follow_every_full_match_and_name_what_they_miss() {
        let (versions, _) = fixture();
        let index = index_of(&versions, 20);
        let search = |q: &str, partial: bool| {
            let req = SearchRequest::new(q)
                .and_then(|r| r.with_limit(10))
                .expect("a valid request")
                .with_partial(partial);
            index.search(&req).expect("a search")
        };
        let hits = search("distributed training horovod", true);
        let full = hits.iter().take_while(|h| !h.partial).count();
        assert!(full >= 2 && hits.len() == 10, "{hits:#?}");
        let mut matched = usize::MAX;
        for h in &hits[full..] {
            assert!(
                h.partial && !h.missing.is_empty() && h.missing.len() < 3,
                "{h:?}"
            );
            assert!(h.score < hits[full - 1].score);
            // More words matched first.
            assert!(3 - h.missing.len() <= matched);
            matched = 3 - h.missing.len();
        }
        assert!(hits[..full].iter().all(|h| h.missing.is_empty()));
        // Strict: no partial matches when switched off.
        assert_eq!(search("distributed training horovod", false).len(), full);
        // Nothing matches every word: the closest come, the missing word as typed.
        let hits = search("Operations Research SOLVER", true);
        assert_eq!(hits[0].id, "b9933af0-3119-4045-a427-5e668327dafd");
        assert_eq!(hits[0].missing, ["SOLVER"]);
        assert!(search("Operations Research SOLVER", false).is_empty());
        // Operators, phrases, fields and prefixes stay strict.
        for q in [
            "\"operations research solver\"",
            "operations AND research AND solver",
            "operations research description:solver",
            "operations research solver*",
        ] {
            assert!(search(q, true).iter().all(|h| !h.partial), "{q}");
        }
    }

    #[test]
    fn chip_codes_are_exact() {
        let (versions, images) = fixture();
        let index = index_of(&versions, versions.len());
        let text = |id: &str| {
            let i = images.iter().find(|i| i["id"] == id).expect("an image");
            ["name", "tag", "swr_path"]
                .iter()
                .map(|f| i[f].as_str().unwrap_or("").to_lowercase())
                .collect::<Vec<_>>()
                .join(" ")
        };
        // The code followed by no letter or digit.
        let has_code = |t: &str, code: &str| {
            t.match_indices(code).any(|(at, _)| {
                !t[at + code.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
            })
        };
        // (code, a longer code, whether the fixture has the code itself)
        for (code, longer, exists) in [
            ("snt9", "snt9b", true),
            ("snt3", "snt3p", false),
            ("910", "910b", true),
            ("snt9b", "snt9b23", true),
        ] {
            let req = SearchRequest::new(code)
                .and_then(|r| r.with_limit(1000))
                .expect("a valid request");
            let hits = index.search(&req).expect("a search");
            let exact = hits.iter().take_while(|h| h.score >= 1000.0).count();
            assert_eq!(exact > 0, exists, "{code}");
            for h in &hits[..exact] {
                assert!(has_code(&text(&h.id), code), "{code}: {}", text(&h.id));
            }
            // The longer codes are no exact match; as a prefix they come after every one.
            let longer_only =
                |h: &Hit| !has_code(&text(&h.id), code) && text(&h.id).contains(longer);
            assert!(!hits[..exact].iter().any(longer_only), "{code}");
        }
        // A version matches longer versions on a dot boundary only: `2.1` is `2.1.0`, never
        // `2.10`.
        let req = SearchRequest::new("pytorch 2.1")
            .and_then(|r| r.with_limit(1000))
            .expect("valid")
            .with_partial(false);
        let hits = index.search(&req).expect("a search");
        assert!(!hits.is_empty());
        for h in hits {
            let t = format!(
                "{} {}",
                text(&h.id),
                h.description.unwrap_or_default().to_lowercase()
            );
            let dotted = t.match_indices("2.1").any(|(at, _)| {
                !t[at + 3..].starts_with(|c: char| c.is_ascii_digit())
                    && !t[..at].ends_with(|c: char| c.is_ascii_digit() || c == '.')
            });
            assert!(dotted, "pytorch 2.1: {t}");
        }
    }
}
