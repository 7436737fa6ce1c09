//! One search request, whoever asks: `macat search` builds it from its flags, `serve`'s search
//! endpoint from its query parameters, a saved search from the values it keeps. Each value is
//! checked here, once, as it is set (the query is parsed, the limit and the filters are checked,
//! the point in time is read), so every caller refuses the same things; each caller only words
//! the refusal its own way ([`Invalid`]'s `Display` for a command line,
//! [`Invalid::as_parameter`] for a query-parameter API).

use std::fmt;

use chrono::{DateTime, Utc};

use super::analyze::QueryAnalyzer;
use super::query::{self, Expr, QueryError};
use crate::error::Result;
use crate::store::Store;
use crate::when::When;

/// The enum fields searches can be filtered on (the names `field:value`, the filter flags and
/// the endpoint's parameters use).
pub const FILTERS: [&str; 6] = [
    "arch",
    "service_type",
    "type",
    "status",
    "dev_service",
    "category",
];

/// The values of the `category` filter (any case).
pub const CATEGORIES: [&str; 3] = ["CPU", "GPU", "ASCEND"];

/// Hits returned when no limit is given.
pub const DEFAULT_LIMIT: usize = 20;

/// The most hits a request may ask for.
pub const MAX_LIMIT: u64 = 10_000;

/// A checked search: what to look for, how many hits, among what, and when.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    query: String,
    /// The query, parsed once when the request is made.
    expr: Expr,
    limit: usize,
    /// Filters on enum fields: (field name from [`FILTERS`], value), e.g. ("arch", "aarch64").
    filters: Vec<(&'static str, String)>,
    /// The point in time asked for; `None` is the run the index reflects (the latest).
    as_of: Option<When>,
    /// The committed run `as_of` names, once resolved against the mirror.
    run: Option<i64>,
    include_removed: bool,
    /// Only these scopes (e.g. those of one project); `None` means every scope.
    scopes: Option<Vec<i64>>,
    /// Fill [`super::search::Hit::highlights`] (for a terminal; scripts do not need them).
    highlight: bool,
    /// Fill the hits up with partial matches ([`SearchRequest::with_partial`]).
    partial: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The query does not parse.
    Query(QueryError),
    /// A limit that is not a number from 1 to [`MAX_LIMIT`] (as given).
    Limit(String),
    /// A category that is not one of [`CATEGORIES`] (as given).
    Category(String),
    /// A filter with nothing to match (an empty value).
    EmptyFilter(&'static str),
    /// A filter on no field of [`FILTERS`].
    UnknownFilter(String),
    /// A point in time that cannot be read (why).
    AsOf(String),
}

impl fmt::Display for Invalid {
    /// The refusal as a command line says it (named by flag).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Query(e) => write!(f, "{e}"),
            Invalid::Limit(v) => write!(f, "--limit: {v:?} is not a number from 1 to {MAX_LIMIT}"),
            Invalid::Category(v) => write!(f, "--category: {v:?} is not CPU, GPU or ASCEND"),
            Invalid::EmptyFilter(name) => write!(f, "--{}: needs a value", name.replace('_', "-")),
            Invalid::UnknownFilter(name) => {
                write!(f, "no filter named {name:?}: one of {}", FILTERS.join(", "))
            }
            Invalid::AsOf(why) => write!(f, "{why}"),
        }
    }
}

impl Invalid {
    /// The refusal as a query-parameter API says it (named by parameter).
    pub fn as_parameter(&self) -> String {
        match self {
            Invalid::Limit(v) => {
                format!("invalid parameter `limit`: {v:?} (a number from 1 to {MAX_LIMIT})")
            }
            Invalid::Category(v) => {
                format!("invalid parameter `category`: {v:?} (CPU, GPU or ASCEND)")
            }
            Invalid::AsOf(why) => format!("invalid parameter `as_of`: {why}"),
            other => other.to_string(),
        }
    }
}

impl SearchRequest {
    /// A search for `query` (malformed: [`Invalid::Query`]): [`DEFAULT_LIMIT`] hits, no
    /// filter, the latest run, images still in the catalog, every scope, no highlights,
    /// partial matches on.
    pub fn new(query: &str) -> std::result::Result<SearchRequest, Invalid> {
        let expr = query::parse(query).map_err(Invalid::Query)?;
        Ok(SearchRequest {
            query: query.to_string(),
            expr,
            limit: DEFAULT_LIMIT,
            filters: Vec::new(),
            as_of: None,
            run: None,
            include_removed: false,
            scopes: None,
            highlight: false,
            partial: true,
        })
    }

    /// At most `limit` hits, from 1 to [`MAX_LIMIT`].
    pub fn with_limit(self, limit: u64) -> std::result::Result<SearchRequest, Invalid> {
        self.with_limit_text(&limit.to_string())
    }

    /// The limit as text (a query parameter, a stored value).
    pub fn with_limit_text(mut self, text: &str) -> std::result::Result<SearchRequest, Invalid> {
        match text.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => {
                self.limit = n as usize;
                Ok(self)
            }
            _ => Err(Invalid::Limit(text.to_string())),
        }
    }

    /// Only images whose enum field `name` (one of [`FILTERS`]) is `value` (any case).
    pub fn with_filter(
        mut self,
        name: &str,
        value: &str,
    ) -> std::result::Result<SearchRequest, Invalid> {
        let name = FILTERS
            .iter()
            .copied()
            .find(|f| *f == name)
            .ok_or_else(|| Invalid::UnknownFilter(name.to_string()))?;
        if name == "category" && !CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(value)) {
            return Err(Invalid::Category(value.to_string()));
        }
        if QueryAnalyzer::default().enum_value(value).is_none() {
            return Err(Invalid::EmptyFilter(name));
        }
        self.filters.push((name, value.to_string()));
        Ok(self)
    }

    /// The catalog as it was at `when` (`YYYY-MM-DD`, RFC 3339, `run:N`, `latest`, `36h`...,
    /// relative to `now`); [`SearchRequest::resolve`] then finds the run it names.
    pub fn with_as_of(
        mut self,
        when: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<SearchRequest, Invalid> {
        let when = When::parse(when, now).map_err(|e| Invalid::AsOf(e.to_string()))?;
        self.as_of = Some(when);
        self.run = None;
        Ok(self)
    }

    /// The catalog as it was after the committed run `run_id` (already known to exist).
    pub fn at_run(mut self, run_id: i64) -> SearchRequest {
        self.as_of = Some(When::Run(run_id));
        self.run = Some(run_id);
        self
    }

    /// Also find versions no longer in the catalog at the point in time.
    pub fn with_include_removed(mut self, include_removed: bool) -> SearchRequest {
        self.include_removed = include_removed;
        self
    }

    /// Only the images of these scopes.
    pub fn with_scopes(mut self, scopes: Vec<i64>) -> SearchRequest {
        self.scopes = Some(scopes);
        self
    }

    /// Mark the matched words of each hit.
    pub fn with_highlight(mut self, highlight: bool) -> SearchRequest {
        self.highlight = highlight;
        self
    }

    /// Whether a query of plain words that fewer images match in full than the limit is filled
    /// up with images matching some of its words (marked [`super::search::Hit::partial`]).
    /// On by default: what `macat search` and `serve` answer people. A saved search (a watch)
    /// turns it off: its matches are the images that match every word.
    pub fn with_partial(mut self, partial: bool) -> SearchRequest {
        self.partial = partial;
        self
    }

    /// Finds the committed run the point in time names in `store` (a point before the first
    /// run, or a run that does not exist, is a usage error).
    pub fn resolve(&mut self, store: &Store) -> Result<()> {
        if let Some(when) = &self.as_of {
            self.run = Some(store.resolve(when)?.run_id);
        }
        Ok(())
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub(super) fn expr(&self) -> &Expr {
        &self.expr
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn filters(&self) -> &[(&'static str, String)] {
        &self.filters
    }

    /// The committed run searched: `None` for the latest (or a point not resolved yet).
    pub fn run(&self) -> Option<i64> {
        self.run
    }

    /// Whether a point in time was asked for but not resolved against the mirror.
    pub(super) fn unresolved(&self) -> bool {
        self.as_of.is_some() && self.run.is_none()
    }

    pub fn include_removed(&self) -> bool {
        self.include_removed
    }

    pub fn scopes(&self) -> Option<&[i64]> {
        self.scopes.as_deref()
    }

    pub fn highlight(&self) -> bool {
        self.highlight
    }

    pub fn partial(&self) -> bool {
        self.partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> SearchRequest {
        SearchRequest::new(q).expect("a valid query")
    }

    #[test]
    fn checks_the_query_once_made() {
        assert!(matches!(
            SearchRequest::new("pytorch AND"),
            Err(Invalid::Query(_))
        ));
        assert_eq!(req("pytorch 1.8").limit(), DEFAULT_LIMIT);
    }

    #[test]
    fn limits_from_one_to_the_maximum() {
        assert_eq!(req("x").with_limit(10_000).unwrap().limit(), 10_000);
        for bad in ["0", "10001", "many", "-1", ""] {
            let e = req("x").with_limit_text(bad).unwrap_err();
            assert_eq!(e, Invalid::Limit(bad.to_string()));
        }
        assert_eq!(
            Invalid::Limit("0".into()).as_parameter(),
            "invalid parameter `limit`: \"0\" (a number from 1 to 10000)"
        );
    }

    #[test]
    fn filters_are_known_fields_with_values() {
        let r = req("x").with_filter("category", "gpu").unwrap();
        assert_eq!(r.filters(), &[("category", "gpu".to_string())]);
        assert_eq!(
            req("x").with_filter("category", "TPU").unwrap_err(),
            Invalid::Category("TPU".into())
        );
        assert_eq!(
            req("x")
                .with_filter("service_type", " ")
                .unwrap_err()
                .to_string(),
            "--service-type: needs a value"
        );
        assert!(matches!(
            req("x").with_filter("colour", "red"),
            Err(Invalid::UnknownFilter(_))
        ));
    }

    #[test]
    fn a_point_in_time_is_read_then_resolved() {
        let now = Utc::now();
        let r = req("x").with_as_of("run:3", now).unwrap();
        assert!(r.unresolved());
        assert!(!r.at_run(3).unresolved());
        let e = req("x").with_as_of("someday", now).unwrap_err();
        assert!(
            e.as_parameter().starts_with("invalid parameter `as_of`: "),
            "{e:?}"
        );
        assert!(!req("x").unresolved());
    }
}
