//! `macat history IMAGE`: every version of one image across runs, and what changed.
//!
//! Each step names the run and the time it finished: when the image appeared, each change
//! field by field, removals, and comebacks (compared with the object before the removal).
//! IMAGE may be a name the image had in any run, so a renamed image is found by either name.

use clap::Args;
use serde::Serialize;
use serde_json::value::RawValue;

use super::{Format, Session};
use crate::error::{Error, Result};
use crate::output::styled::Styled;
use crate::output::{self, Column, Screen, Tabular};
use crate::store::diff::{parse_object, FieldChange};
use crate::store::history::{Event, HistoryEntry, ImageHistory, Lookup};
use crate::store::{rfc3339_ms, ScopeKey};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("by any name the image had (this one was renamed on day 2)", "macat history mindstudio5.0.rc1-ascendsnt9-cann5.1.0-euler2.8.3-aarch64"),
    ("oldest first, every change field by field, for a script", "macat history 2097c2e8 --format json"),
]))]
pub struct HistoryArgs {
    /// The image: an id, a name it had, name:tag, or a unique id prefix
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(s: &Session, args: HistoryArgs) -> Result<()> {
    let store = s.store()?;
    let spec = args.image.as_str();
    let found = match store.lookup(spec, None)? {
        Lookup::Found(c) => c,
        Lookup::Ambiguous(c) => return Err(super::show::ambiguous(spec, &c)),
        Lookup::NotFound => {
            return Err(Error::usage(output::one_line(
                &format!(
                    "no image in the mirror matches {spec:?} (by id, name, name:tag or id prefix)"
                ),
                400,
            )))
        }
    };
    let story = store.image_history(&found)?;
    output::emit(&story, args.format, &story.entries, &s.screen())
}

#[derive(Serialize)]
struct EntryJson<'a> {
    run_id: i64,
    finished_at: String,
    event: Event,
    id: &'a str,
    name: Option<String>,
    tag: Option<String>,
    scope: Option<&'a ScopeKey>,
    changes: &'a [FieldChange],
    /// The object from this run on; null once removed.
    image: Option<&'a RawValue>,
}

fn name_tag(raw: &str) -> (Option<String>, Option<String>) {
    let m = parse_object(raw);
    let text = |k: &str| m.get(k).and_then(|v| v.as_str()).map(String::from);
    (text("name"), text("tag"))
}

/// A step for scripts: the run, what happened, and the object from then on.
impl Tabular<HistoryEntry> for ImageHistory {
    fn csv_headers(&self) -> Vec<String> {
        [
            "run_id",
            "finished_at",
            "event",
            "id",
            "name",
            "tag",
            "type",
            "workspace_id",
            "field",
            "from",
            "to",
        ]
        .map(String::from)
        .to_vec()
    }

    /// One row per changed field (one with empty field, from and to when nothing changed).
    fn csv_rows(&self, e: &HistoryEntry) -> Result<Vec<Vec<String>>> {
        let (name, tag) = name_tag(&e.raw);
        let scope = self.scope(e.scope_id);
        let head = vec![
            e.run.run_id.to_string(),
            rfc3339_ms(e.run.finished_at_ms),
            e.event.as_str().to_string(),
            self.id.clone(),
            name.unwrap_or_default(),
            tag.unwrap_or_default(),
            scope.map(|s| s.image_type.clone()).unwrap_or_default(),
            scope.map(|s| s.workspace_id.clone()).unwrap_or_default(),
        ];
        if e.changes.is_empty() {
            return Ok(vec![[head, vec![String::new(); 3]].concat()]);
        }
        Ok(e.changes
            .iter()
            .map(|c| {
                let change = [
                    c.field.clone(),
                    output::csv_cell(c.from.as_ref()),
                    output::csv_cell(c.to.as_ref()),
                ];
                [head.clone(), change.to_vec()].concat()
            })
            .collect())
    }

    fn json(&self, e: &HistoryEntry) -> Result<String> {
        let (name, tag) = name_tag(&e.raw);
        let image = match e.event {
            Event::Removed => None,
            _ => Some(crate::output::json::stored_object(&e.raw, &self.id)?),
        };
        output::to_json(&EntryJson {
            run_id: e.run.run_id,
            finished_at: rfc3339_ms(e.run.finished_at_ms),
            event: e.event,
            id: &self.id,
            name,
            tag,
            scope: self.scope(e.scope_id),
            changes: &e.changes,
            image,
        })
    }

    fn columns(&self) -> Vec<Column<'_>> {
        let mut cols = vec![
            Column::fixed("RUN"),
            Column::fixed("FINISHED (UTC)").optional(1),
            Column::fixed("EVENT"),
        ];
        if self.scopes.len() > 1 {
            cols.push(Column::flex("SCOPE", 8).optional(2));
        }
        cols.push(Column::wrapping("WHAT", 24));
        cols
    }

    /// One row per step and per changed field.
    fn table_rows(&self, e: &HistoryEntry) -> Vec<Vec<Styled>> {
        let mut head = vec![
            format!("run:{}", e.run.run_id),
            output::human_time_ms(e.run.finished_at_ms),
            e.event.as_str().to_string(),
        ];
        if self.scopes.len() > 1 {
            head.push(self.scope(e.scope_id).map(scope_text).unwrap_or_default());
        }
        let blank = vec![String::new(); head.len()];
        let whats: Vec<String> = match e.event {
            Event::Added => {
                let (name, tag) = name_tag(&e.raw);
                vec![format!(
                    "first seen as {}:{}",
                    name.unwrap_or_default(),
                    tag.unwrap_or_default()
                )]
            }
            Event::Removed => vec!["no longer in the catalog".into()],
            Event::Returned if e.changes.is_empty() => vec!["back, unchanged".into()],
            Event::Changed | Event::Returned => e.changes.iter().map(change_line).collect(),
        };
        whats
            .into_iter()
            .enumerate()
            .map(|(i, what)| {
                let lead = if i == 0 { &head } else { &blank };
                lead.iter()
                    .chain([&what])
                    .map(|c| Styled::plain(c))
                    .collect()
            })
            .collect()
    }

    /// A title line (the latest name and the id), then the table.
    fn table(&self, entries: &[&HistoryEntry], screen: &Screen) -> Result<String> {
        let latest = self
            .entries
            .last()
            .map(|e| name_tag(&e.raw))
            .unwrap_or_default();
        let title = format!("{} ({})", latest.0.as_deref().unwrap_or("?"), self.id);
        let mut title = output::sanitize(title.trim_end());
        if let Some(w) = screen.width {
            title = output::truncate(&title, w);
        }
        Ok(title + "\n" + &output::draw(self, entries, screen))
    }
}

/// `field: from -> to`, values in human units.
pub(crate) fn change_line(c: &FieldChange) -> String {
    format!(
        "{}: {} -> {}",
        c.field,
        output::change_value(&c.field, c.from.as_ref()),
        output::change_value(&c.field, c.to.as_ref())
    )
}

fn scope_text(s: &ScopeKey) -> String {
    let mut t = format!("{}/{}", s.project_id, s.image_type);
    if s.workspace_id != "0" {
        t.push_str(&format!("@{}", s.workspace_id));
    }
    t
}
