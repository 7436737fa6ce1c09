//! `macat runs`: the sync runs, newest first.

use clap::Args;

use super::{Format, Session};
use crate::error::Result;
use crate::output::styled::Styled;
use crate::output::{self, Column, Tabular};
use crate::store::RunInfo;
use crate::sync::lock::SyncLock;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("newest first, fitted to the terminal", "macat runs"),
    ("for scripts: status, counts and scopes of every run", "macat runs --format json"),
]))]
pub struct RunsArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(s: &Session, args: RunsArgs) -> Result<()> {
    let runs = SyncLock::runs_as_seen(s.store()?)?;
    output::emit(&Runs, args.format, &runs, &s.screen())
}

fn scopes_text(r: &RunInfo) -> String {
    r.scopes
        .iter()
        .map(|s| {
            let mut t = format!("{}/{}", s.project_id, s.image_type);
            if s.workspace_id != "0" {
                t.push_str(&format!("@{}", s.workspace_id));
            }
            if let Some(ns) = &s.namespace {
                t.push_str(&format!("[{ns}]"));
            }
            t
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The runs in every format (errors quote the API's messages: escaped on a terminal like any
/// data).
pub(crate) struct Runs;

impl Tabular<RunInfo> for Runs {
    fn csv_headers(&self) -> Vec<String> {
        [
            "run_id",
            "status",
            "started_at",
            "finished_at",
            "scopes",
            "pages",
            "seen",
            "added",
            "changed",
            "removed",
            "error",
        ]
        .map(String::from)
        .to_vec()
    }

    fn csv_rows(&self, r: &RunInfo) -> Result<Vec<Vec<String>>> {
        Ok(vec![vec![
            r.run_id.to_string(),
            r.status.clone(),
            r.started_at.clone(),
            r.finished_at.clone().unwrap_or_default(),
            scopes_text(r),
            r.pages.to_string(),
            r.seen.to_string(),
            r.added.to_string(),
            r.changed.to_string(),
            r.removed.to_string(),
            r.error.clone().unwrap_or_default(),
        ]])
    }

    fn json(&self, r: &RunInfo) -> Result<String> {
        output::to_json(r)
    }

    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            Column::fixed("RUN"),
            Column::fixed("STATUS"),
            Column::fixed("STARTED (UTC)").optional(2),
            Column::fixed("TOOK").optional(3),
            Column::flex("SCOPES", 12).optional(1),
            Column::fixed("IMAGES"),
            Column::fixed("CHANGES"),
            Column::flex("ERROR", 12),
        ]
    }

    fn table_rows(&self, r: &RunInfo) -> Vec<Vec<Styled>> {
        let cells = [
            r.run_id.to_string(),
            r.status.clone(),
            r.started_at
                .get(..19)
                .unwrap_or(&r.started_at)
                .replace('T', " "),
            duration(r),
            scopes_text(r),
            r.seen.to_string(),
            format!("+{} ~{} -{}", r.added, r.changed, r.removed),
            r.error
                .as_deref()
                .map(|e| output::one_line(e, 80))
                .unwrap_or_default(),
        ];
        vec![cells.iter().map(|c| Styled::plain(c)).collect()]
    }
}

fn duration(r: &RunInfo) -> String {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    match (
        parse(&r.started_at),
        r.finished_at.as_deref().and_then(parse),
    ) {
        (Some(a), Some(b)) => {
            let ms = (b - a).num_milliseconds().max(0);
            if ms < 1000 {
                format!("{ms} ms")
            } else {
                format!("{:.1} s", ms as f64 / 1000.0)
            }
        }
        _ => "-".into(),
    }
}
