//! `macat list`: the catalog at a point in time, with the API's own query parameters.
//!
//! The flags are the API's parameters with the API's meaning and defaults (`type` BUILD_IN,
//! `workspace_id` "0", `limit` 200, newest first), turned into a [`Query`] by
//! [`Query::from_params`] and answered by [`Query::select`] and [`Paging::page`]: the code the
//! simulator answers requests with, so `list` and the API cannot disagree. A value the API
//! would refuse with 400 is refused here with the same message (exit 2).

use clap::Args;

use super::{Format, Session};
use crate::catalog::{Paging, Query};
use crate::error::{Error, Result};
use crate::output::styled::Styled;
use crate::output::{self, Column, Tabular};
use crate::store::LiveImage;
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the dedicated images, most recently updated first", "macat list --type DEDICATED --sort-key update_at"),
    ("the API's own filters, sorting and paging", "macat list --name mindspore --sort-key name,tag --sort-dir ASC --limit 20"),
    ("the catalog as run 1 saw it, as CSV", "macat list --as-of run:1 --format csv"),
]))]
pub struct ListArgs {
    /// Image name: a case-insensitive part of it, or all of it with --name-fuzzy-match false
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Whether --name matches part of the name [default: true]
    #[arg(long, value_name = "true|false")]
    pub name_fuzzy_match: Option<String>,
    /// SWR organization
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// COMMON, INFERENCE, TRAIN, DEV or UNKNOWN [default: any]
    #[arg(long, value_name = "TYPE")]
    pub service_type: Option<String>,
    /// BUILD_IN or DEDICATED [default: BUILD_IN, as the API]
    #[arg(long = "type", value_name = "TYPE")]
    pub image_type: Option<String>,
    /// Workspace id [default: 0, as the API]
    #[arg(long, value_name = "ID")]
    pub workspace_id: Option<String>,
    /// Fields to sort by, comma-separated [default: create_at]
    #[arg(long, value_name = "FIELDS")]
    pub sort_key: Option<String>,
    /// ASC or DESC [default: DESC]
    #[arg(long, value_name = "DIR")]
    pub sort_dir: Option<String>,
    /// Images to show [default: 200]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub limit: Option<String>,
    /// Images to skip first [default: 0]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Point in time: YYYY-MM-DD, RFC 3339, run:N, latest, or a duration ago (36h, 7d)
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl ListArgs {
    /// The flags as the API's query parameters (only those given, so the API's defaults apply).
    fn params(&self) -> Vec<(&'static str, &str)> {
        [
            ("name", &self.name),
            ("name_fuzzy_match", &self.name_fuzzy_match),
            ("namespace", &self.namespace),
            ("service_type", &self.service_type),
            ("type", &self.image_type),
            ("workspace_id", &self.workspace_id),
            ("sort_key", &self.sort_key),
            ("sort_dir", &self.sort_dir),
            ("limit", &self.limit),
            ("offset", &self.offset),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

pub fn run(s: &Session, args: ListArgs) -> Result<()> {
    let g = &s.g;
    let query = Query::from_params(args.params()).map_err(|e| Error::usage(e.to_string()))?;
    let when = When::parse(&args.as_of, chrono::Utc::now())?;
    let store = s.store()?;
    let point = store.resolve(&when)?;
    let images = store.live_images(point.run_id)?;
    let selected = query.select(&images, |i| &i.image);
    let page = Paging::default().page(&selected, &query);
    output::emit(&Images, args.format, page.data.iter().copied(), &s.screen())?;
    if args.format == Format::Table && !g.quiet {
        let shown = page.data.len() as u64;
        if page.data.is_empty() {
            eprintln!(
                "no image matches at run {} ({} in the catalog then)",
                point.run_id,
                images.len()
            );
        } else if shown < page.total {
            let first = query.offset.min(page.total) + 1;
            eprintln!(
                "images {first}-{} of {} at run {}; --offset and --limit show others",
                first + shown - 1,
                page.total,
                point.run_id
            );
        }
    }
    Ok(())
}

/// Images in a read format: JSON and ndjson carry the objects exactly as the API returned
/// them, CSV the documented fields, the table a summary for people (nothing when empty).
pub(crate) struct Images;

const STORED: output::StoredObjects = output::StoredObjects { empty_json: "[]\n" };

impl Tabular<LiveImage> for Images {
    fn csv_headers(&self) -> Vec<String> {
        STORED.csv_headers()
    }
    fn csv_rows(&self, l: &LiveImage) -> Result<Vec<Vec<String>>> {
        STORED.csv_rows(&l.raw)
    }
    fn json(&self, l: &LiveImage) -> Result<String> {
        STORED.json(&l.raw)
    }
    fn json_layout(&self) -> output::JsonLayout {
        STORED.json_layout()
    }

    /// The id (shortened first when space is short; a unique prefix of it is enough for `show`
    /// and `history`), name and tag, then what tells images apart at a glance.
    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            Column::flex("ID", 9),
            Column::flex("NAME", 24),
            Column::flex("TAG", 12),
            Column::fixed("TYPE").optional(3),
            Column::fixed("ARCH").optional(5),
            Column::fixed("SERVICE").optional(6),
            Column::fixed("STATUS"),
            Column::fixed("SIZE").optional(2),
            Column::fixed("UPDATED (UTC)").optional(4),
        ]
    }

    fn table_rows(&self, l: &LiveImage) -> Vec<Vec<Styled>> {
        let i = &l.image;
        let text = |s: &Option<String>| Styled::plain(s.as_deref().unwrap_or_default());
        vec![vec![
            Styled::plain(&i.id),
            text(&i.name),
            text(&i.tag),
            text(&i.image_type),
            text(&i.arch),
            text(&i.service_type),
            text(&i.status),
            Styled::plain(&i.size.map(output::human_size).unwrap_or_default()),
            Styled::plain(&i.update_at.map(output::human_time_ms).unwrap_or_default()),
        ]]
    }

    fn table(&self, images: &[&LiveImage], screen: &output::Screen) -> Result<String> {
        if images.is_empty() {
            return Ok(String::new());
        }
        Ok(output::draw(self, images, screen))
    }
}
