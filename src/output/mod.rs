//! Rendering for people and scripts: terminal-safe text, tables, JSON lines.
//!
//! Data from the catalog is untrusted: descriptions can hold escape sequences. Everything that
//! reaches a terminal goes through [`sanitize`], which escapes control characters instead of
//! passing them through.

pub mod styled;

use std::io::{self, Write};

/// Escapes control characters (ESC, BEL, CR, ...) as `\x1b`, `\u{7}`-style text so that data
/// cannot move the cursor, ring the bell or rewrite earlier output.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
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

/// A plain text table with left-aligned columns, cells sanitized.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(c);
            if i + 1 < widths.len() {
                let pad = widths[i].saturating_sub(c.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&mut headers.iter().copied());
    for r in &rows {
        push_row(&mut r.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_pass_through() {
        let s = sanitize("a\x1b[31mred\x07\r\nb");
        assert!(!s.chars().any(|c| c.is_control()));
        assert_eq!(s, "a\\x{1b}[31mred\\x{7}\\r\\nb");
    }

    #[test]
    fn one_line_cuts() {
        assert_eq!(one_line("  abcdef ", 3), "abc…");
        assert_eq!(one_line("a\nb", 10), "a\\nb");
    }
}
