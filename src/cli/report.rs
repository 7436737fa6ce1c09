//! `macat report --out DIR`: the pages of `macat serve` (but search) as static files, for
//! publishing from CI; see [`crate::web::report`].

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Session;
use crate::error::Result;
use crate::web::report::{self, ImagePages};
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the runs, the catalog and its changes as static pages", "macat report --out site"),
    ("as the catalog was on a day, every image with its page", "macat report --out site --as-of 2026-01-19 --pages-per-image"),
    ("only the runs and diffs, for a script", "macat report --out site --no-image-pages --format json"),
]))]
pub struct ReportArgs {
    /// The directory to write (created if needed; files already there are overwritten)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The catalog as it was then: YYYY-MM-DD, RFC 3339, run:N, latest, or 36h/7d ago
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    /// A page for every image, even in a catalog of 10,000 images or more
    #[arg(long, conflicts_with = "no_image_pages")]
    pub pages_per_image: bool,
    /// No image pages at all
    #[arg(long)]
    pub no_image_pages: bool,
    /// text: one line on stderr; json: what was written, on stdout
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

pub fn run(s: &Session, args: ReportArgs) -> Result<()> {
    let when = When::parse(&args.as_of, chrono::Utc::now())?;
    let store = s.store()?;
    let at = store.resolve(&when)?;
    let which = if args.pages_per_image {
        ImagePages::All
    } else if args.no_image_pages {
        ImagePages::None
    } else {
        ImagePages::Auto
    };
    let written = report::write(store, at, &args.out, which)?;
    match args.format {
        ReportFormat::Json => {
            crate::output::stdout_line(&serde_json::to_string(&written).unwrap_or_default())?
        }
        ReportFormat::Text if !s.g.quiet => eprintln!(
            "wrote {} ({} files: index.html, {} image pages, {} diff pages) for run:{} \
             ({} images) in {:.1} s",
            written.out.display(),
            written.files,
            written.image_pages,
            written.diff_pages,
            written.run_id,
            written.images,
            written.duration_ms as f64 / 1000.0
        ),
        ReportFormat::Text => {}
    }
    Ok(())
}
