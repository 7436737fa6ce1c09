//! Rendering for people and scripts: terminal-safe text, tables, JSON lines.
//!
//! Data from the catalog is untrusted: descriptions can hold escape sequences. Everything that
//! reaches a terminal goes through [`sanitize`], which escapes control characters instead of
//! passing them through.
//!
//! Tables are for people: they fit the terminal ([`terminal_width`]: `$COLUMNS`, else the size of
//! the terminal on stdout, else no limit) by shortening the columns that can give way, and show
//! sizes and times in human units ([`human_size`], [`human_time_ms`]). JSON, ndjson and CSV are for
//! scripts and keep every value exact.

pub mod styled;

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

/// Escapes control characters (ESC, BEL, CR, ...) as `\x1b`, `\u{7}`-style text so that data
/// cannot move the cursor, ring the bell or rewrite earlier output.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible_format(c) => {
                out.push_str(&format!("\\x{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Unicode format characters that reorder or hide text on a terminal (bidi overrides and
/// isolates, zero-width characters, the byte-order mark).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// One line of at most `max` characters, sanitized, for error messages.
pub fn one_line(s: &str, max: usize) -> String {
    let clean = sanitize(s.trim());
    if clean.chars().count() <= max {
        clean
    } else {
        let mut cut: String = clean.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// Writes to stdout; a closed pipe (`macat export | head`) ends the program quietly.
pub fn stdout_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}

/// A plain text table with left-aligned columns, cells sanitized (no width limit).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols: Vec<Column> = headers.iter().map(|h| Column::fixed(h)).collect();
    fit_table(&cols, rows, None)
}

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
}

impl<'a> Column<'a> {
    /// A column that is never shortened (ids, numbers, statuses).
    pub fn fixed(header: &'a str) -> Self {
        Column {
            header,
            min: None,
            drop: 0,
            wrap: false,
        }
    }

    /// A column that gives way, down to `min` characters, when the table is too wide.
    pub fn flex(header: &'a str, min: usize) -> Self {
        Column {
            header,
            min: Some(min),
            drop: 0,
            wrap: false,
        }
    }

    /// A flexible column whose long values wrap onto more lines rather than being cut.
    pub fn wrapping(header: &'a str, min: usize) -> Self {
        Column {
            wrap: true,
            ..Column::flex(header, min)
        }
    }

    /// Lets the column be left out when shortening is not enough (higher `rank`: sooner).
    pub fn optional(self, rank: u8) -> Self {
        Column { drop: rank, ..self }
    }
}

/// A table whose lines fit in `width` display columns (when given). The widest flexible column
/// is shortened first (cut values end in `…`); when every flexible column is at its minimum,
/// optional columns are left out; if even that is not enough, lines are cut. Cells are
/// sanitized before they are measured.
pub fn fit_table(cols: &[Column], rows: &[Vec<String>], width: Option<usize>) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize(c)).collect())
        .collect();
    let natural: Vec<usize> = (0..cols.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| display_width(c))
                .chain([display_width(cols[i].header)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    let mut widths = natural.clone();
    if let Some(limit) = width {
        loop {
            widths = natural.clone();
            let total = |w: &[usize]| {
                shown.iter().map(|&i| w[i]).sum::<usize>() + 2 * shown.len().saturating_sub(1)
            };
            while total(&widths) > limit {
                let shrinkable = shown
                    .iter()
                    .copied()
                    .filter(|&i| cols[i].min.is_some_and(|m| widths[i] > m.max(1)))
                    .max_by_key(|&i| (widths[i], i));
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
                _ => break,
            }
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &[&str]| {
        let pieces: Vec<Vec<String>> = shown
            .iter()
            .map(|&i| {
                let cell = cells.get(i).copied().unwrap_or("");
                if cols[i].wrap && display_width(cell) > widths[i] {
                    wrap(cell, widths[i])
                } else {
                    vec![truncate(cell, widths[i])]
                }
            })
            .collect();
        let height = pieces.iter().map(Vec::len).max().unwrap_or(1);
        for l in 0..height {
            let mut line = String::new();
            for (k, &i) in shown.iter().enumerate() {
                if k > 0 {
                    line.push_str("  ");
                }
                let cell = pieces[k].get(l).map_or("", String::as_str);
                line.push_str(cell);
                if k + 1 < shown.len() {
                    let pad = widths[i].saturating_sub(display_width(cell));
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let line = line.trim_end();
            match width {
                Some(w) => out.push_str(&truncate(line, w)),
                None => out.push_str(line),
            }
            out.push('\n');
        }
    };
    push_row(&cols.iter().map(|c| c.header).collect::<Vec<_>>());
    for r in &rows {
        push_row(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// The width to fit tables to: `$COLUMNS` when it is a number, else the width of the terminal
/// on stdout, else none (output to a pipe or file is never cut).
pub fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| usize::from(w.0))
}

/// Columns a string takes on a terminal: East Asian wide characters take two, combining
/// marks none. (An approximation of UAX #11 good for the scripts the catalog holds.)
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    if c.is_control() || (0x300..0x370).contains(&u) || (0x200b..=0x200f).contains(&u) {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd);
    if wide {
        2
    } else {
        1
    }
}

/// Cuts `s` to at most `max` display columns, ending in `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if display_width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Splits `s` into pieces of at most `max` display columns (for long values shown whole).
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > max && !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
            w = 0;
        }
        cur.push(c);
        w += cw;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Values at or above this are taken as bytes, below it as KB. The API documents `size` in KB,
/// but some real objects carry bytes (documented examples hold 1.1e9–8.3e9 for 1–8 GB images);
/// a KB value this large would be a 1 TB image, a byte value below it an image under 1 GB.
pub const SIZE_BYTES_FROM: i64 = 1_000_000_000;

/// An image size for people (`12.3 GB`), read as KB or bytes by [`SIZE_BYTES_FROM`]; binary
/// multiples, named as the API names them.
pub fn human_size(raw: i64) -> String {
    if raw < 0 {
        return raw.to_string();
    }
    let bytes = if raw >= SIZE_BYTES_FROM {
        raw as f64
    } else {
        raw as f64 * 1024.0
    };
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{raw} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Unix milliseconds as `2026-01-19 06:00` (UTC) for tables.
pub fn human_time_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// An RFC 3339 time (as the store reports run times) as `2026-01-19 06:00` (UTC) for tables.
pub fn human_rfc3339(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| human_time_ms(t.timestamp_millis()))
        .unwrap_or_else(|_| s.to_string())
}

/// An image field's value for people: sizes and times in human units, strings as they are,
/// string lists joined with `, `, anything else as compact JSON. Not sanitized (tables do that).
pub fn human_value(field: &str, v: &Value) -> String {
    match (field, v) {
        ("size", Value::Number(n)) => n.as_i64().map_or_else(|| n.to_string(), human_size),
        ("create_at" | "update_at", Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| n.to_string(), |ms| format!("{} UTC", human_time_ms(ms))),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}

/// A value in a "from -> to" line: like [`human_value`] but strings quoted, so that an empty
/// string, a leading space or a missing field (`None`: absent) can be told apart.
pub fn change_value(field: &str, v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        // Quoted as they are; control characters are escaped with everything else on output.
        Some(Value::String(s)) => format!("\"{s}\""),
        Some(v @ Value::Array(a)) if a.iter().all(Value::is_string) => {
            format!("[{}]", human_value(field, v))
        }
        Some(v) => human_value(field, v),
    }
}

/// The documented ImageResponse fields, in the column order of CSV output (`export`, `list`).
pub const CSV_FIELDS: &[&str] = &[
    "id",
    "name",
    "tag",
    "type",
    "arch",
    "service_type",
    "status",
    "status_message",
    "visibility",
    "workspace_id",
    "namespace",
    "origin",
    "flavor_type",
    "resource_categories",
    "dev_services",
    "size",
    "create_at",
    "update_at",
    "swr_path",
    "swr_instance_id",
    "show_name",
    "show_tag",
    "description",
];

/// CSV for stdout: every cell exact for scripts, but with control characters escaped when stdout
/// is a terminal, where they could drive it (see [`csv_for`]).
pub struct Csv<W: Write> {
    w: csv::Writer<W>,
    terminal: bool,
}

impl<W: Write> Csv<W> {
    pub fn new(out: W) -> Self {
        Csv {
            w: csv::Writer::from_writer(out),
            terminal: stdout_is_terminal(),
        }
    }

    /// Writes one record.
    pub fn row<I, S>(&mut self, cells: I) -> crate::error::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let terminal = self.terminal;
        self.w
            .write_record(
                cells
                    .into_iter()
                    .map(|c| csv_for(c.as_ref().to_string(), terminal)),
            )
            .map_err(csv_err)
    }

    /// Flushes what is buffered (a closed pipe ends the program quietly).
    pub fn finish(mut self) -> crate::error::Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

/// A CSV error as the error type: a closed pipe stays a broken pipe.
pub fn csv_err(e: csv::Error) -> crate::error::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => crate::error::Error::from(io),
        other => crate::error::Error::internal(format!("CSV output failed: {other:?}")),
    }
}

/// A CSV cell as written: exact for scripts, but with control characters escaped when it goes
/// to a terminal (`terminal`: stdout is one), where they could drive the terminal.
pub fn csv_for(cell: String, terminal: bool) -> String {
    if terminal {
        sanitize(&cell)
    } else {
        cell
    }
}

/// Whether stdout is a terminal (CSV is escaped there, see [`csv_for`]).
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// A CSV cell: strings as they are, string lists joined with `;`, other values as exact JSON.
pub fn csv_cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_zero_width_characters_are_escaped() {
        assert_eq!(sanitize("a\u{202e}b\u{200b}c"), "a\\x{202e}b\\x{200b}c");
    }

    #[test]
    fn control_characters_never_pass_through() {
        let s = sanitize("a\x1b[31mred\x07\r\nb");
        assert!(!s.chars().any(|c| c.is_control()));
        assert_eq!(s, "a\\x{1b}[31mred\\x{7}\\r\\nb");
    }

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
    fn wide_characters_count_double_and_escapes_are_visible() {
        assert_eq!(display_width("昇腾ab"), 6);
        assert_eq!(truncate("昇腾推理", 5), "昇腾…");
        let t = table(&["D"], &[vec!["x\x1b[2Jy\x07\r".to_string()]]);
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'));
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
    }

    #[test]
    fn sizes_read_kb_or_bytes() {
        assert_eq!(human_size(1_307_535), "1.2 GB");
        assert_eq!(human_size(8_285_974_481), "7.7 GB");
        assert_eq!(human_size(512), "512 KB");
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_time_ms(1_768_802_400_000), "2026-01-19 06:00");
        assert_eq!(change_value("x", None), "(absent)");
        assert_eq!(change_value("x", Some(&Value::from(" a"))), "\" a\"");
    }

    #[test]
    fn one_line_cuts() {
        assert_eq!(one_line("  abcdef ", 3), "abc…");
        assert_eq!(one_line("a\nb", 10), "a\\nb");
    }
}
