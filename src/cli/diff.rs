//! `macat diff`: images added, removed and changed (field by field) between two points in time.
//!
//! Without `--from`/`--to` it compares the two latest committed runs; with only `--to`, that
//! run and the committed run before it. `text` is a grouped report for people (coloured on a
//! terminal); `json` is the contract's object for scripts, with every image exactly as the API
//! returned it; `ndjson` and `csv` give one line per image or per changed field.

use std::io::Write;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::value::RawValue;

use super::GlobalArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::store::diff::{parse_object, Diff, FieldChange, ScopedImage};
use crate::store::{rfc3339_ms, RunPoint, Store};
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("what the latest sync changed", "macat diff"),
    ("between any two runs, for a script", "macat diff --from run:1 --to run:3 --format json"),
    ("one change a line, as CSV", "macat diff --from run:1 --format csv"),
]))]
pub struct DiffArgs {
    /// The earlier point in time [default: the committed run before --to]
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// The later point in time [default: latest]
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// text: a grouped report; json: one object (added, removed, changed) for scripts
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    #[value(alias = "table")]
    Text,
    Json,
    Ndjson,
    Csv,
}

pub fn run(g: &GlobalArgs, args: DiffArgs) -> Result<()> {
    let now = chrono::Utc::now();
    let from = args
        .from
        .as_deref()
        .map(|s| When::parse(s, now))
        .transpose()?;
    let to = When::parse(args.to.as_deref().unwrap_or("latest"), now)?;
    let store = Store::open_existing(&g.db_path()?)?;
    let to = store.resolve(&to)?;
    let from = match from {
        Some(w) => store.resolve(&w)?,
        None => store.committed_before(to.run_id)?.ok_or_else(|| {
            Error::usage(format!(
                "run {} is the first committed run: there is nothing before it to compare \
                 with (pass --from, or sync again)",
                to.run_id
            ))
        })?,
    };
    let diff = store.diff(from, to)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        DiffFormat::Json => {
            serde_json::to_writer(&mut out, &DiffJson::new(&diff)?)
                .map_err(|e| Error::from(std::io::Error::from(e)))?;
            out.write_all(b"\n")?;
        }
        DiffFormat::Ndjson => write_ndjson(&mut out, &diff)?,
        DiffFormat::Csv => write_csv(&mut out, &diff)?,
        DiffFormat::Text => {
            let style = Style {
                width: output::terminal_width(),
                color: g.color_stdout(),
            };
            out.write_all(report(&diff, style).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct RunJson {
    run_id: i64,
    finished_at: String,
}

impl From<RunPoint> for RunJson {
    fn from(p: RunPoint) -> Self {
        RunJson {
            run_id: p.run_id,
            finished_at: rfc3339_ms(p.finished_at_ms),
        }
    }
}

#[derive(Serialize)]
struct ChangedJson<'a> {
    id: &'a str,
    name: Option<&'a str>,
    changes: &'a [FieldChange],
}

/// The contract's diff object: `{"from", "to", "added", "removed", "changed"}`.
#[derive(Serialize)]
struct DiffJson<'a> {
    from: RunJson,
    to: RunJson,
    added: Vec<&'a RawValue>,
    removed: Vec<&'a RawValue>,
    changed: Vec<ChangedJson<'a>>,
}

fn raw(img: &ScopedImage) -> Result<&RawValue> {
    serde_json::from_str::<&RawValue>(&img.raw)
        .map_err(|e| Error::internal(format!("stored object {}: {e}", img.image_id)))
}

impl<'a> DiffJson<'a> {
    fn new(d: &'a Diff) -> Result<Self> {
        Ok(DiffJson {
            from: d.from.into(),
            to: d.to.into(),
            added: d.added.iter().map(raw).collect::<Result<_>>()?,
            removed: d.removed.iter().map(raw).collect::<Result<_>>()?,
            changed: d
                .changed
                .iter()
                .map(|c| ChangedJson {
                    id: &c.image_id,
                    name: c.name.as_deref(),
                    changes: &c.changes,
                })
                .collect(),
        })
    }
}

/// One line per image: `{"kind": "added"|"removed", "id", "name", "image"}` or
/// `{"kind": "changed", "id", "name", "changes"}`.
fn write_ndjson(out: &mut impl Write, d: &Diff) -> Result<()> {
    #[derive(Serialize)]
    struct Line<'a> {
        kind: &'static str,
        id: &'a str,
        name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<&'a RawValue>,
        #[serde(skip_serializing_if = "Option::is_none")]
        changes: Option<&'a [FieldChange]>,
    }
    let mut put = |line: &Line| -> Result<()> {
        serde_json::to_writer(&mut *out, line).map_err(|e| Error::from(std::io::Error::from(e)))?;
        out.write_all(b"\n")?;
        Ok(())
    };
    for (kind, list) in [("added", &d.added), ("removed", &d.removed)] {
        for img in list {
            put(&Line {
                kind,
                id: &img.image_id,
                name: name_tag(img).0,
                image: Some(raw(img)?),
                changes: None,
            })?;
        }
    }
    for c in &d.changed {
        put(&Line {
            kind: "changed",
            id: &c.image_id,
            name: c.name.clone(),
            image: None,
            changes: Some(&c.changes),
        })?;
    }
    Ok(())
}

/// One row per added or removed image and per changed field; values exact (escaped only on a
/// terminal).
fn write_csv(out: &mut impl Write, d: &Diff) -> Result<()> {
    let mut w = output::Csv::new(out);
    w.row(["kind", "id", "name", "tag", "field", "from", "to"])?;
    for (kind, list) in [("added", &d.added), ("removed", &d.removed)] {
        for img in list {
            let (name, tag) = name_tag(img);
            w.row([
                kind,
                &img.image_id,
                name.as_deref().unwrap_or(""),
                tag.as_deref().unwrap_or(""),
                "",
                "",
                "",
            ])?;
        }
    }
    for c in &d.changed {
        for f in &c.changes {
            w.row([
                "changed",
                &c.image_id,
                c.name.as_deref().unwrap_or(""),
                c.tag.as_deref().unwrap_or(""),
                &f.field,
                &output::csv_cell(f.from.as_ref()),
                &output::csv_cell(f.to.as_ref()),
            ])?;
        }
    }
    w.finish()?;
    Ok(())
}

fn name_tag(img: &ScopedImage) -> (Option<String>, Option<String>) {
    let m = parse_object(&img.raw);
    let text = |k: &str| m.get(k).and_then(|v| v.as_str()).map(String::from);
    (text("name"), text("tag"))
}

/// How the text report is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Cut lines to this many columns (a terminal); `None`: whole lines.
    pub width: Option<usize>,
    pub color: bool,
}

/// The grouped report: a summary line, then added, removed and changed images, each changed
/// one with a `field: from -> to` line per field. Every line is sanitized and fits `width`.
pub(crate) fn report(d: &Diff, style: Style) -> String {
    let when = |p: RunPoint| {
        format!(
            "run:{} ({} UTC)",
            p.run_id,
            output::human_time_ms(p.finished_at_ms)
        )
    };
    let mut out = String::new();
    let mut line = |text: &str, color: Option<&str>| {
        let text = output::sanitize(text);
        let text = match style.width {
            Some(w) => output::truncate(&text, w),
            None => text,
        };
        match color.filter(|_| style.color) {
            Some(c) => out.push_str(&format!("\x1b[{c}m{text}\x1b[0m\n")),
            None => {
                out.push_str(&text);
                out.push('\n');
            }
        }
    };
    line(
        &format!(
            "{} -> {}: {} added, {} removed, {} changed",
            when(d.from),
            when(d.to),
            d.added.len(),
            d.removed.len(),
            d.changed.len()
        ),
        None,
    );
    if d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() {
        line("no differences", None);
    }
    for (title, mark, color, list) in [
        ("Added", "+", "32", &d.added),
        ("Removed", "-", "31", &d.removed),
    ] {
        if list.is_empty() {
            continue;
        }
        line("", None);
        line(&format!("{title} ({}):", list.len()), Some("1"));
        for img in list {
            let (name, tag) = name_tag(img);
            line(
                &format!(
                    "  {mark} {}  {}  {}",
                    img.image_id,
                    name.unwrap_or_default(),
                    tag.unwrap_or_default()
                ),
                Some(color),
            );
        }
    }
    if !d.changed.is_empty() {
        line("", None);
        line(&format!("Changed ({}):", d.changed.len()), Some("1"));
        for c in &d.changed {
            line(
                &format!(
                    "  ~ {}  {}  {}",
                    c.image_id,
                    c.name.as_deref().unwrap_or(""),
                    c.tag.as_deref().unwrap_or("")
                ),
                Some("33"),
            );
            for f in &c.changes {
                let one = format!("      {}", super::history::change_line(f));
                let fits = style
                    .width
                    .is_none_or(|w| output::display_width(&output::sanitize(&one)) <= w);
                if fits {
                    line(&one, None);
                    continue;
                }
                // Too long for one line: the old and the new value each on their own lines,
                // wrapped, not cut (the part that changed is often at the end of a tag).
                line(&format!("      {}:", f.field), None);
                for (mark, color, v) in [("-", "31", &f.from), ("+", "32", &f.to)] {
                    let value = output::sanitize(&output::change_value(&f.field, v.as_ref()));
                    let room = style
                        .width
                        .map_or(usize::MAX, |w| w.saturating_sub(10).max(10));
                    for (i, piece) in output::wrap(&value, room).iter().enumerate() {
                        let lead = if i == 0 { mark } else { " " };
                        line(&format!("        {lead} {piece}"), Some(color));
                    }
                }
            }
        }
    }
    out
}
