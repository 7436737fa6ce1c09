//! `macat check`: is the mirror whole? The database's checks ([`crate::store::check`]) and
//! whether the search index agrees with the database; one verdict per check, the next step in
//! words, exit 1 when any check fails. Nothing is written or repaired.

use std::path::Path;

use clap::Args;
use serde::Serialize;

use super::sync::SummaryFormat;
use super::Session;
use crate::error::{Error, Result};
use crate::store::check::{check_database, CheckResult, DatabaseHealth, Remedy};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("quick: schema, SQLite's quick_check, the history, the index", "macat check"),
    ("every page and index entry (SQLite's integrity_check)", "macat check --read-data"),
    ("the checks that failed, for a script", "macat check --format json"),
]))]
pub struct CheckArgs {
    /// Read every page: SQLite's full `integrity_check` (slower) instead of `quick_check`
    #[arg(long)]
    pub read_data: bool,
    /// `json` prints one object on stdout: {"ok", "checks": [{"name", "ok", "detail"}], "next_step"}
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    checks: &'a [CheckResult],
    next_step: Option<&'static str>,
}

pub fn run(s: &Session, args: CheckArgs) -> Result<()> {
    let db = s.db_path()?;
    let health = check_database(&db, args.read_data)?;
    let mut checks = health.checks.clone();
    checks.push(index_agrees(&db, &health));
    let failed = checks.iter().filter(|c| !c.ok).count();
    let next_step = next_step(&checks);
    match args.format {
        SummaryFormat::Json => {
            let report = Report {
                ok: failed == 0,
                checks: &checks,
                next_step,
            };
            let line =
                serde_json::to_string(&report).map_err(|e| Error::internal(e.to_string()))?;
            crate::output::stdout_line(&line)?;
        }
        SummaryFormat::Text => {
            for c in &checks {
                let verdict = if c.ok { "ok  " } else { "FAIL" };
                crate::output::stdout_line(&format!(
                    "{verdict} {:<27} {}",
                    c.name,
                    crate::output::one_line(&crate::output::sanitize(&c.detail), 300)
                ))?;
            }
        }
    }
    match next_step {
        None => Ok(()),
        Some(step) => Err(Error::internal(format!(
            "{failed} of {} checks failed: {step}",
            checks.len()
        ))),
    }
}

/// The one thing to do first: a damaged database needs a backup; an index alone, a rebuild.
fn next_step(checks: &[CheckResult]) -> Option<&'static str> {
    let remedies: Vec<Remedy> = checks.iter().filter_map(|c| c.remedy).collect();
    if remedies.contains(&Remedy::RestoreBackup) {
        Some(
            "the database is damaged: restore the latest backup (a file `macat backup` wrote) \
             in its place, then run `macat reindex`",
        )
    } else if remedies.contains(&Remedy::Reindex) {
        Some("the search index does not match the database: run `macat reindex`")
    } else {
        None
    }
}

/// Whether the index beside `db` agrees with the database ([`crate::index::agreement`]).
/// Read-only: the index is opened, never updated.
fn index_agrees(db: &Path, health: &DatabaseHealth) -> CheckResult {
    const NAME: &str = "index_agrees";
    let dir = crate::index::index_dir(db);
    match crate::index::agreement(&dir, health.state, health.versions) {
        Ok(detail) => CheckResult {
            name: NAME,
            ok: true,
            detail,
            remedy: None,
        },
        Err(why) => CheckResult::fail(NAME, why, Remedy::Reindex),
    }
}
