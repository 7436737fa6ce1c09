//! Cells with highlighted parts: sanitized text in pieces, cut, wrapped or windowed to a width.
//!
//! Highlighting is a presentation of byte ranges found by the search; the text is sanitized
//! piece by piece (so escapes in the data stay visible text) and only the highlight itself is
//! wrapped in ANSI codes, and only when the caller says colour is on.

use super::{char_width, display_width, sanitize};

pub(crate) const BOLD_YELLOW: &str = "\x1b[1;33m";
pub(crate) const RESET: &str = "\x1b[0m";

/// Sanitized text in pieces, each highlighted or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Styled {
    parts: Vec<(String, bool)>,
}

impl Styled {
    pub fn plain(text: &str) -> Styled {
        Styled::new(text, &[])
    }

    /// Text that is already safe to show (sanitized, or never shown on a terminal) as it is.
    pub(crate) fn verbatim(text: &str) -> Styled {
        Styled {
            parts: vec![(text.to_string(), false)],
        }
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

    fn push(&mut self, c: char, hl: bool) {
        match self.parts.last_mut() {
            Some((s, h)) if *h == hl => s.push(c),
            _ => self.parts.push((c.to_string(), hl)),
        }
    }

    /// Cuts to at most `max` columns, ending with `…` when something was cut.
    pub fn truncate(&mut self, max: usize) {
        if self.width() <= max {
            return;
        }
        let budget = max.saturating_sub(1);
        let mut used = 0;
        let mut out = Styled::default();
        'cut: for (s, hl) in &self.parts {
            for c in s.chars() {
                let w = char_width(c);
                if used + w > budget {
                    break 'cut;
                }
                used += w;
                out.push(c, *hl);
            }
        }
        if max > 0 {
            out.parts.push(("…".to_string(), false));
        }
        *self = out;
    }

    /// Splits into lines of at most `max` columns (for long values shown whole).
    pub fn wrap(&self, max: usize) -> Vec<Styled> {
        let max = max.max(1);
        let mut lines = Vec::new();
        let mut cur = Styled::default();
        let mut w = 0;
        for (s, hl) in &self.parts {
            for c in s.chars() {
                let cw = char_width(c);
                if w + cw > max && !cur.parts.is_empty() {
                    lines.push(std::mem::take(&mut cur));
                    w = 0;
                }
                cur.push(c, *hl);
                w += cw;
            }
        }
        if !cur.parts.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// At most `max` columns around the first highlight (`…` marks cut ends): a snippet.
    pub fn window(&mut self, max: usize) {
        if self.width() <= max {
            return;
        }
        let chars: Vec<(char, bool)> = self
            .parts
            .iter()
            .flat_map(|(s, hl)| s.chars().map(move |c| (c, *hl)))
            .collect();
        let first = chars.iter().position(|(_, hl)| *hl).unwrap_or(0);
        let start = first.saturating_sub(max / 5);
        let mut out = Styled::default();
        if start > 0 {
            out.push('…', false);
        }
        out.parts.extend(
            Styled {
                parts: chars[start..]
                    .iter()
                    .map(|(c, hl)| (c.to_string(), *hl))
                    .collect(),
            }
            .parts,
        );
        let width = out.width();
        if width <= max && start > 0 {
            // The end fits: start earlier to use the room.
            let mut tail = Styled::default();
            let mut used = 1;
            let mut from = chars.len();
            while from > 0 && used + char_width(chars[from - 1].0) <= max {
                from -= 1;
                used += char_width(chars[from].0);
            }
            if from > 0 {
                tail.push('…', false);
            }
            for (c, hl) in &chars[from..] {
                tail.push(*c, *hl);
            }
            *self = tail;
            return;
        }
        out.truncate(max);
        *self = out;
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

/// `text` with leading and trailing whitespace dropped and its `ranges` highlighted; shown as a
/// window around the first match where the table is narrower (see [`Styled::window`]).
pub fn snippet(text: &str, ranges: &[(usize, usize)]) -> Styled {
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
    Styled::new(body, &ranges)
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
        let mut s = snippet(&text, &[(at, at + 6)]);
        s.window(40);
        let r = s.render(true);
        assert!(r.starts_with('…') && r.ends_with('…'), "{r}");
        assert!(r.contains("\x1b[1;33mneedle\x1b[0m"), "{r}");
        assert!(s.width() <= 42);
        let mut short = snippet("  short text ", &[(2, 7)]);
        short.window(40);
        assert_eq!(short.render(true), "\x1b[1;33mshort\x1b[0m text");
    }
}
