//! A parsed query ([`super::query`]) as a tantivy query: the clauses of each word, their scores,
//! and the filters. The scores are the ranking.
//!
//! # Ranking
//! Scores are tiers, in the spirit of Meilisearch's ranking rules, built from constant-score
//! clauses so that the order is predictable:
//!
//! 1. every query word must match (AND, unless the query says OR);
//! 2. typos: per word, an exact match scores [`EXACT`], one typo [`ONE_TYPO`], two typos
//!    [`TWO_TYPOS`] (one typo allowed from 5 characters, two from 9; a transposition is one).
//!    A search first runs without typos; only when that does not fill the page does it run with
//!    them, and what that adds comes after every exact hit, so exact matches always rank above
//!    fuzzy ones;
//! 3. proximity: each pair of consecutive query words that stands together in the name adds
//!    [`PROXIMITY`] (`mindspore 2.0` ranks `mindspore_2.0.0-...` above an image whose only
//!    `2.0` is its OS version);
//! 4. attribute: each word adds the weight of the best field it matched in (first word of the
//!    name 11 > name 10 > show_name 9 > tag 8 > namespace 7 > SWR path 6 > description 4);
//! 5. exactness: a one-term query equal to an image's whole name adds [`EXACT_NAME`];
//! 6. equal scores: ACTIVE first, then the newer `create_at`, `update_at`, id (the collector
//!    ranks by them, see [`super::search`]).
//!
//! A glued word (`snt9b`, `910b`) is a code: it matches itself, never a longer code it begins
//! (`snt9b23`) in the first pass; the second pass also finds those, at [`PREFIX`], after every
//! exact match. Plain-word queries that too few images match in full are then filled up with
//! partial matches ([`super::search`]).

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::query::{
    AllQuery, AutomatonWeight, BooleanQuery, ConstScoreQuery, DfaWrapper, DisjunctionMaxQuery,
    EnableScoring, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::analyze::{self, Kind, QueryAnalyzer, QueryWord};
use super::highlight::Mark;
use super::query::{self, Expr, TermKind};
use super::request::SearchRequest;
use super::schema::{Fields, Role, TextField, NAME_HEAD};
use super::SearchIndex;
use crate::error::{Error, Result};

pub const EXACT: f32 = 1000.0;
pub const ONE_TYPO: f32 = 600.0;
pub const TWO_TYPOS: f32 = 300.0;
pub const PROXIMITY: f32 = 100.0;
/// A glued word found as the start of a longer one (`snt9b` in `snt9b23`): another chip, so
/// only in the second pass, and below a one-typo match.
pub const PREFIX: f32 = 500.0;
/// A prefix query's glued word (`snt9b*`) found as itself, over found as the start of a longer
/// one (`snt9b23`).
const WHOLE_BONUS: f32 = 0.5;
/// The query is the image's whole name (Meilisearch's exactness rule).
const EXACT_NAME: f32 = 5.0;

pub(super) struct Compiler<'a> {
    f: &'a Fields,
    qa: QueryAnalyzer,
    pub(super) marks: Vec<(Field, Mark)>,
    /// Whether words may match with typos (the second pass of a search).
    fuzzy: bool,
    /// Whether some word could match with typos or as a prefix (so a second pass could find
    /// more).
    pub(super) typos_possible: bool,
    /// Levenshtein automata by (term, distance), shared by every field a word is looked up in.
    automata: HashMap<(String, u8), Arc<DfaWrapper>>,
    /// What an exact match scores before its field's weight: [`EXACT`], or 0 where a word's
    /// clause should score its best field alone (partial matches weigh it themselves).
    pub(super) base: f32,
}

impl<'a> Compiler<'a> {
    pub(super) fn new(f: &'a Fields, fuzzy: bool) -> Self {
        Compiler {
            f,
            qa: QueryAnalyzer::default(),
            marks: Vec::new(),
            fuzzy,
            typos_possible: false,
            automata: HashMap::new(),
            base: EXACT,
        }
    }

    /// Documents with a term of `field` within `distance` edits of `term`.
    fn typo_query(&mut self, field: Field, term: &str, distance: u8) -> Result<Q> {
        let key = (term.to_string(), distance);
        let dfa = match self.automata.get(&key) {
            Some(d) => d.clone(),
            None => {
                let d = FuzzyTermQuery::new(text_term(field, term), distance, true)
                    .automaton()
                    .map_err(|e| Error::internal(format!("typo automaton: {e}")))?;
                let d = Arc::new(d);
                self.automata.insert(key, d.clone());
                d
            }
        };
        Ok(Box::new(SharedAutomaton { field, dfa }))
    }
}

/// A fuzzy term query whose automaton is built once for all the fields it is run on.
#[derive(Clone)]
struct SharedAutomaton {
    field: Field,
    dfa: Arc<DfaWrapper>,
}

impl std::fmt::Debug for SharedAutomaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedAutomaton({:?})", self.field)
    }
}

impl Query for SharedAutomaton {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AutomatonWeight::<DfaWrapper>::new(
            self.field,
            self.dfa.clone(),
        )))
    }
}

type Q = Box<dyn Query>;

/// Every document, scoring 1. (A bare `AllQuery` beside a filter is dropped from the
/// intersection, score and all, so `*` would score 1 alone but 0 with a filter.)
fn every() -> Q {
    konst(Box::new(AllQuery), 1.0)
}

fn konst(q: Q, score: f32) -> Q {
    Box::new(ConstScoreQuery::new(q, score))
}

fn text_term(field: Field, s: &str) -> Term {
    Term::from_field_text(field, s)
}

fn phrase(field: Field, terms: &[(usize, String)]) -> Q {
    let terms = terms
        .iter()
        .map(|(o, t)| (*o, text_term(field, t)))
        .collect::<Vec<_>>();
    if terms.len() == 1 {
        let (_, t) = terms.into_iter().next().expect("one term");
        Box::new(TermQuery::new(t, IndexRecordOption::Basic))
    } else {
        Box::new(PhraseQuery::new_with_offset(terms))
    }
}

/// Typos allowed for a word of `chars` characters (Meilisearch's defaults).
fn typo_budget(chars: usize) -> u8 {
    match chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

impl Compiler<'_> {
    /// The clause of one word (or phrase, or prefix) over some text fields: the best match
    /// over those fields, scored by tier and field weight. `None` when the text has nothing
    /// searchable in it.
    fn word(&mut self, fields: &[TextField], text: &str, kind: TermKind) -> Option<Q> {
        let mut alternatives: Vec<Q> = Vec::new();
        // One field asked for by name (`tag:`), not the fields of plain words.
        let named = fields.len() == 1;
        for tf in fields {
            let w = self.qa.word(tf.kind, text);
            if w.terms.is_empty() {
                continue;
            }
            alternatives.extend(self.alternatives(tf, tf.field, &w, kind, named));
            if !named {
                // Plain words look up the name anyway, and rank higher there.
                continue;
            }
            // The words a path shares with its tag are indexed in the tag, and those a tag
            // shares with the name in the name: found there, in documents whose fields say
            // they hold the whole of it (every field on the way).
            let mut covers: Vec<(Occur, Q)> = Vec::new();
            // The words are marked in the field already.
            let marked = self.marks.len();
            let mut from = *tf;
            while let Some(base) = from.base {
                covers.push((
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(TermQuery::new(
                            text_term(from.field, analyze::COVERS_BASE),
                            IndexRecordOption::Basic,
                        )),
                        0.0,
                    )),
                ));
                for q in self.alternatives(tf, base, &w, kind, named) {
                    let mut all = vec![(Occur::Must, q)];
                    all.extend(covers.iter().map(|(o, c)| (*o, c.box_clone())));
                    alternatives.push(Box::new(BooleanQuery::new(all)));
                }
                match self.f.text.iter().find(|t| t.field == base) {
                    Some(next) => from = *next,
                    None => break,
                }
            }
            self.marks.truncate(marked);
        }
        match alternatives.len() {
            0 => None,
            1 => alternatives.pop(),
            _ => Some(Box::new(DisjunctionMaxQuery::new(alternatives))),
        }
    }

    /// The alternatives for the word `w` (not empty) in one field, looked up in `field`: the
    /// field itself, or the field a tag or path holds (marks still go to the field).
    fn alternatives(
        &mut self,
        tf: &TextField,
        field: Field,
        w: &QueryWord,
        kind: TermKind,
        named: bool,
    ) -> Vec<Q> {
        let mut alternatives: Vec<Q> = Vec::new();
        let exact = self.base + tf.weight;
        let terms = w.terms.clone();
        for (_, t) in &terms {
            self.marks.push((tf.field, Mark::Exact(t.clone())));
        }
        match kind {
            TermKind::Word if terms.len() == 1 => {
                let t = text_term(field, &terms[0].1);
                alternatives.push(konst(
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                    exact,
                ));
                // Counted on the term as indexed: a stemmed description term
                // (`mindspor`) gets the budget of its own length.
                // Typos are looked for in what people type names from (name, show_name,
                // description), not in build stamps, hashes and registry paths (tag,
                // namespace, path), unless a field is asked for by name.
                let typo_field = named || tf.role == Role::Default;
                let budget = if w.letters_only && typo_field {
                    typo_budget(w.chars.min(terms[0].1.chars().count()))
                } else {
                    0
                };
                if budget > 0 {
                    self.typos_possible = true;
                }
                for (d, tier) in [(1u8, ONE_TYPO), (2, TWO_TYPOS)] {
                    if d <= budget && self.fuzzy {
                        if let Ok(q) = self.typo_query(field, &terms[0].1, d) {
                            alternatives.push(konst(q, tier + tf.weight));
                            self.marks
                                .push((tf.field, Mark::Fuzzy(terms[0].1.clone(), d)));
                        }
                    }
                }
            }
            TermKind::Word | TermKind::Phrase => {
                // One term when the index holds the words glued (cheap, and the same
                // documents); a phrase otherwise.
                let glued = w.pair.as_ref().or(w.component.as_ref());
                if let Some(g) = glued {
                    self.marks.push((tf.field, Mark::Exact(g.clone())));
                    alternatives.push(konst(
                        Box::new(TermQuery::new(
                            text_term(field, g),
                            IndexRecordOption::Basic,
                        )),
                        exact,
                    ));
                } else if let Some(whole) = &w.whole {
                    // `snt9b`: the word itself; in the second pass, with the typos (so below
                    // every exact match), also a longer word it begins (`snt9b23`).
                    self.marks.push((tf.field, Mark::Exact(whole.clone())));
                    alternatives.push(konst(
                        Box::new(TermQuery::new(
                            text_term(field, whole),
                            IndexRecordOption::Basic,
                        )),
                        exact,
                    ));
                    self.typos_possible = true;
                    if self.fuzzy {
                        self.marks.push((tf.field, Mark::Prefix(whole.clone())));
                        alternatives.push(konst(
                            Box::new(FuzzyTermQuery::new_prefix(text_term(field, whole), 0, true)),
                            PREFIX + tf.weight,
                        ));
                    }
                } else {
                    alternatives.push(konst(phrase(field, &terms), exact));
                }
                if kind == TermKind::Word && w.cjk && terms.len() > 1 {
                    // Chinese words in any order, below the same words side by side.
                    let all: Vec<(Occur, Q)> = terms
                        .iter()
                        .map(|(_, t)| {
                            let q: Q = Box::new(TermQuery::new(
                                text_term(field, t),
                                IndexRecordOption::Basic,
                            ));
                            (Occur::Must, q)
                        })
                        .collect();
                    alternatives.push(konst(Box::new(BooleanQuery::new(all)), exact - 1.0));
                }
            }
            TermKind::Prefix => {
                let (_, last) = terms.last().cloned().expect("terms are not empty");
                self.marks.push((tf.field, Mark::Prefix(last.clone())));
                let glued = w.pair.as_ref().or(w.component.as_ref());
                if terms.len() == 1 || glued.is_some() {
                    let p = glued.unwrap_or(&last);
                    self.marks.push((tf.field, Mark::Prefix(p.clone())));
                    alternatives.push(konst(
                        Box::new(FuzzyTermQuery::new_prefix(text_term(field, p), 0, true)),
                        exact,
                    ));
                } else {
                    let mut with_offsets: Vec<(usize, Term)> = terms
                        .iter()
                        .map(|(o, t)| (*o, text_term(field, t)))
                        .collect();
                    with_offsets.sort_by_key(|(o, _)| *o);
                    let mut q = PhrasePrefixQuery::new_with_offset(with_offsets);
                    q.set_max_expansions(1000);
                    alternatives.push(konst(Box::new(q), exact));
                }
                if let Some(whole) = &w.whole {
                    self.marks.push((tf.field, Mark::Prefix(whole.clone())));
                    alternatives.push(konst(
                        Box::new(FuzzyTermQuery::new_prefix(text_term(field, whole), 0, true)),
                        exact + WHOLE_BONUS,
                    ));
                }
            }
        }
        alternatives
    }

    fn enum_term(&mut self, name: &str, value: &str) -> Result<Q> {
        let ef = self
            .f
            .enum_field(name)
            .ok_or_else(|| Error::internal(format!("no enum field {name}")))?;
        let v = self
            .qa
            .enum_value(value)
            .ok_or_else(|| Error::usage(format!("invalid query: {name}: needs a value")))?;
        Ok(Box::new(TermQuery::new(
            text_term(ef.field, &v),
            IndexRecordOption::Basic,
        )))
    }

    pub(super) fn term(&mut self, t: &query::Term) -> Result<Option<Q>> {
        let fields: Vec<TextField> = match t.field {
            None => self.f.default_text(),
            Some("id") => {
                let q: Q = Box::new(TermQuery::new(
                    text_term(self.f.image_id, t.text.trim()),
                    IndexRecordOption::Basic,
                ));
                return Ok(Some(konst(q, EXACT)));
            }
            Some("name") => [NAME_HEAD, "name"]
                .iter()
                .filter_map(|n| self.f.text_field(n))
                .collect(),
            Some(name) => match self.f.text_field(name) {
                Some(tf) => vec![tf],
                None => {
                    let q = match t.kind {
                        TermKind::Prefix => {
                            let ef = self
                                .f
                                .enum_field(name)
                                .ok_or_else(|| Error::internal(format!("no enum field {name}")))?;
                            let v = self.qa.enum_value(&t.text).unwrap_or_default();
                            Box::new(FuzzyTermQuery::new_prefix(text_term(ef.field, &v), 0, true))
                                as Q
                        }
                        _ => self.enum_term(name, &t.text)?,
                    };
                    return Ok(Some(konst(q, 1.0)));
                }
            },
        };
        Ok(self.word(&fields, &t.text, t.kind))
    }

    /// A bonus for two consecutive plain words that stand together in the name.
    fn proximity(&mut self, a: &query::Term, b: &query::Term) -> Option<Q> {
        let plain = |t: &query::Term| t.field.is_none() && t.kind != TermKind::Prefix;
        if !plain(a) || !plain(b) {
            return None;
        }
        // A name and its version side by side are one glued term (`mindspore2.0`); so is a
        // name followed by a word that starts with a version (`cann` + `8.0.rc1`: `cann8.0`).
        let wa = self.qa.word(Kind::Ident, &a.text);
        let wb = self.qa.word(Kind::Ident, &b.text);
        let (last_a, first_b) = (wa.last_segment.clone(), wb.first_segment.clone());
        let together = match (last_a, first_b) {
            (Some(l), Some(v)) => self.qa.word(Kind::Ident, &format!("{l} {v}")).pair,
            _ => None,
        };
        if let Some(pair) = together {
            let q = TermQuery::new(text_term(self.f.name, &pair), IndexRecordOption::Basic);
            return Some(konst(Box::new(q), PROXIMITY));
        }
        if wa.terms.is_empty() || wb.terms.is_empty() {
            return None;
        }
        let shift = wa.span;
        let mut terms = wa.terms.clone();
        terms.extend(wb.terms.iter().map(|(o, t)| (o + shift, t.clone())));
        Some(konst(phrase(self.f.name, &terms), PROXIMITY))
    }

    /// What NOT excludes: exact matches only (excluding words that merely look alike would
    /// surprise), and no highlights (they show what matched, not what was excluded).
    fn excluded(&mut self, e: &Expr) -> Result<Option<Q>> {
        let (saved_marks, saved_fuzzy, saved_possible) =
            (self.marks.len(), self.fuzzy, self.typos_possible);
        self.fuzzy = false;
        let q = self.expr(e);
        self.marks.truncate(saved_marks);
        self.fuzzy = saved_fuzzy;
        self.typos_possible = saved_possible;
        q
    }

    fn expr(&mut self, e: &Expr) -> Result<Option<Q>> {
        match e {
            Expr::All => Ok(Some(every())),
            Expr::Term(t) => self.term(t),
            Expr::Not(inner) => {
                let inner = self.excluded(inner)?;
                let mut clauses: Vec<(Occur, Q)> = vec![(Occur::Must, every())];
                if let Some(q) = inner {
                    clauses.push((Occur::MustNot, q));
                }
                Ok(Some(Box::new(BooleanQuery::new(clauses))))
            }
            Expr::Or(items) => {
                let mut clauses: Vec<(Occur, Q)> = Vec::new();
                for item in items {
                    if let Some(q) = self.expr(item)? {
                        clauses.push((Occur::Should, q));
                    }
                }
                Ok(match clauses.len() {
                    0 => None,
                    1 => clauses.pop().map(|(_, q)| q),
                    _ => Some(Box::new(BooleanQuery::new(clauses))),
                })
            }
            Expr::And(items) => {
                let mut clauses: Vec<(Occur, Q)> = Vec::new();
                let mut positive = false;
                let mut prev: Option<&query::Term> = None;
                for item in items {
                    match item {
                        Expr::Not(inner) => {
                            if let Some(q) = self.excluded(inner)? {
                                clauses.push((Occur::MustNot, q));
                            }
                            prev = None;
                        }
                        other => {
                            let Some(q) = self.expr(other)? else {
                                continue;
                            };
                            clauses.push((Occur::Must, q));
                            positive = true;
                            if let Expr::Term(t) = other {
                                if let Some(p) = prev.and_then(|p| self.proximity(p, t)) {
                                    clauses.push((Occur::Should, p));
                                }
                                prev = Some(t);
                            } else {
                                prev = None;
                            }
                        }
                    }
                }
                if !positive {
                    if clauses.is_empty() {
                        return Ok(None);
                    }
                    clauses.push((Occur::Must, every()));
                }
                Ok(Some(Box::new(BooleanQuery::new(clauses))))
            }
        }
    }
}

/// The query when it is a single term (an exact whole-name match can then rank first).
fn single_term(e: &Expr) -> Option<&query::Term> {
    match e {
        Expr::Term(t) => Some(t),
        _ => None,
    }
}

impl SearchIndex {
    /// The whole query: the expression, its tie-breaks, and the filter.
    pub(super) fn compile(
        &self,
        c: &mut Compiler<'_>,
        expr: &Expr,
        text: &str,
        filter: &Option<Q>,
    ) -> Result<Q> {
        let mut main = c.expr(expr)?.ok_or_else(|| {
            Error::usage(format!(
                "invalid query: {text:?} has no words to search for"
            ))
        })?;
        if let Some(t) = single_term(expr) {
            let mut should: Vec<(Occur, Q)> = Vec::new();
            if t.field.is_none_or(|f| f == "name") && t.kind != TermKind::Prefix {
                if let Some(whole) = c.qa.enum_value(&t.text) {
                    let q: Q = Box::new(TermQuery::new(
                        text_term(self.fields.name_exact, &whole),
                        IndexRecordOption::Basic,
                    ));
                    should.push((Occur::Should, konst(q, EXACT_NAME)));
                }
            }
            if !should.is_empty() {
                should.insert(0, (Occur::Must, main));
                main = Box::new(BooleanQuery::new(should));
            }
        }
        Ok(match filter {
            None => main,
            Some(filter) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, main),
                (Occur::Must, filter.box_clone()),
            ])),
        })
    }

    /// The filter flags, as one query that does not score. (The point in time is checked by
    /// the collector on the run-range fast fields, which is cheaper than intersecting postings.)
    pub(super) fn filter(&self, opts: &SearchRequest) -> Result<Option<Q>> {
        let mut filters: Vec<(Occur, Q)> = Vec::new();
        if let Some(scopes) = opts.scopes() {
            let any: Vec<(Occur, Q)> = scopes
                .iter()
                .map(|&id| {
                    let t = Term::from_field_u64(self.fields.scope_id, id.max(0) as u64);
                    let q: Q = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            filters.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        let mut c = Compiler::new(&self.fields, false);
        for (name, value) in opts.filters() {
            let q = c.enum_term(name, value).map_err(|_| {
                Error::usage(format!("--{}: needs a value", name.replace('_', "-")))
            })?;
            filters.push((Occur::Must, q));
        }
        Ok(match filters.len() {
            0 => None,
            _ => Some(konst(Box::new(BooleanQuery::new(filters)), 0.0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_budget_follows_meilisearch() {
        assert_eq!(typo_budget(4), 0);
        assert_eq!(typo_budget(5), 1);
        assert_eq!(typo_budget(8), 1);
        assert_eq!(typo_budget(9), 2);
    }
}
