//! The one table engine: columns that give way, drop out or wrap to fit a width, drawn by
//! comfy-table.
//!
//! The policy is ours (which column shortens first, which drops out first, which wraps rather
//! than being cut); comfy-table lays the fitted cells out (padding, multi-line cells, display
//! widths of wide characters and of highlighted text). Every cell is a [`Styled`]: sanitized
//! before it is measured.

use comfy_table::{ColumnConstraint, ContentArrangement, Width};

use super::styled::{Styled, BOLD_YELLOW, RESET};
use super::{char_width, display_width};

/// One column of a table that fits the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    pub header: &'a str,
    /// The narrowest the column may become when the table is too wide; `None` keeps it whole.
    pub min: Option<usize>,
    /// Columns that can be left out of a narrow terminal, highest first; 0: always shown.
    pub drop: u8,
    /// A shortened cell continues on the next lines instead of being cut.
    pub wrap: bool,
    /// A flexible column that gives way first, down to this width, before the others do.
    pub first: Option<usize>,
    /// The widest the column is drawn on a terminal; its cells show a window around their
    /// first highlight (a snippet) rather than their beginning.
    pub snippet: Option<usize>,
}

impl<'a> Column<'a> {
    /// A column that is never shortened (ids, numbers, statuses).
    pub fn fixed(header: &'a str) -> Self {
        Column {
            header,
            min: None,
            drop: 0,
            wrap: false,
            first: None,
            snippet: None,
        }
    }

    /// A column that gives way, down to `min` characters, when the table is too wide.
    pub fn flex(header: &'a str, min: usize) -> Self {
        Column {
            min: Some(min),
            ..Column::fixed(header)
        }
    }

    /// A flexible column whose long values wrap onto more lines rather than being cut.
    pub fn wrapping(header: &'a str, min: usize) -> Self {
        Column {
            wrap: true,
            ..Column::flex(header, min)
        }
    }

    /// A flexible column of at most `max` columns showing snippets around highlights.
    pub fn snippets(header: &'a str, min: usize, max: usize) -> Self {
        Column {
            snippet: Some(max),
            ..Column::flex(header, min)
        }
    }

    /// Makes the column give way first, down to `width`, before the other columns shorten.
    pub fn gives_first(self, width: usize) -> Self {
        Column {
            first: Some(width),
            ..self
        }
    }

    /// Lets the column be left out when shortening is not enough (higher `rank`: sooner).
    pub fn optional(self, rank: u8) -> Self {
        Column { drop: rank, ..self }
    }
}

/// A table: columns, rows of styled cells, and whether the header line is shown.
pub struct Table<'a> {
    cols: Vec<Column<'a>>,
    rows: Vec<Vec<Styled>>,
    header: bool,
}

impl<'a> Table<'a> {
    pub fn new(cols: Vec<Column<'a>>) -> Self {
        Table {
            cols,
            rows: Vec::new(),
            header: true,
        }
    }

    /// Without the header line (a list of fields and values).
    pub fn headless(mut self) -> Self {
        self.header = false;
        self
    }

    pub fn row(&mut self, cells: Vec<Styled>) {
        self.rows.push(cells);
    }

    /// Plain-text cells (sanitized here).
    pub fn text_row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.row(cells.iter().map(|c| Styled::plain(c.as_ref())).collect());
    }

    /// The table in lines of at most `width` display columns (when given), highlights in colour
    /// when `color`. The widest flexible column is shortened first (cut values end in `…`;
    /// columns that [give way first](Column::gives_first) before the others); when every
    /// flexible column is at its minimum, optional columns are left out; if even
    /// that is not enough, lines are cut.
    pub fn render(mut self, width: Option<usize>, color: bool) -> String {
        let natural: Vec<usize> = (0..self.cols.len())
            .map(|i| {
                let c = &self.cols[i];
                let cells = self.rows.iter().filter_map(|r| r.get(i)).map(Styled::width);
                let header = if self.header {
                    display_width(c.header)
                } else {
                    0
                };
                let w = cells.chain([header]).max().unwrap_or(0);
                match (c.snippet, width) {
                    (Some(cap), Some(_)) => w.min(cap.max(header)),
                    _ => w,
                }
            })
            .collect();
        let (shown, widths) = fit(&self.cols, &natural, width);
        let mut t = comfy_table::Table::new();
        t.load_style(comfy_table::presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        let cell = |c: &Styled| comfy_table::Cell::new(c.render(color));
        if self.header {
            t.set_header(shown.iter().map(|&i| {
                let mut h = Styled::plain(self.cols[i].header);
                h.truncate(widths[i]);
                cell(&h)
            }));
        }
        for row in &mut self.rows {
            let cells = shown.iter().map(|&i| {
                let col = &self.cols[i];
                let mut c = row.get(i).cloned().unwrap_or_default();
                if col.wrap && c.width() > widths[i] {
                    let lines: Vec<String> =
                        c.wrap(widths[i]).iter().map(|l| l.render(color)).collect();
                    return comfy_table::Cell::new(lines.join("\n"));
                }
                match (col.snippet, width) {
                    (Some(_), Some(_)) => c.window(widths[i]),
                    _ => c.truncate(widths[i]),
                }
                cell(&c)
            });
            t.add_row(cells.collect::<Vec<_>>());
        }
        for (k, &i) in shown.iter().enumerate() {
            if let Some(col) = t.column_mut(k) {
                // Two spaces between columns; comfy-table counts padding in the width.
                let gap = if k + 1 == shown.len() { 0 } else { 2 };
                col.set_padding((0, gap));
                let w = u16::try_from(widths[i] + usize::from(gap)).unwrap_or(u16::MAX);
                col.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
            }
        }
        let mut out = String::new();
        for line in t.lines() {
            let line = line.trim_end();
            match width {
                Some(w) => out.push_str(&cut_line(line, w)),
                None => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }
}

/// Which columns are shown and how wide each is, to fit `width` (see [`Table::render`]).
fn fit(cols: &[Column], natural: &[usize], width: Option<usize>) -> (Vec<usize>, Vec<usize>) {
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    let mut widths = natural.to_vec();
    let Some(limit) = width else {
        return (shown, widths);
    };
    loop {
        widths = natural.to_vec();
        let total = |w: &[usize]| {
            shown.iter().map(|&i| w[i]).sum::<usize>() + 2 * shown.len().saturating_sub(1)
        };
        while total(&widths) > limit {
            let widest = |floor: &dyn Fn(&Column) -> Option<usize>| {
                shown
                    .iter()
                    .copied()
                    .filter(|&i| floor(&cols[i]).is_some_and(|m| widths[i] > m.max(1)))
                    .max_by_key(|&i| (widths[i], i))
            };
            let first = |c: &Column| c.first.zip(c.min).map(|(f, m)| f.max(m));
            let shrinkable = widest(&first).or_else(|| widest(&|c: &Column| c.min));
            match shrinkable {
                Some(i) => widths[i] -= 1,
                None => break,
            }
        }
        let droppable = shown
            .iter()
            .enumerate()
            .filter(|(_, &i)| cols[i].drop > 0)
            .max_by_key(|(pos, &i)| (cols[i].drop, *pos))
            .map(|(pos, _)| pos);
        match droppable {
            Some(pos) if total(&widths) > limit => {
                shown.remove(pos);
            }
            _ => return (shown, widths),
        }
    }
}

/// Cuts a drawn line to `max` display columns; the highlight codes in it take no room and a
/// highlight cut short is closed.
fn cut_line(line: &str, max: usize) -> String {
    let visible = line.replace(BOLD_YELLOW, "").replace(RESET, "");
    if display_width(&visible) <= max {
        return line.to_string();
    }
    let mut out = String::new();
    let (mut used, mut open) = (0, false);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix(BOLD_YELLOW) {
            out.push_str(BOLD_YELLOW);
            (open, rest) = (true, r);
            continue;
        }
        if let Some(r) = rest.strip_prefix(RESET) {
            out.push_str(RESET);
            (open, rest) = (false, r);
            continue;
        }
        if used + char_width(c) > max.saturating_sub(1) {
            break;
        }
        used += char_width(c);
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if open {
        out.push_str(RESET);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// A table of plain cells that fits `width` (see [`Table::render`]).
pub fn fit_table(cols: &[Column], rows: &[Vec<String>], width: Option<usize>) -> String {
    let mut t = Table::new(cols.to_vec());
    for r in rows {
        t.text_row(r);
    }
    t.render(width, false)
}

/// A plain text table with left-aligned columns, cells sanitized (no width limit).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols: Vec<Column> = headers.iter().map(|h| Column::fixed(h)).collect();
    fit_table(&cols, rows, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_fit_by_shortening_flexible_columns() {
        let cols = [Column::flex("NAME", 6), Column::fixed("ID")];
        let rows = vec![vec![
            "a-very-long-image-name".to_string(),
            "1234".to_string(),
        ]];
        let t = fit_table(&cols, &rows, Some(16));
        for line in t.lines() {
            assert!(display_width(line) <= 16, "{line:?}");
        }
        assert!(t.contains("a-very-lo…  1234"), "{t}");
        let whole = fit_table(&cols, &rows, None);
        assert!(whole.contains("a-very-long-image-name  1234"));
        let cramped = fit_table(&cols, &rows, Some(5));
        assert!(cramped.lines().all(|l| display_width(l) <= 5), "{cramped}");
        let cols = [
            Column::flex("NAME", 6),
            Column::fixed("ARCH").optional(1),
            Column::fixed("ID"),
        ];
        let rows = vec![vec!["name-long".into(), "aarch64".into(), "1234".into()]];
        let t = fit_table(&cols, &rows, Some(14));
        assert_eq!(t, "NAME      ID\nname-lo…  1234\n");
        let cols = [Column::fixed("K"), Column::wrapping("V", 4)];
        let rows = vec![vec!["a".into(), "abcdefgh".into()]];
        assert_eq!(fit_table(&cols, &rows, Some(7)), "K  V\na  abcd\n   efgh\n");
    }

    #[test]
    fn escapes_are_visible_and_highlights_take_no_room() {
        let t = table(&["D"], &[vec!["x\x1b[2Jy\x07\r".to_string()]]);
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'));
        let mut t = Table::new(vec![
            Column::flex("NAME", 4),
            Column::snippets("DESCRIPTION", 10, 40),
        ]);
        let desc = format!("{} needle {}", "a ".repeat(40), "b ".repeat(40));
        let at = desc.find("needle").unwrap();
        t.row(vec![
            Styled::new("name-of-an-image", &[(0, 4)]),
            Styled::new(&desc, &[(at, at + 6)]),
        ]);
        let text = t.render(Some(40), true);
        for line in text.lines() {
            let visible = line.replace(BOLD_YELLOW, "").replace(RESET, "");
            assert!(display_width(&visible) <= 40, "{line}");
        }
        assert!(text.contains("\x1b[1;33mneedle\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[1;33mname\x1b[0m"), "{text}");
        // floors hold even when the line cannot fit; the cut line closes its highlight
        assert_eq!(
            cut_line("\x1b[1;33mabcdef\x1b[0m", 4),
            "\x1b[1;33mabc\x1b[0m…"
        );
    }
}
