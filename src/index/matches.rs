//! Every match of a search at two points in time, for watches: which images started or stopped
//! matching between two committed runs, or matched at both with different content.
//!
//! A search answers its best N hits; a watch needs all of them, at two runs. Whether an image
//! matches at a run depends only on the version live at that run, so a version live at both runs
//! matches at both or at neither: only versions live at exactly one of the two runs can make a
//! difference. The query is run once over the whole history (no scoring, no top-N heap); a
//! collector keeps, from the fast fields alone, the matching versions live at exactly one of the
//! two runs, and only those few documents are read. The cost is one pass over the matches,
//! whatever the size of the catalog, and a few document reads per image that changed.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::schema::Value;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument};

use super::schema::LIVE;
use super::{SearchIndex, SearchRequest};
use crate::error::{Error, Result};
use crate::store::Store;

/// A version that matches the query and is live at exactly one of the two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedVersion {
    pub scope_id: i64,
    pub image_id: String,
    /// The run the version starts in (with scope and image, it names the `versions` row).
    pub valid_from: i64,
    /// Live at the earlier run (else at the later one).
    pub at_from: bool,
}

impl SearchIndex {
    /// The versions matching `opts` (its query and filters; its limit, point in time and
    /// `include_removed` are ignored) that are live at exactly one of runs `from` and `to`.
    /// A malformed query is a usage error.
    pub fn matches_between(
        &self,
        opts: &SearchRequest,
        from: i64,
        to: i64,
    ) -> Result<Vec<MatchedVersion>> {
        // Damage that opening could not see fails the watch's check, not the process.
        crate::crash::caught(|| self.matches_between_unguarded(opts, from, to)).unwrap_or_else(
            |panic| {
                Err(Error::internal(format!(
                    "a watch's search panicked in the index ({panic})"
                )))
            },
        )
    }

    /// [`matches_between`](Self::matches_between) on the index opened from `store`, healing it
    /// if the search fails inside it ([`or_heal`](Self::or_heal)). Returns the new index when
    /// it was rebuilt, for the watches checked after this one.
    pub fn matches_between_or_heal(
        &self,
        store: &Store,
        opts: &SearchRequest,
        from: i64,
        to: i64,
    ) -> Result<(Vec<MatchedVersion>, Option<SearchIndex>)> {
        self.or_heal(store, "a watch's search", |ix| {
            ix.matches_between(opts, from, to)
        })
    }

    fn matches_between_unguarded(
        &self,
        opts: &SearchRequest,
        from: i64,
        to: i64,
    ) -> Result<Vec<MatchedVersion>> {
        let query = self.unlimited_query(opts)?;
        let searcher = self.reader.searcher();
        let found = searcher
            .search(&*query, &OneSided { from, to })
            .map_err(|e| Error::internal(format!("search failed: {e}")))?;
        let mut out = Vec::with_capacity(found.len());
        for (addr, valid_from, at_from) in found {
            let doc: TantivyDocument = searcher
                .doc(addr)
                .map_err(|e| Error::internal(format!("reading a hit failed: {e}")))?;
            let text = |f| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let scope_id = doc
                .get_first(self.fields.scope_id)
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as i64;
            out.push(MatchedVersion {
                scope_id,
                image_id: text(self.fields.image_id).unwrap_or_default(),
                valid_from: valid_from as i64,
                at_from,
            });
        }
        Ok(out)
    }
}

/// Live at run `r`: started at or before it, not ended by it.
fn live(valid_from: u64, valid_to: u64, r: u64) -> bool {
    valid_from <= r && (valid_to == LIVE || valid_to > r)
}

/// Collects (document, valid_from, live at `from`) of matches live at exactly one of two runs.
struct OneSided {
    from: i64,
    to: i64,
}

struct OneSidedSegment {
    segment: SegmentOrdinal,
    from: u64,
    to: u64,
    valid_from: Column<u64>,
    valid_to: Column<u64>,
    found: Vec<(DocAddress, u64, bool)>,
}

impl Collector for OneSided {
    type Fruit = Vec<(DocAddress, u64, bool)>;
    type Child = OneSidedSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<OneSidedSegment> {
        let fast = reader.fast_fields();
        Ok(OneSidedSegment {
            segment,
            from: self.from.max(0) as u64,
            to: self.to.max(0) as u64,
            valid_from: fast.u64("valid_from")?,
            valid_to: fast.u64("valid_to")?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for OneSidedSegment {
    type Fruit = Vec<(DocAddress, u64, bool)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let (Some(vf), Some(vt)) = (self.valid_from.first(doc), self.valid_to.first(doc)) else {
            return;
        };
        let (at_from, at_to) = (live(vf, vt, self.from), live(vf, vt, self.to));
        if at_from != at_to {
            self.found
                .push((DocAddress::new(self.segment, doc), vf, at_from));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_run_range() {
        assert!(live(1, LIVE, 1));
        assert!(live(1, 3, 2));
        assert!(!live(1, 3, 3));
        assert!(!live(2, LIVE, 1));
    }
}
