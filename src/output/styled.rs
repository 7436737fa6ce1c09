//! Cells with highlighted parts, snippets, and tables that fit the terminal.
//!
//! Highlighting is a presentation of byte ranges found by the search; the text is sanitized
//! piece by piece (so escapes in the data stay visible text) and only the highlight itself is
//! wrapped in ANSI codes, and only when the caller says colour is on.

use super::{display_width, sanitize};

const BOLD_YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

/// Sanitized text in pieces, each highlighted or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Styled {
    parts: Vec<(String, bool)>,
}

impl Styled {
    pub fn plain(text: &str) -> Styled {
        Styled::new(text, &[])
    }

    /// `text` with the byte `ranges` highlighted (ranges off char boundaries are ignored).
    pub fn new(text: &str, ranges: &[(usize, usize)]) -> Styled {
        let mut parts = Vec::new();
        let mut at = 0;
        for &(from, to) in ranges {
            if from < at
                || to <= from
                || to > text.len()
                || !text.is_char_boundary(from)
                || !text.is_char_boundary(to)
            {
                continue;
            }
            if from > at {
                parts.push((sanitize(&text[at..from]), false));
            }
            parts.push((sanitize(&text[from..to]), true));
            at = to;
        }
        if at < text.len() {
            parts.push((sanitize(&text[at..]), false));
        }
        Styled { parts }
    }

    pub fn width(&self) -> usize {
        self.parts.iter().map(|(s, _)| display_width(s)).sum()
    }

    /// Cuts to at most `max` columns, ending with `…` when something was cut.
    pub fn truncate(&mut self, max: usize) {
        if self.width() <= max {
            return;
        }
        let budget = max.saturating_sub(1);
        let mut used = 0;
        let mut out = Vec::new();
        for (s, hl) in self.parts.drain(..) {
            let mut piece = String::new();
            for c in s.chars() {
                let w = display_width(c.encode_utf8(&mut [0u8; 4]));
                if used + w > budget {
                    break;
                }
                used += w;
                piece.push(c);
            }
            let full = piece.len() == s.len();
            if !piece.is_empty() {
                out.push((piece, hl));
            }
            if !full {
                break;
            }
        }
        if max > 0 {
            out.push(("…".to_string(), false));
        }
        self.parts = out;
    }

    /// The text, with ANSI highlighting when `color`.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for (s, hl) in &self.parts {
            if *hl && color {
                out.push_str(BOLD_YELLOW);
                out.push_str(s);
                out.push_str(RESET);
            } else {
                out.push_str(s);
            }
        }
        out
    }
}

/// A window of at most `max_chars` characters of `text` around its first highlighted range,
/// as a styled cell (`…` marks cut ends). Leading and trailing whitespace is dropped.
pub fn snippet(text: &str, ranges: &[(usize, usize)], max_chars: usize) -> Styled {
    let trimmed_start = text.len() - text.trim_start().len();
    let body = text.trim();
    let shift = |r: &(usize, usize)| -> Option<(usize, usize)> {
        let (f, t) = (
            r.0.checked_sub(trimmed_start)?,
            r.1.checked_sub(trimmed_start)?,
        );
        (t <= body.len()).then_some((f, t))
    };
    let ranges: Vec<(usize, usize)> = ranges.iter().filter_map(shift).collect();
    let total = body.chars().count();
    if total <= max_chars {
        return Styled::new(body, &ranges);
    }
    // Start a little before the first match, on a char boundary.
    let first = ranges.first().map_or(0, |r| body[..r.0].chars().count());
    let start_char = first.saturating_sub(max_chars / 5).min(total - max_chars);
    let byte_at = |ci: usize| body.char_indices().nth(ci).map_or(body.len(), |(b, _)| b);
    let (from, to) = (byte_at(start_char), byte_at(start_char + max_chars));
    let window = &body[from..to];
    let inside: Vec<(usize, usize)> = ranges
        .iter()
        .filter(|(f, t)| *f >= from && *t <= to)
        .map(|(f, t)| (f - from, t - from))
        .collect();
    let mut s = Styled::new(window, &inside);
    if from > 0 {
        s.parts.insert(0, ("…".into(), false));
    }
    if to < body.len() {
        s.parts.push(("…".into(), false));
    }
    s
}

/// Column widths that fit in `max` columns (two spaces between columns): the natural widths,
/// then each step `(column, floor)` in turn narrows that column toward its floor until the line
/// fits.
pub fn fit_widths(natural: &[usize], max: usize, steps: &[(usize, usize)]) -> Vec<usize> {
    let mut widths = natural.to_vec();
    let gaps = 2 * widths.len().saturating_sub(1);
    for &(col, floor) in steps {
        let over = (widths.iter().sum::<usize>() + gaps).saturating_sub(max);
        if over == 0 {
            break;
        }
        if let Some(w) = widths.get_mut(col) {
            if *w > floor {
                *w -= over.min(*w - floor);
            }
        }
    }
    widths
}

/// A table of styled cells, each cut to its column's width when `widths` is given (see
/// [`fit_widths`]), else as wide as its widest cell.
pub fn table(
    headers: &[&str],
    rows: &mut [Vec<Styled>],
    widths: Option<&[usize]>,
    color: bool,
) -> String {
    let n = headers.len();
    let widths: Vec<usize> = match widths {
        Some(w) => {
            for r in rows.iter_mut() {
                for (c, w) in r.iter_mut().zip(w) {
                    c.truncate(*w);
                }
            }
            w.to_vec()
        }
        None => natural_widths(headers, rows),
    };
    let mut out = String::new();
    let mut line = |cells: Vec<(String, usize)>| {
        let mut l = String::new();
        for (i, (text, w)) in cells.iter().enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(text);
            if i + 1 < n {
                l.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(*w)));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    let mut header_cells: Vec<Styled> = headers.iter().map(|h| Styled::plain(h)).collect();
    for (h, w) in header_cells.iter_mut().zip(&widths) {
        h.truncate(*w);
    }
    line(
        header_cells
            .iter()
            .map(|h| (h.render(false), h.width()))
            .collect(),
    );
    for r in rows.iter() {
        line(r.iter().map(|c| (c.render(color), c.width())).collect());
    }
    out
}

/// The width of each column: its widest cell or header.
pub fn natural_widths(headers: &[&str], rows: &[Vec<Styled>]) -> Vec<usize> {
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(c.width());
        }
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_are_ansi_only_with_colour_and_data_is_sanitized() {
        let s = Styled::new("pytorch\x1b[2J_1.8", &[(0, 7)]);
        assert_eq!(s.render(false), "pytorch\\x{1b}[2J_1.8");
        assert_eq!(s.render(true), "\x1b[1;33mpytorch\x1b[0m\\x{1b}[2J_1.8");
    }

    #[test]
    fn bad_ranges_are_ignored() {
        let s = Styled::new("昇腾", &[(1, 2), (0, 99), (3, 3)]);
        assert_eq!(s.render(true), "昇腾");
        assert_eq!(s.width(), 4);
    }

    #[test]
    fn truncation_keeps_highlights_and_marks_the_cut() {
        let mut s = Styled::new("mindspore_2.2.0-cann_7.0.1", &[(0, 9)]);
        s.truncate(12);
        assert_eq!(s.render(false), "mindspore_2…");
        assert_eq!(s.width(), 12);
        assert!(s.render(true).starts_with("\x1b[1;33mmindspore\x1b[0m"));
    }

    #[test]
    fn snippets_center_on_the_first_match() {
        let text = format!("{} needle {}", "a ".repeat(100), "b ".repeat(100));
        let at = text.find("needle").unwrap();
        let s = snippet(&text, &[(at, at + 6)], 40);
        let r = s.render(true);
        assert!(r.starts_with('…') && r.ends_with('…'), "{r}");
        assert!(r.contains("\x1b[1;33mneedle\x1b[0m"), "{r}");
        assert!(s.width() <= 42);
        let short = snippet("  short text ", &[(2, 7)], 40);
        assert_eq!(short.render(true), "\x1b[1;33mshort\x1b[0m text");
    }

    #[test]
    fn tables_fit_by_shrinking_the_chosen_columns() {
        let mut rows = vec![vec![
            Styled::plain("name-of-an-image"),
            Styled::plain(&"description ".repeat(10)),
        ]];
        let headers = ["NAME", "DESCRIPTION"];
        let widths = fit_widths(&natural_widths(&headers, &rows), 40, &[(1, 10), (0, 4)]);
        assert_eq!(widths, [16, 22]);
        let t = table(&headers, &mut rows, Some(&widths), false);
        for line in t.lines() {
            assert!(display_width(line) <= 40, "{line}");
        }
        // floors hold even when the line cannot fit
        assert_eq!(fit_widths(&[30, 30], 10, &[(1, 10), (0, 12)]), [12, 10]);
    }
}
