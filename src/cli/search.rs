//! `macat search`: flags -> [`crate::index::SearchRequest`] -> hits -> a table or JSON.

use clap::{Args, ValueEnum};

use super::{Format, Session};
use crate::error::{Error, Result};
use crate::index::{Hit, Invalid, SearchIndex, SearchRequest};
use crate::output::styled::{snippet, Styled};
use crate::output::{Column, Screen, Tabular};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("words, every one must match; versions match by prefix (1.8 finds 1.8.0)", "macat search pytorch 1.8"),
    ("fields, any case; NOT as -word", "macat search 'arch:aarch64 type:build_in -cuda'"),
    ("every image of run 1 on x86_64, for a script", "macat search '*' --as-of run:1 --arch x86_64 --format json"),
]))]
pub struct SearchArgs {
    /// What to look for: words, "phrases", field:value, AND/OR/NOT (or -word), prefix*, or *
    /// for every image. Typos are tolerated. Several arguments are joined with spaces.
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Most hits to show
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub limit: u64,
    #[command(flatten)]
    pub filters: FilterArgs,
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
    /// The request the flags ask for (the point in time is read, not resolved yet).
    fn request(&self, highlight: bool) -> std::result::Result<SearchRequest, Invalid> {
        let mut req = SearchRequest::new(&self.query.join(" "))?
            .with_limit(self.limit)?
            .with_include_removed(self.include_removed)
            .with_highlight(highlight);
        for (name, value) in self.filters.given() {
            req = req.with_filter(name, &value)?;
        }
        if let Some(w) = &self.as_of {
            req = req.with_as_of(w, chrono::Utc::now())?;
        }
        Ok(req)
    }
}

/// The search filters, as `macat search` and `macat watch add` take them.
#[derive(Debug, Default, Args)]
pub struct FilterArgs {
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
}

impl FilterArgs {
    /// (filter name, value) for each filter given, named as [`SearchRequest::with_filter`]
    /// takes them.
    pub fn given(&self) -> Vec<(&'static str, String)> {
        let category = self.category.map(|c| c.as_str().to_string());
        [
            ("arch", &self.arch),
            ("service_type", &self.service_type),
            ("type", &self.image_type),
            ("status", &self.status),
            ("dev_service", &self.dev_service),
            ("category", &category),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

pub fn run(s: &Session, args: SearchArgs) -> Result<()> {
    let g = &s.g;
    // Matches are shown by colour, and on a terminal the snippet is cut around them.
    let highlight =
        args.format == Format::Table && (g.color_stdout() || crate::output::stdout_is_terminal());
    // A malformed query is reported before anything is opened.
    let mut req = args
        .request(highlight)
        .map_err(|e| Error::usage(e.to_string()))?;
    let store = s.store()?;
    req.resolve(store)?;
    let index = SearchIndex::open(store)?;
    let (hits, _) = index.search_or_heal(store, &req)?;
    if args.format == Format::Table && hits.is_empty() {
        if !g.quiet {
            eprintln!("no images match");
        }
        return Ok(());
    }
    let sheet = Hits {
        show_gone: args.include_removed,
        // Partial matches (after every full match) name the query words they lack.
        partial: hits.iter().any(|h| h.partial),
    };
    crate::output::emit(&sheet, args.format, &hits, &s.screen())
}

/// Hits in every format. The table: name and tag with matches highlighted (when colour is on);
/// on a terminal the columns are narrowed to fit and the description is a snippet around its
/// first match; otherwise everything is whole.
pub(crate) struct Hits {
    /// With a GONE column: the run an image left the catalog.
    pub show_gone: bool,
    /// With a MISSING column: the query words a partial match lacks.
    pub partial: bool,
}

impl Tabular<Hit> for Hits {
    fn csv_headers(&self) -> Vec<String> {
        [
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
        ]
        .map(String::from)
        .to_vec()
    }

    fn csv_rows(&self, h: &Hit) -> Result<Vec<Vec<String>>> {
        let o = |s: &Option<String>| s.clone().unwrap_or_default();
        Ok(vec![vec![
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
        ]])
    }

    fn json(&self, h: &Hit) -> Result<String> {
        crate::output::to_json(h)
    }

    /// Narrowed on a terminal: the tag first (it mostly repeats the name); the least useful
    /// columns are left out first.
    fn columns(&self) -> Vec<Column<'_>> {
        let mut cols = vec![
            Column::flex("NAME", 16),
            Column::flex("TAG", 12).gives_first(20),
            Column::fixed("ARCH").optional(2),
            Column::fixed("SERVICE").optional(3),
        ];
        if self.show_gone {
            cols.push(Column::fixed("GONE").optional(1));
        }
        if self.partial {
            cols.push(Column::flex("MISSING", 8));
        }
        cols.push(Column::snippets("DESCRIPTION", 12, SNIPPET_CHARS));
        cols
    }

    fn table_rows(&self, h: &Hit) -> Vec<Vec<Styled>> {
        let hl = &h.highlights;
        let mut row = vec![
            Styled::new(h.name.as_deref().unwrap_or(""), &hl.name),
            Styled::new(h.tag.as_deref().unwrap_or(""), &hl.tag),
            Styled::plain(h.arch.as_deref().unwrap_or("")),
            Styled::plain(h.service_type.as_deref().unwrap_or("")),
        ];
        if self.show_gone {
            let gone = match (h.live, h.valid_to) {
                (false, Some(run)) => format!("run {run}"),
                _ => String::new(),
            };
            row.push(Styled::plain(&gone));
        }
        if self.partial {
            row.push(Styled::plain(&h.missing.join(" ")));
        }
        let description = h.description.as_deref().unwrap_or("");
        row.push(snippet(description.trim_end(), &hl.description));
        vec![row]
    }

    /// Fitted only on a terminal: piped tables are whole.
    fn table(&self, hits: &[&Hit], screen: &Screen) -> Result<String> {
        let screen = Screen {
            width: screen.width.filter(|_| screen.terminal),
            ..*screen
        };
        Ok(crate::output::draw(self, hits, &screen))
    }
}

/// The longest description snippet on a terminal, in characters.
const SNIPPET_CHARS: usize = 80;
