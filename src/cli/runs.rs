//! `macat runs`: the sync runs, newest first.

use clap::Args;

use super::{Format, GlobalArgs};
use crate::error::Result;
use crate::output::{self, Column};
use crate::store::{RunInfo, Store};
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

pub fn run(g: &GlobalArgs, args: RunsArgs) -> Result<()> {
    let db = g.db_path()?;
    let store = Store::open_existing(&db)?;
    let mut runs = store.runs()?;
    if runs.iter().any(|r| r.status == "running") && !SyncLock::may_be_running(&db) {
        runs.iter_mut().for_each(RunInfo::mark_abandoned);
    }
    print_runs(&runs, args.format)
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

pub(crate) fn print_runs(runs: &[RunInfo], format: Format) -> Result<()> {
    let json = |v: &dyn erased::Ser| v.to_json();
    match format {
        Format::Json => output::stdout_line(&json(&runs))?,
        Format::Ndjson => {
            for r in runs {
                output::stdout_line(&json(r))?;
            }
        }
        Format::Csv => {
            // Errors quote the API's messages: escaped on a terminal like any data.
            let mut w = output::Csv::new(std::io::stdout().lock());
            w.row([
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
            ])?;
            for r in runs {
                w.row([
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
                ])?;
            }
            w.finish()?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
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
                    ]
                })
                .collect();
            let cols = [
                Column::fixed("RUN"),
                Column::fixed("STATUS"),
                Column::fixed("STARTED (UTC)").optional(2),
                Column::fixed("TOOK").optional(3),
                Column::flex("SCOPES", 12).optional(1),
                Column::fixed("IMAGES"),
                Column::fixed("CHANGES"),
                Column::flex("ERROR", 12),
            ];
            let t = output::fit_table(&cols, &rows, output::terminal_width());
            output::stdout_line(t.trim_end())?;
        }
    }
    Ok(())
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

/// Serializing to JSON without naming each type (the JSON of these types cannot fail).
mod erased {
    pub trait Ser {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
