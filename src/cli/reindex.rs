//! `macat reindex`: rebuild the search index from the mirror.

use clap::Args;

use super::sync::SummaryFormat;
use super::GlobalArgs;
use crate::error::{Error, Result};
use crate::index::{index_dir, SearchIndex};
use crate::store::Store;

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

pub fn run(g: &GlobalArgs, args: ReindexArgs) -> Result<()> {
    let db = g.db_path()?;
    let store = Store::open_existing(&db)?;
    let index = SearchIndex::rebuild(&store)?;
    let r = index.report();
    match args.format {
        SummaryFormat::Json => {
            let line = serde_json::to_string(r).map_err(|e| Error::internal(e.to_string()))?;
            crate::output::stdout_line(&line)?;
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
