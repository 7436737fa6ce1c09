//! `macat feed`: an Atom feed of the catalog's changes, or of one watch's events.

use std::path::PathBuf;

use clap::Args;

use super::Session;
use crate::error::Result;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the catalog's changes, for a feed reader", "macat feed --out /var/www/macat/feed.atom"),
    ("one watch's events, the latest 20", "macat feed --watch mindspore --limit 20"),
    ("to stdout", "macat feed"),
]))]
pub struct FeedArgs {
    /// One watch's events instead of the catalog's changes
    #[arg(long, value_name = "NAME")]
    pub watch: Option<String>,
    /// Most entries (the newest)
    #[arg(long, default_value_t = crate::feed::DEFAULT_LIMIT as u64,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub limit: u64,
    /// Write the feed to this file (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(s: &Session, args: FeedArgs) -> Result<()> {
    let store = s.store()?;
    let limit = args.limit as usize;
    let xml = match &args.watch {
        Some(name) => crate::feed::watch_feed(store, name, limit)?,
        None => crate::feed::catalog_feed(store, limit)?,
    };
    match &args.out {
        Some(path) => crate::metrics::write_atomic(path, xml.as_bytes()),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(xml.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
