//! `macat export`: the whole catalog at a point in time, exactly as the API returned it.

use clap::{Args, ValueEnum};

use super::GlobalArgs;
use crate::error::Result;
use crate::output;
use crate::store::Store;
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

pub fn run(g: &GlobalArgs, args: ExportArgs) -> Result<()> {
    let store = Store::open_existing(&g.db_path()?)?;
    let point = store.resolve(&When::parse(&args.as_of, chrono::Utc::now())?)?;
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        ExportFormat::Ndjson => {
            store.for_each_live(point.run_id, |raw| {
                out.write_all(raw.as_bytes())?;
                out.write_all(b"\n")?;
                Ok(())
            })?;
        }
        ExportFormat::Json => {
            let mut first = true;
            out.write_all(b"[")?;
            store.for_each_live(point.run_id, |raw| {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                out.write_all(b"\n")?;
                out.write_all(raw.as_bytes())?;
                Ok(())
            })?;
            out.write_all(b"\n]\n")?;
        }
        ExportFormat::Csv => {
            // CSV keeps the data as it is for scripts; on a terminal, control characters from
            // the catalog are escaped so they cannot drive the terminal.
            let mut w = output::Csv::new(&mut out);
            w.row(output::CSV_FIELDS)?;
            store.for_each_live(point.run_id, |raw| {
                let v: serde_json::Value = serde_json::from_str(raw)
                    .map_err(|e| crate::error::Error::internal(format!("stored object: {e}")))?;
                w.row(
                    output::CSV_FIELDS
                        .iter()
                        .map(|f| output::csv_cell(v.get(*f))),
                )
            })?;
            w.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}
