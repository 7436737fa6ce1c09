//! `macat diff`: images added, removed and changed (field by field) between two points in time.
//!
//! Without `--from`/`--to` it compares the two latest committed runs; with only `--to`, that
//! run and the committed run before it. `text` is a grouped report for people (coloured on a
//! terminal); `json` is the contract's object for scripts, with every image exactly as the API
//! returned it; `ndjson` and `csv` give one line per image or per changed field.

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{Format, Session};
use crate::error::Result;
use crate::output::json::{stored_object, ChangedJson, RunJson};
use crate::output::{self, Screen, Tabular};
use crate::store::diff::{parse_object, ChangedImage, Diff, FieldChange, ScopedImage};
use crate::store::RunPoint;
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

pub fn run(s: &Session, args: DiffArgs) -> Result<()> {
    let now = chrono::Utc::now();
    let from = args
        .from
        .as_deref()
        .map(|s| When::parse(s, now))
        .transpose()?;
    let to = When::parse(args.to.as_deref().unwrap_or("latest"), now)?;
    let store = s.store()?;
    let (from, to) = store.comparison(from.as_ref(), &to)?;
    let diff = store.diff(from, to)?;
    let format = match args.format {
        DiffFormat::Text => Format::Table,
        DiffFormat::Json => Format::Json,
        DiffFormat::Ndjson => Format::Ndjson,
        DiffFormat::Csv => Format::Csv,
    };
    output::emit(&diff, format, &entries(&diff), &s.screen())
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
    stored_object(&img.raw, &img.image_id)
}

impl<'a> DiffJson<'a> {
    fn new(d: &'a Diff) -> Result<Self> {
        Ok(DiffJson {
            from: d.from.into(),
            to: d.to.into(),
            added: d.added.iter().map(raw).collect::<Result<_>>()?,
            removed: d.removed.iter().map(raw).collect::<Result<_>>()?,
            changed: d.changed.iter().map(ChangedJson::from).collect(),
        })
    }
}

/// One entry of a diff: an image added or removed, or one that changed.
pub(crate) enum Entry<'a> {
    Image(&'static str, &'a ScopedImage),
    Changed(&'a ChangedImage),
}

/// The added, removed and changed images in that order.
pub(crate) fn entries(d: &Diff) -> Vec<Entry<'_>> {
    let images = [("added", &d.added), ("removed", &d.removed)]
        .into_iter()
        .flat_map(|(kind, list)| list.iter().map(move |img| Entry::Image(kind, img)));
    images.chain(d.changed.iter().map(Entry::Changed)).collect()
}

/// JSON: the contract's object; ndjson: one line per image (`{"kind": "added"|"removed", "id",
/// "name", "image"}` or `{"kind": "changed", "id", "name", "changes"}`); CSV: one row per added
/// or removed image and per changed field, values exact (escaped only on a terminal); for people
/// the grouped [`report`].
impl<'a> Tabular<Entry<'a>> for Diff {
    fn csv_headers(&self) -> Vec<String> {
        ["kind", "id", "name", "tag", "field", "from", "to"]
            .map(String::from)
            .to_vec()
    }

    fn csv_rows(&self, e: &Entry<'a>) -> Result<Vec<Vec<String>>> {
        Ok(match e {
            Entry::Image(kind, img) => {
                let (name, tag) = name_tag(img);
                vec![vec![
                    kind.to_string(),
                    img.image_id.clone(),
                    name.unwrap_or_default(),
                    tag.unwrap_or_default(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]]
            }
            Entry::Changed(c) => c
                .changes
                .iter()
                .map(|f| {
                    vec![
                        "changed".to_string(),
                        c.image_id.clone(),
                        c.name.clone().unwrap_or_default(),
                        c.tag.clone().unwrap_or_default(),
                        f.field.clone(),
                        output::csv_cell(f.from.as_ref()),
                        output::csv_cell(f.to.as_ref()),
                    ]
                })
                .collect(),
        })
    }

    fn json(&self, e: &Entry<'a>) -> Result<String> {
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
        let line = match e {
            Entry::Image(kind, img) => Line {
                kind,
                id: &img.image_id,
                name: name_tag(img).0,
                image: Some(raw(img)?),
                changes: None,
            },
            Entry::Changed(c) => Line {
                kind: "changed",
                id: &c.image_id,
                name: c.name.clone(),
                image: None,
                changes: Some(&c.changes),
            },
        };
        output::to_json(&line)
    }

    fn json_document(&self) -> Option<Result<String>> {
        Some(DiffJson::new(self).and_then(|j| output::to_json(&j)))
    }

    fn table(&self, _entries: &[&Entry<'a>], screen: &Screen) -> Result<String> {
        Ok(report(self, screen))
    }
}

fn name_tag(img: &ScopedImage) -> (Option<String>, Option<String>) {
    let m = parse_object(&img.raw);
    let text = |k: &str| m.get(k).and_then(|v| v.as_str()).map(String::from);
    (text("name"), text("tag"))
}

/// The grouped report: a summary line, then added, removed and changed images, each changed
/// one with a `field: from -> to` line per field. Every line is sanitized and fits `width`.
fn report(d: &Diff, style: &Screen) -> String {
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
