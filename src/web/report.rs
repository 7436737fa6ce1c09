//! `macat report`: the pages of `macat serve` (but search) written as static files, with
//! relative links, so a directory can be published from CI anywhere:
//!
//! - `index.html`: the runs page and the catalog at the point in time as a table;
//! - `images/ID.html`: one page per image (every image of a catalog under
//!   [`IMAGE_PAGES_UP_TO`] images; above, only the images changed by the runs shown);
//! - `diff/run-N.html`: what each committed run changed (the first: everything it added);
//! - `sizes.svg`, `changes.svg`, `macat.css`, `macat.js`, `favicon.svg`.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::model::{runs_until, AsOf, ImageView};
use super::pages::{self, CatalogRow, Site};
use crate::error::{Error, Result};
use crate::store::diff::parse_object;
use crate::store::{RunPoint, Store};

/// Catalogs smaller than this get a page for every image by default.
pub const IMAGE_PAGES_UP_TO: usize = 10_000;

/// Which images get a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePages {
    /// Every image under [`IMAGE_PAGES_UP_TO`], else the images the runs shown changed.
    Auto,
    /// Every image, whatever the size of the catalog.
    All,
    /// None.
    None,
}

/// What a report wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub out: PathBuf,
    pub run_id: i64,
    pub images: usize,
    pub image_pages: usize,
    pub diff_pages: usize,
    pub files: usize,
    pub duration_ms: u64,
}

/// Writes the report of the catalog at `at` into `out` (created if needed).
pub fn write(store: &Store, at: RunPoint, out: &Path, which: ImagePages) -> Result<ReportSummary> {
    let started = Instant::now();
    let io = |what: &Path, e: std::io::Error| {
        Error::usage(format!("cannot write {}: {e}", what.display()))
    };
    for dir in [out.to_path_buf(), out.join("images"), out.join("diff")] {
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    let mut files = 0;
    let mut put = |rel: &str, body: &str| -> Result<()> {
        let path = out.join(rel);
        std::fs::write(&path, body).map_err(|e| io(&path, e))?;
        files += 1;
        Ok(())
    };
    let as_of = AsOf {
        run: at,
        asked: None,
    };
    let runs = runs_until(store, at)?;
    let committed: Vec<RunPoint> = store
        .committed_after(None)?
        .into_iter()
        .filter(|p| p.run_id <= at.run_id)
        .collect();

    // The catalog at the point in time.
    let mut catalog = Vec::new();
    store.for_each_live(at.run_id, |raw| {
        let object = parse_object(raw);
        let id = super::model::text(&object, "id").unwrap_or("").to_string();
        catalog.push(CatalogRow { id, object });
        Ok(())
    })?;

    // Which images get a page: those the runs after the first changed, and, for a catalog
    // small enough (or when told), every image.
    let mut pages_for: BTreeSet<String> = BTreeSet::new();
    if which != ImagePages::None {
        for p in committed.iter().skip(1) {
            pages_for.extend(store.changes_of(p.run_id)?.into_iter().map(|c| c.image_id));
        }
        if which == ImagePages::All || catalog.len() < IMAGE_PAGES_UP_TO {
            pages_for.extend(catalog.iter().map(|r| r.id.clone()));
        }
    }
    let pages: HashSet<String> = pages_for.iter().cloned().collect();
    let diffs: HashSet<i64> = committed.iter().map(|p| p.run_id).collect();

    // One diff page per committed run, from the one before it (the first: from nothing).
    let diff_site = Site::Static {
        depth: 1,
        pages: &pages,
        diffs: &diffs,
    };
    let mut before = RunPoint {
        run_id: 0,
        finished_at_ms: 0,
    };
    for p in &committed {
        let d = store.diff(before, *p)?;
        let page = pages::diff_page(&diff_site, Some(&as_of), &d);
        put(&format!("diff/run-{}.html", p.run_id), &page.into_string())?;
        before = *p;
    }

    let image_site = Site::Static {
        depth: 1,
        pages: &pages,
        diffs: &diffs,
    };
    let mut image_pages = 0;
    for id in &pages_for {
        if let Some(view) = ImageView::read(store, id, at.run_id)? {
            let page = pages::image_page(&image_site, &as_of, &view);
            put(
                &format!("images/{}", pages::image_file(id)),
                &page.into_string(),
            )?;
            image_pages += 1;
        }
    }

    let root = Site::Static {
        depth: 0,
        pages: &pages,
        diffs: &diffs,
    };
    let index = pages::runs_page(&root, &as_of, &runs, Some(&catalog));
    put("index.html", &index.into_string())?;
    put(
        "sizes.svg",
        &super::charts::sizes_svg(&store.timeline(at.run_id)?),
    )?;
    let shown: Vec<&crate::store::RunInfo> = runs
        .iter()
        .rev()
        .filter(|r| r.status == "committed")
        .collect();
    put("changes.svg", &super::charts::changes_svg(&shown))?;
    put("macat.css", super::STYLESHEET)?;
    put("macat.js", super::SCRIPT)?;
    put("favicon.svg", super::FAVICON)?;
    Ok(ReportSummary {
        out: out.to_path_buf(),
        run_id: at.run_id,
        images: catalog.len(),
        image_pages,
        diff_pages: committed.len(),
        files,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
