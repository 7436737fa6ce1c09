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

mod emit;
pub mod json;
pub mod styled;
mod table;

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

pub use emit::{draw, emit, to_json, Emitter, Format, JsonLayout, Screen, Tabular};
use styled::Styled;
pub use table::{fit_table, table, Column, Table};

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

/// Columns a string takes on a terminal (Unicode East Asian width: wide characters take two,
/// combining marks and control characters none).
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

pub(crate) fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Cuts `s` to at most `max` display columns, ending in `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    let mut cell = Styled::verbatim(s);
    cell.truncate(max);
    cell.render(false)
}

/// Splits `s` into pieces of at most `max` display columns (for long values shown whole).
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    Styled::verbatim(s)
        .wrap(max)
        .iter()
        .map(|l| l.render(false))
        .collect()
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

/// One stored object's CSV row: the [`CSV_FIELDS`] of it.
pub fn image_csv_row(raw: &str) -> crate::error::Result<Vec<String>> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| crate::error::Error::internal(format!("stored object: {e}")))?;
    Ok(CSV_FIELDS.iter().map(|f| csv_cell(v.get(*f))).collect())
}

/// Stored objects for scripts: exactly as the API returned them (JSON, one a line in ndjson),
/// or their documented fields (CSV).
pub struct StoredObjects {
    /// `--format json` with no object.
    pub empty_json: &'static str,
}

impl Tabular<str> for StoredObjects {
    fn csv_headers(&self) -> Vec<String> {
        CSV_FIELDS.iter().map(|f| f.to_string()).collect()
    }
    fn csv_rows(&self, raw: &str) -> crate::error::Result<Vec<Vec<String>>> {
        Ok(vec![image_csv_row(raw)?])
    }
    fn json(&self, raw: &str) -> crate::error::Result<String> {
        Ok(raw.to_string())
    }
    fn json_layout(&self) -> JsonLayout {
        JsonLayout::Lines {
            empty: self.empty_json,
        }
    }
}

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
