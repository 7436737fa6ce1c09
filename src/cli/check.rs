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

/// Whether the index beside `db` reflects the database's latest committed run and holds one
/// document per version, with every file's checksum intact. Read-only: the index is opened,
/// never updated.
fn index_agrees(db: &Path, health: &DatabaseHealth) -> CheckResult {
    const NAME: &str = "index_agrees";
    let dir = crate::index::index_dir(db);
    let fail = |why: String| CheckResult::fail(NAME, why, Remedy::Reindex);
    let Some(state) = health.state else {
        return CheckResult {
            name: NAME,
            ok: true,
            detail: "no committed run to index yet".into(),
            remedy: None,
        };
    };
    if !dir.join("meta.json").exists() {
        return CheckResult {
            name: NAME,
            ok: true,
            detail: "no index yet: the next search builds it".into(),
            remedy: None,
        };
    }
    let index = match tantivy::Index::open_in_dir(&dir) {
        Ok(i) => i,
        Err(e) => return fail(format!("the index cannot be opened: {e}")),
    };
    let metas = match index.load_metas() {
        Ok(m) => m,
        Err(e) => return fail(format!("the index's metadata cannot be read: {e}")),
    };
    let payload: serde_json::Value = metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let field = |k: &str| payload.get(k).and_then(serde_json::Value::as_i64);
    if field("format") != Some(i64::from(crate::index::schema::FORMAT)) {
        return fail(format!(
            "the index was written in another format ({:?}, this macat writes {})",
            field("format"),
            crate::index::schema::FORMAT
        ));
    }
    if field("run_id") != Some(state.run_id)
        || field("run_started_at") != Some(state.run_started_at)
        || field("max_version_id") != Some(state.max_version_id)
    {
        return fail(format!(
            "the index reflects run {} but the database's latest committed run is {} \
             (or another history)",
            field("run_id").map_or("none".into(), |r| r.to_string()),
            state.run_id
        ));
    }
    let documents: i64 = metas.segments.iter().map(|s| i64::from(s.num_docs())).sum();
    if let Some(versions) = health.versions.filter(|&v| v != documents) {
        return fail(format!(
            "the index holds {documents} documents for {versions} versions"
        ));
    }
    match index.validate_checksum() {
        Ok(bad) if bad.is_empty() => CheckResult {
            name: NAME,
            ok: true,
            detail: format!("level with run {}, {documents} documents", state.run_id),
            remedy: None,
        },
        Ok(bad) => {
            let mut names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
            names.sort();
            fail(format!(
                "{} index file(s) fail their checksum: {}",
                names.len(),
                names.join(", ")
            ))
        }
        Err(e) => fail(format!("the index's files cannot be read: {e}")),
    }
}
