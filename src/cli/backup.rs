//! `macat backup --out FILE`: a consistent, checked copy of the mirror, safe while syncs and
//! servers run ([`crate::store::backup`]).

use std::path::PathBuf;

use clap::Args;

use super::sync::SummaryFormat;
use super::Session;
use crate::error::{Error, Result};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("a consistent copy, safe while syncs and servers run", "macat backup --out /var/backups/macat/catalog.db"),
    ("seven daily copies, rotating (from cron: escape % as \\%)", "macat backup --out \"catalog-$(date +%a).db\""),
    ("for a script", "macat backup --out /mnt/usb/catalog.db --format json"),
]))]
pub struct BackupArgs {
    /// Where to write the copy; replaced only once the new copy is whole and checked
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// `json` prints one summary object on stdout: {"out", "bytes", "run_id", "restarts", "duration_ms"}
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

pub fn run(s: &Session, args: BackupArgs) -> Result<()> {
    let db = s.db_path()?;
    let r = crate::store::backup::backup(&db, &args.out)?;
    match args.format {
        SummaryFormat::Json => {
            let line = serde_json::to_string(&r).map_err(|e| Error::internal(e.to_string()))?;
            crate::output::stdout_line(&line)?;
        }
        SummaryFormat::Text => {
            if !s.g.quiet {
                eprintln!(
                    "backed up to {} ({:.1} MiB, {}) in {:.1} s; quick_check ok",
                    crate::output::sanitize(&r.out.display().to_string()),
                    r.bytes as f64 / (1024.0 * 1024.0),
                    r.run_id
                        .map_or("no committed run".into(), |id| format!("up to run {id}")),
                    r.duration_ms as f64 / 1000.0
                );
            }
        }
    }
    Ok(())
}
