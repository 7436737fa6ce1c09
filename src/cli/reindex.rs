//! `macat reindex`: rebuild the search index from the mirror.

use clap::Args;

use super::sync::SummaryFormat;
use super::Session;
use crate::error::Result;
use crate::index::{index_dir, SearchIndex};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("rebuild the search index beside the mirror", "macat reindex"),
    ("what it did, as JSON", "macat reindex --format json"),
]))]
pub struct ReindexArgs {
    /// `json` prints one summary object on stdout
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

pub fn run(s: &Session, args: ReindexArgs) -> Result<()> {
    let g = &s.g;
    let db = s.db_path()?;
    let index = SearchIndex::rebuild(s.store()?)?;
    let r = index.report();
    match args.format {
        SummaryFormat::Json => {
            crate::output::stdout_line(&crate::output::to_json(r)?)?;
        }
        SummaryFormat::Text => {
            if !g.quiet {
                eprintln!(
                    "search index rebuilt: {} versions as of run {} in {:.1} s ({})",
                    r.documents,
                    r.run_id,
                    r.duration_ms as f64 / 1000.0,
                    index_dir(&db).display()
                );
            }
        }
    }
    Ok(())
}
