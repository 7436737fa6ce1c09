//! The formats of the read commands in one place: a command describes its records once (a
//! [`Tabular`]: CSV headers and rows, JSON, table columns and rows) and [`emit`] writes them as a
//! table, JSON, ndjson or CSV.

use std::io::{BufWriter, Write};
use std::marker::PhantomData;

use serde::Serialize;

use super::styled::Styled;
use super::{stdout_is_terminal, terminal_width, Column, Csv, Table};
use crate::error::{Error, Result};

/// Output formats of read commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

/// Where a table is shown: the width to fit ([`terminal_width`]), whether stdout is a terminal,
/// and whether highlights are coloured.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub width: Option<usize>,
    pub terminal: bool,
    pub color: bool,
}

impl Screen {
    /// Standard output, with colour as the caller decided (`--color`, `NO_COLOR`).
    pub fn stdout(color: bool) -> Screen {
        Screen {
            width: terminal_width(),
            terminal: stdout_is_terminal(),
            color,
        }
    }
}

/// How `--format json` lays out the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// `[a,b]` on one line, as serde writes a list.
    Compact,
    /// `[`, a record a line, `]`; `empty` when there is none (stored objects, kept as they are).
    Lines { empty: &'static str },
    /// The one record itself, not a list.
    Single,
}

/// What a read command shows, described once for every format.
pub trait Tabular<R: ?Sized> {
    /// The CSV header row.
    fn csv_headers(&self) -> Vec<String>;
    /// The CSV rows of one record (one per changed field, for instance).
    fn csv_rows(&self, record: &R) -> Result<Vec<Vec<String>>>;
    /// One record as compact JSON: an ndjson line, an element of the JSON list.
    fn json(&self, record: &R) -> Result<String>;
    fn json_layout(&self) -> JsonLayout {
        JsonLayout::Compact
    }
    /// The whole `--format json` document, where it is not the list of the records.
    fn json_document(&self) -> Option<Result<String>> {
        None
    }
    /// The columns of the table.
    fn columns(&self) -> Vec<Column<'_>> {
        Vec::new()
    }
    /// Whether the table has a header line.
    fn header(&self) -> bool {
        true
    }
    /// The table rows of one record.
    fn table_rows(&self, _record: &R) -> Vec<Vec<Styled>> {
        Vec::new()
    }
    /// The text for people; by default the table of [`columns`](Self::columns) and
    /// [`table_rows`](Self::table_rows), fitted to the screen.
    fn table(&self, records: &[&R], screen: &Screen) -> Result<String>
    where
        Self: Sized,
    {
        Ok(draw(self, records, screen))
    }
}

/// The table of a sheet's [`columns`](Tabular::columns) and [`table_rows`](Tabular::table_rows),
/// fitted to the screen.
pub fn draw<R: ?Sized, T: Tabular<R>>(sheet: &T, records: &[&R], screen: &Screen) -> String {
    let mut t = Table::new(sheet.columns());
    if !sheet.header() {
        t = t.headless();
    }
    for r in records {
        for row in sheet.table_rows(r) {
            t.row(row);
        }
    }
    t.render(screen.width, screen.color)
}

/// JSON of a value whose serialization cannot fail (strings, numbers, stored objects).
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("JSON output failed: {e}")))
}

/// Writes `records` to stdout in `format`.
pub fn emit<'r, R, T>(
    sheet: &T,
    format: Format,
    records: impl IntoIterator<Item = &'r R>,
    screen: &Screen,
) -> Result<()>
where
    R: ?Sized + 'r,
    T: Tabular<R>,
{
    let mut out = BufWriter::new(std::io::stdout().lock());
    match (format, sheet.json_document()) {
        (Format::Table, _) => {
            let records: Vec<&R> = records.into_iter().collect();
            out.write_all(sheet.table(&records, screen)?.as_bytes())?;
        }
        (Format::Json, Some(doc)) => {
            out.write_all(doc?.as_bytes())?;
            out.write_all(b"\n")?;
        }
        _ => {
            let mut e = Emitter::new(sheet, format, &mut out)?;
            for r in records {
                e.push(r)?;
            }
            e.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes records one by one as they are read (JSON, ndjson or CSV; tables need them all).
pub struct Emitter<'s, R: ?Sized, T: Tabular<R>, W: Write> {
    sheet: &'s T,
    format: Format,
    out: Out<W>,
    count: usize,
    record: PhantomData<fn(&R)>,
}

enum Out<W: Write> {
    Text(W),
    Csv(Box<Csv<W>>),
}

impl<'s, R: ?Sized, T: Tabular<R>, W: Write> Emitter<'s, R, T, W> {
    pub fn new(sheet: &'s T, format: Format, mut out: W) -> Result<Self> {
        let out = match format {
            Format::Table => {
                return Err(Error::internal("a table is drawn from all its records"));
            }
            Format::Csv => {
                let mut w = Csv::new(out);
                w.row(sheet.csv_headers())?;
                Out::Csv(Box::new(w))
            }
            Format::Json if sheet.json_layout() == JsonLayout::Compact => {
                out.write_all(b"[")?;
                Out::Text(out)
            }
            Format::Json | Format::Ndjson => Out::Text(out),
        };
        Ok(Emitter {
            sheet,
            format,
            out,
            count: 0,
            record: PhantomData,
        })
    }

    pub fn push(&mut self, record: &R) -> Result<()> {
        let first = self.count == 0;
        self.count += 1;
        let out = match &mut self.out {
            Out::Csv(w) => {
                for row in self.sheet.csv_rows(record)? {
                    w.row(row)?;
                }
                return Ok(());
            }
            Out::Text(out) => out,
        };
        let json = self.sheet.json(record)?;
        let (before, after): (&[u8], &[u8]) = match (self.format, self.sheet.json_layout()) {
            (Format::Json, JsonLayout::Compact) => (if first { b"" } else { b"," }, b""),
            (Format::Json, JsonLayout::Lines { .. }) => (if first { b"[\n" } else { b",\n" }, b""),
            _ => (b"", b"\n"),
        };
        out.write_all(before)?;
        out.write_all(json.as_bytes())?;
        out.write_all(after)?;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        match self.out {
            Out::Csv(w) => w.finish(),
            Out::Text(mut out) => {
                let end: &[u8] = match (self.format, self.sheet.json_layout()) {
                    (Format::Json, JsonLayout::Compact) => b"]\n",
                    (Format::Json, JsonLayout::Lines { empty }) if self.count == 0 => {
                        empty.as_bytes()
                    }
                    (Format::Json, JsonLayout::Lines { .. }) => b"\n]\n",
                    _ => b"",
                };
                out.write_all(end)?;
                out.flush()?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Words(JsonLayout);

    impl Tabular<str> for Words {
        fn csv_headers(&self) -> Vec<String> {
            vec!["word".into()]
        }
        fn csv_rows(&self, w: &str) -> Result<Vec<Vec<String>>> {
            Ok(vec![vec![w.to_string()], vec![w.to_uppercase()]])
        }
        fn json(&self, w: &str) -> Result<String> {
            to_json(w)
        }
        fn json_layout(&self) -> JsonLayout {
            self.0
        }
    }

    fn written(layout: JsonLayout, format: Format, words: &[&str]) -> String {
        let mut out = Vec::new();
        let sheet = Words(layout);
        let mut e = Emitter::new(&sheet, format, &mut out).unwrap();
        for w in words {
            e.push(w).unwrap();
        }
        e.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_layouts_are_exact() {
        let compact = JsonLayout::Compact;
        assert_eq!(
            written(compact, Format::Json, &["a", "b"]),
            serde_json::to_string(&["a", "b"]).unwrap() + "\n"
        );
        assert_eq!(written(compact, Format::Json, &[]), "[]\n");
        let lines = JsonLayout::Lines { empty: "[\n]\n" };
        assert_eq!(
            written(lines, Format::Json, &["a", "b"]),
            "[\n\"a\",\n\"b\"\n]\n"
        );
        assert_eq!(written(lines, Format::Json, &[]), "[\n]\n");
        assert_eq!(
            written(compact, Format::Ndjson, &["a", "b"]),
            "\"a\"\n\"b\"\n"
        );
        assert_eq!(written(JsonLayout::Single, Format::Json, &["a"]), "\"a\"\n");
        assert_eq!(written(compact, Format::Csv, &["a"]), "word\na\nA\n");
        assert!(Emitter::new(&Words(compact), Format::Table, Vec::new()).is_err());
    }
}
