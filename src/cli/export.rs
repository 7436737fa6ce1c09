//! `macat export`: the whole catalog at a point in time, exactly as the API returned it.

use clap::{Args, ValueEnum};

use super::{Format, Session};
use crate::error::Result;
use crate::output;
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the catalog now, one object a line as the API returned it, sorted by id", "macat export > catalog.ndjson"),
    ("the catalog as run 1 saw it, as CSV", "macat export --as-of run:1 --format csv > catalog-run1.csv"),
]))]
pub struct ExportArgs {
    /// Point in time: YYYY-MM-DD, RFC 3339, run:N, latest, or a duration ago (36h, 7d)
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    /// ndjson: one raw object a line, sorted by id; json: one array; csv: the documented fields
    #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
    pub format: ExportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Ndjson,
    Json,
    Csv,
}

pub fn run(s: &Session, args: ExportArgs) -> Result<()> {
    let store = s.store()?;
    let point = store.resolve(&When::parse(&args.as_of, chrono::Utc::now())?)?;
    let format = match args.format {
        ExportFormat::Ndjson => Format::Ndjson,
        ExportFormat::Json => Format::Json,
        ExportFormat::Csv => Format::Csv,
    };
    // Streamed as read: the catalog is never held whole. CSV keeps the data as it is for
    // scripts; on a terminal, control characters from the catalog are escaped.
    let sheet = output::StoredObjects {
        empty_json: "[\n]\n",
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut e = output::Emitter::new(&sheet, format, &mut out)?;
    store.for_each_live(point.run_id, |raw| e.push(raw))?;
    e.finish()
}
