//! `macat search`: flags -> [`crate::index::SearchOptions`] -> hits -> a table or JSON.

use clap::{Args, ValueEnum};

use super::{Format, GlobalArgs};
use crate::error::{Error, Result};
use crate::index::{Hit, SearchIndex, SearchOptions};
use crate::output::styled::{self, Styled};
use crate::store::Store;
use crate::when::When;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for: words, "phrases", field:value, AND/OR/NOT (or -word), prefix*, or *
    /// for every image. Typos are tolerated. Several arguments are joined with spaces.
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Most hits to show
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub limit: u64,
    /// Only this architecture (x86_64, aarch64; any case)
    #[arg(long, value_name = "A")]
    pub arch: Option<String>,
    /// Only this service type (COMMON, INFERENCE, TRAIN, DEV, UNKNOWN; any case)
    #[arg(long, value_name = "S")]
    pub service_type: Option<String>,
    /// Only this image type (BUILD_IN, DEDICATED; any case)
    #[arg(long = "type", value_name = "T")]
    pub image_type: Option<String>,
    /// Only images for this resource category
    #[arg(long, value_enum, ignore_case = true)]
    pub category: Option<Category>,
    /// Only images with this status (ACTIVE, INIT, CREATING, ...; any case)
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only images offering this development service (NOTEBOOK, SSH, ...; any case)
    #[arg(long, value_name = "D")]
    pub dev_service: Option<String>,
    /// Search the catalog as it was then: YYYY-MM-DD, RFC 3339, run:N, latest, or 36h/7d ago
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,
    /// Also find images (and earlier versions of images) no longer in the catalog
    #[arg(long)]
    pub include_removed: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Category {
    #[value(name = "CPU")]
    Cpu,
    #[value(name = "GPU")]
    Gpu,
    #[value(name = "ASCEND")]
    Ascend,
}

impl Category {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Category::Cpu => "CPU",
            Category::Gpu => "GPU",
            Category::Ascend => "ASCEND",
        }
    }
}

impl SearchArgs {
    fn filters(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut add = |name: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((name, v.clone()));
            }
        };
        add("arch", &self.arch);
        add("service_type", &self.service_type);
        add("type", &self.image_type);
        add("status", &self.status);
        add("dev_service", &self.dev_service);
        add("category", &self.category.map(|c| c.as_str().to_string()));
        out
    }
}

pub fn run(g: &GlobalArgs, args: SearchArgs) -> Result<()> {
    let query = args.query.join(" ");
    // A malformed query is reported before anything is opened.
    crate::index::query::parse(&query).map_err(|e| Error::usage(e.to_string()))?;
    let store = Store::open_existing(&g.db_path()?)?;
    let run = match &args.as_of {
        Some(w) => Some(store.resolve(&When::parse(w, chrono::Utc::now())?)?.run_id),
        None => None,
    };
    let index = SearchIndex::open(&store)?;
    let hits = index.search(&SearchOptions {
        query,
        limit: args.limit as usize,
        filters: args.filters(),
        run,
        include_removed: args.include_removed,
        scopes: None,
        // Matches are shown by colour, and on a terminal the snippet is cut around them.
        highlight: args.format == Format::Table
            && (g.color_stdout() || crate::output::stdout_is_terminal()),
    })?;
    print_hits(g, &hits, args.format, args.include_removed)
}

/// Renders hits; tables are fitted to the terminal and highlighted when colour is on.
pub(crate) fn print_hits(
    g: &GlobalArgs,
    hits: &[Hit],
    format: Format,
    show_gone: bool,
) -> Result<()> {
    use crate::output::stdout_line;
    let json = |v: &dyn erased::Ser| v.to_json();
    match format {
        Format::Json => stdout_line(&json(&hits))?,
        Format::Ndjson => {
            for h in hits {
                stdout_line(&json(h))?;
            }
        }
        Format::Csv => {
            let mut w = crate::output::Csv::new(std::io::stdout().lock());
            w.row([
                "id",
                "name",
                "tag",
                "score",
                "arch",
                "type",
                "service_type",
                "status",
                "live",
                "valid_from",
                "valid_to",
                "description",
            ])?;
            for h in hits {
                let o = |s: &Option<String>| s.clone().unwrap_or_default();
                w.row([
                    h.id.clone(),
                    o(&h.name),
                    o(&h.tag),
                    h.score.to_string(),
                    o(&h.arch),
                    o(&h.image_type),
                    o(&h.service_type),
                    o(&h.status),
                    h.live.to_string(),
                    h.valid_from.to_string(),
                    h.valid_to.map(|t| t.to_string()).unwrap_or_default(),
                    o(&h.description),
                ])?;
            }
            w.finish()?;
        }
        Format::Table => {
            if hits.is_empty() {
                if !g.quiet {
                    eprintln!("no images match");
                }
                return Ok(());
            }
            let color = g.color_stdout();
            let fit = crate::output::stdout_is_terminal()
                .then(crate::output::terminal_width)
                .flatten();
            print!("{}", hits_table(hits, show_gone, fit, color));
        }
    }
    Ok(())
}

/// The table of hits: name and tag with matches highlighted. On a terminal (`fit`: its width)
/// the columns are narrowed to fit, the tag first (it mostly repeats the name), and the
/// description is a snippet around its first match; otherwise everything is whole.
pub(crate) fn hits_table(hits: &[Hit], show_gone: bool, fit: Option<usize>, color: bool) -> String {
    let mut headers = vec!["NAME", "TAG", "ARCH", "SERVICE"];
    if show_gone {
        headers.push("GONE");
    }
    headers.push("DESCRIPTION");
    let desc = headers.len() - 1;
    let mut rows: Vec<Vec<Styled>> = hits
        .iter()
        .map(|h| {
            let hl = &h.highlights;
            let mut row = vec![
                Styled::new(h.name.as_deref().unwrap_or(""), &hl.name),
                Styled::new(h.tag.as_deref().unwrap_or(""), &hl.tag),
                Styled::plain(h.arch.as_deref().unwrap_or("")),
                Styled::plain(h.service_type.as_deref().unwrap_or("")),
            ];
            if show_gone {
                let gone = match (h.live, h.valid_to) {
                    (false, Some(run)) => format!("run {run}"),
                    _ => String::new(),
                };
                row.push(Styled::plain(&gone));
            }
            let description = h.description.as_deref().unwrap_or("");
            row.push(Styled::new(description.trim_end(), &hl.description));
            row
        })
        .collect();
    let Some(max) = fit else {
        return styled::table(&headers, &mut rows, None, color);
    };
    let mut natural = styled::natural_widths(&headers, &rows);
    natural[desc] = natural[desc].min(SNIPPET_CHARS);
    let steps = [(1, 20), (desc, 30), (0, 30), (desc, 12), (1, 12), (0, 16)];
    let widths = styled::fit_widths(&natural, max, &steps);
    for (row, h) in rows.iter_mut().zip(hits) {
        row[desc] = styled::snippet(
            h.description.as_deref().unwrap_or(""),
            &h.highlights.description,
            widths[desc],
        );
    }
    styled::table(&headers, &mut rows, Some(&widths), color)
}

/// The longest description snippet on a terminal, in characters.
const SNIPPET_CHARS: usize = 80;

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
