//! Which words of a hit the query matched, as byte ranges to highlight: the compiler
//! ([`super::compile`]) remembers each word it looked up as a [`Mark`], and each hit's name,
//! tag and description are analysed again and their words checked against the marks (a typo
//! mark by its edit distance).

use tantivy::schema::Field;

use super::analyze;
use super::compile::Compiler;
use super::search::{Highlights, Hit};
use super::SearchIndex;

/// A matched word, remembered to highlight it in the hits.
#[derive(Debug, Clone)]
pub(super) enum Mark {
    Exact(String),
    Prefix(String),
    Fuzzy(String, u8),
}

/// Whether `a` and `b` are at most `max` edits apart, a transposition counting as one (the
/// optimal string alignment distance). Words whose lengths differ by more than `max` are not
/// compared.
fn osa_within(a: &str, b: &str, max: usize) -> bool {
    a.chars().count().abs_diff(b.chars().count()) <= max && strsim::osa_distance(a, b) <= max
}

impl Mark {
    fn matches(&self, token: &str) -> bool {
        match self {
            Mark::Exact(t) => t == token,
            Mark::Prefix(p) => token.starts_with(p.as_str()),
            Mark::Fuzzy(t, d) => osa_within(t, token, usize::from(*d)),
        }
    }
}

/// Merged byte ranges of the words of `text` that `marks` match.
fn highlight(
    analyzer: &mut tantivy::tokenizer::TextAnalyzer,
    marks: &[&Mark],
    text: &str,
) -> Vec<(usize, usize)> {
    if marks.is_empty() || text.is_empty() {
        return Vec::new();
    }
    let mut ranges: Vec<(usize, usize)> = analyze::index_terms(analyzer, text)
        .into_iter()
        .filter(|(t, _, _)| marks.iter().any(|m| m.matches(t)))
        .map(|(_, f, t)| (f, t))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (f, t) in ranges {
        match merged.last_mut() {
            Some(last) if f <= last.1 => last.1 = last.1.max(t),
            _ => merged.push((f, t)),
        }
    }
    merged
}

impl SearchIndex {
    /// Marks in each hit the words the query matched.
    pub(super) fn highlight_hits(&self, c: &Compiler<'_>, hits: &mut [Hit]) {
        let f = &self.fields;
        let marks_of = |field: Field| -> Vec<&Mark> {
            c.marks
                .iter()
                .filter(|(f, _)| *f == field)
                .map(|(_, m)| m)
                .collect()
        };
        let (name_marks, desc_marks) = (marks_of(f.name), marks_of(f.description));
        let tag_marks = marks_of(f.tag);
        let mut ident = analyze::ident_analyzer();
        let mut text = analyze::text_analyzer();
        for h in hits {
            h.highlights = Highlights {
                name: highlight(&mut ident, &name_marks, h.name.as_deref().unwrap_or("")),
                tag: highlight(&mut ident, &tag_marks, h.tag.as_deref().unwrap_or("")),
                description: highlight(
                    &mut text,
                    &desc_marks,
                    h.description.as_deref().unwrap_or(""),
                ),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_string_alignment() {
        assert!(osa_within("pytroch", "pytorch", 1));
        assert!(osa_within("mindspre", "mindspore", 1));
        assert!(!osa_within("pytorch", "tensorflow", 2));
        assert!(osa_within("", "", 0));
        assert!(!osa_within("abc", "", 2));
    }
}
