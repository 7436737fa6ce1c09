//! The pages, as maud templates: one layout, then the search, image, diff, runs and login pages.
//!
//! maud escapes every value spliced into markup (`(value)`), so catalog data can only ever be
//! text. On top of that, values are passed through [`crate::output::sanitize`] (control and
//! bidi characters shown as visible escapes), and catalog values never go into `href` or `src`
//! except as percent-encoded path segments or query values of our own URLs ([`Site`]).
//! No inline script or style (the pages are served with `Content-Security-Policy:
//! default-src 'self'`): the stylesheet and the one small script are files of their own.

use std::collections::HashSet;

use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::model::{text, AsOf, ImageView, Presence};
use crate::index::Hit;
use crate::output::{human_time_ms, sanitize};
use crate::store::diff::{parse_object, Diff, FieldChange, ScopedImage};
use crate::store::history::{Event, HistoryEntry};
use crate::store::watches::{EventRow, WatchRow};
use crate::store::{RunInfo, RunPoint, ScopeKey};

/// A path segment: everything but letters, digits, `-` and `_` percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// `s` as one percent-encoded path segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The file name of an image's page in a report (the id, percent-encoded, so any id is one
/// plain file name inside `images/`).
pub fn image_file(id: &str) -> String {
    format!("{}.html", segment(id))
}

/// Where the links of a page point: the running server, or a static report's files.
pub enum Site<'a> {
    /// `macat serve`: absolute paths; the `as_of` asked for is kept in every link.
    Live { as_of: Option<&'a str> },
    /// `macat report`: paths relative to a page `depth` directories below the report's root;
    /// only the images in `pages` and the runs in `diffs` have a page.
    Static {
        depth: usize,
        pages: &'a HashSet<String>,
        diffs: &'a HashSet<i64>,
    },
}

impl Site<'_> {
    fn root(&self) -> String {
        match self {
            Site::Live { .. } => "/".into(),
            Site::Static { depth, .. } => "../".repeat(*depth),
        }
    }

    /// `path` with the `as_of` in effect (live pages) and `more` query pairs.
    fn live(&self, path: &str, more: &[(&str, &str)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in more {
            q.append_pair(k, v);
        }
        if let Site::Live { as_of: Some(a) } = self {
            q.append_pair("as_of", a);
        }
        let q = q.finish();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    pub fn css(&self) -> String {
        match self {
            Site::Live { .. } => "/static/macat.css".into(),
            Site::Static { .. } => format!("{}macat.css", self.root()),
        }
    }

    pub fn icon(&self) -> String {
        match self {
            Site::Live { .. } => "/static/favicon.svg".into(),
            Site::Static { .. } => format!("{}favicon.svg", self.root()),
        }
    }

    pub fn js(&self) -> String {
        match self {
            Site::Live { .. } => "/static/macat.js".into(),
            Site::Static { .. } => format!("{}macat.js", self.root()),
        }
    }

    /// The search page (live only).
    pub fn search(&self) -> Option<String> {
        match self {
            Site::Live { .. } => Some(self.live("/", &[])),
            Site::Static { .. } => None,
        }
    }

    /// The search page at a given run (live only).
    pub fn search_at(&self, run: i64) -> Option<String> {
        match self {
            Site::Live { .. } => Some(format!("/?as_of=run:{run}")),
            Site::Static { .. } => None,
        }
    }

    pub fn runs(&self) -> String {
        match self {
            Site::Live { .. } => self.live("/runs", &[]),
            Site::Static { .. } => format!("{}index.html", self.root()),
        }
    }

    /// A chart of the runs page (`sizes` or `changes`).
    pub fn chart(&self, name: &str) -> String {
        match self {
            Site::Live { .. } => self.live(&format!("/runs/{name}.svg"), &[]),
            Site::Static { .. } => format!("{}{name}.svg", self.root()),
        }
    }

    /// An image's page, if it has one.
    pub fn image(&self, id: &str) -> Option<String> {
        match self {
            Site::Live { .. } => Some(self.live(&format!("/images/{}", segment(id)), &[])),
            Site::Static { pages, .. } => pages
                .contains(id)
                // The file name holds `%`: encoded once more in the link.
                .then(|| format!("{}images/{}", self.root(), segment(&image_file(id)))),
        }
    }

    /// What run `run` changed (from the committed run before it), if it has a page.
    pub fn run_diff(&self, run: i64) -> Option<String> {
        match self {
            Site::Live { .. } => Some(self.live("/diff", &[("to", &format!("run:{run}"))])),
            Site::Static { diffs, .. } => diffs
                .contains(&run)
                .then(|| format!("{}diff/run-{run}.html", self.root())),
        }
    }
}

/// The whole page around `body`. `at` is the point in time in effect (none when the asked
/// `as_of` is not one).
pub fn layout(site: &Site, title: &str, at: Option<&AsOf>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (sanitize(title)) " · macat" }
                link rel="stylesheet" href=(site.css());
                link rel="icon" type="image/svg+xml" href=(site.icon());
                script src=(site.js()) defer {}
            }
            body {
                header {
                    nav {
                        @if let Some(s) = site.search() { a href=(s) { "Search" } }
                        a href=(site.runs()) { "Runs" }
                        @if let Site::Live { .. } = site {
                            a href=(site.live("/diff", &[])) { "Diff" }
                            a href=(site.live("/watches", &[])) { "Watches" }
                        }
                    }
                    p.asof {
                        @match at {
                            Some(at) => {
                                "Catalog as of "
                                strong.asof-run { "run:" (at.run.run_id) }
                                " (" (when(at.run)) ")"
                                @if let Some(a) = &at.asked { " · as_of=" code { (sanitize(a)) } }
                            }
                            None => { "No point in time" }
                        }
                    }
                }
                main { (body) }
                footer { "macat " (env!("CARGO_PKG_VERSION")) " · an offline mirror of the ModelArts image catalog" }
            }
        }
    }
}

/// A run's end, for people: `2026-01-19 06:00 UTC`.
fn when(p: RunPoint) -> String {
    format!("{} UTC", human_time_ms(p.finished_at_ms))
}

/// A catalog value as text: strings as they are, anything else as JSON; sanitized.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => sanitize(s),
        other => sanitize(&other.to_string()),
    }
}

/// `text` with the byte ranges `marks` in `<mark>` (ranges off a character boundary or out of
/// range are dropped; overlapping ones merged).
fn marked(text: &str, marks: &[(usize, usize)]) -> Markup {
    let mut ranges: Vec<(usize, usize)> = marks
        .iter()
        .copied()
        .filter(|&(a, b)| {
            a < b && b <= text.len() && text.is_char_boundary(a) && text.is_char_boundary(b)
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    let mut at = 0;
    for (a, b) in merged {
        pieces.push((false, &text[at..a]));
        pieces.push((true, &text[a..b]));
        at = b;
    }
    pieces.push((false, &text[at..]));
    html! {
        @for (mark, piece) in pieces {
            @if mark { mark { (sanitize(piece)) } } @else { (sanitize(piece)) }
        }
    }
}

/// The values of the search form, as asked.
#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    pub q: String,
    pub filters: Vec<(&'static str, String)>,
    pub as_of: String,
    pub limit: String,
    pub include_removed: bool,
}

impl SearchForm {
    fn filter(&self, name: &str) -> &str {
        self.filters
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The search page: the form, then the hits (or what was wrong with the query).
pub fn search_page(
    site: &Site,
    at: Option<&AsOf>,
    form: &SearchForm,
    hits: Option<&[Hit]>,
    limit: usize,
    error: Option<&str>,
) -> Markup {
    let filters: [(&str, &str, &str); 5] = [
        ("arch", "Architecture", "x86_64, aarch64"),
        ("service_type", "Service type", "TRAIN, INFERENCE, DEV…"),
        ("type", "Image type", "BUILD_IN, DEDICATED"),
        ("status", "Status", "ACTIVE…"),
        ("dev_service", "Dev service", "NOTEBOOK, SSH…"),
    ];
    let category = form.filter("category").to_ascii_uppercase();
    let body = html! {
        form.search method="get" action="/" role="search" {
            div.q {
                label for="q" { "Search the catalog" }
                input #q type="search" name="q" value=(form.q) placeholder="pytorch 2.1 cuda, mindspore snt9b, arch:aarch64 -cuda" autofocus;
                button type="submit" { "Search" }
            }
            details.filters open[form.filters.iter().any(|(_, v)| !v.is_empty()) || !form.as_of.is_empty() || form.include_removed] {
                summary { "Filters and point in time" }
                div.grid {
                    @for (name, label, hint) in filters {
                        label {
                            span { (label) }
                            input type="text" name=(name) value=(form.filter(name)) placeholder=(hint);
                        }
                    }
                    label {
                        span { "Category" }
                        select name="category" {
                            option value="" selected[category.is_empty()] { "any" }
                            @for c in ["CPU", "GPU", "ASCEND"] {
                                option value=(c) selected[category == c] { (c) }
                            }
                        }
                    }
                    label {
                        span { "As of" }
                        input type="text" name="as_of" value=(form.as_of) placeholder="latest, run:3, 2026-01-19, 7d";
                    }
                    label {
                        span { "Limit" }
                        input type="number" name="limit" min="1" max="10000" value=(form.limit) placeholder="20";
                    }
                    label.check {
                        input type="checkbox" name="include_removed" value="true" checked[form.include_removed];
                        span { "Include removed images" }
                    }
                }
            }
        }
        @if let Some(e) = error {
            p.error role="alert" { (sanitize(e)) }
        }
        @if let Some(hits) = hits {
            p.count #count {
                @if hits.is_empty() {
                    "No images match."
                } @else {
                    (hits.len()) @if hits.len() == 1 { " image" } @else { " images" }
                    @if hits.len() >= limit { " (the first " (limit) "; raise the limit for more)" }
                }
            }
            ol.hits {
                @for h in hits { (hit(site, h)) }
            }
        }
    };
    let title = if form.q.is_empty() {
        "Search".to_string()
    } else {
        format!("{} - search", form.q)
    };
    layout(site, &title, at, body)
}

fn hit(site: &Site, h: &Hit) -> Markup {
    let name = h.name.as_deref().unwrap_or("(no name)");
    html! {
        li.hit data-id=(h.id) {
            h2 {
                @match site.image(&h.id) {
                    Some(href) => a href=(href) { (marked(name, &h.highlights.name)) },
                    None => (marked(name, &h.highlights.name)),
                }
            }
            @if let Some(tag) = &h.tag {
                p.tag { "tag " code { (marked(tag, &h.highlights.tag)) } }
            }
            p.meta {
                @for v in [&h.arch, &h.image_type, &h.service_type, &h.status].into_iter().flatten() {
                    span.chip { (sanitize(v)) }
                }
                @if !h.live {
                    span.chip.gone {
                        @match h.valid_to { Some(r) => { "gone since run:" (r) }, None => "not in the catalog then" }
                    }
                }
                " " code.id { (sanitize(&h.id)) }
            }
            @if h.partial {
                p.partial { "partial match: no "
                    @for (i, w) in h.missing.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (sanitize(w)) }
                    }
                }
            }
            @if let Some(d) = h.description.as_deref().filter(|d| !d.trim().is_empty()) {
                p.desc { (marked(d, &h.highlights.description)) }
            }
        }
    }
}

/// One image: where it stands, the pull line, every field, and its history.
pub fn image_page(site: &Site, at: &AsOf, v: &ImageView) -> Markup {
    let name = text(&v.object, "name").unwrap_or("(no name)");
    let tag = text(&v.object, "tag");
    let swr = text(&v.object, "swr_path");
    let body = html! {
        h1 { (sanitize(name)) @if let Some(t) = tag { span.tagline { ":" (sanitize(t)) } } }
        p.presence {
            @match v.presence {
                Presence::Live => { span.chip.live { "in the catalog" } " at run:" (at.run.run_id) }
                Presence::Removed(r) => { span.chip.gone { "removed in run:" (r) } " (shown as last seen)" }
                Presence::NotYet(r) => { span.chip.gone { "not yet in the catalog" } " (first seen in run:" (r) ")" }
            }
        }
        @if let Some(path) = swr {
            div.pull {
                code #pull { "docker pull " (sanitize(path)) }
                button.copy type="button" data-copy="pull" hidden { "Copy" }
            }
        }
        h2 { "Fields" }
        table.fields {
            tbody {
                @for (k, val) in &v.object {
                    tr { th scope="row" { (sanitize(k)) } td { (shown(val)) } }
                }
            }
        }
        @if !v.scopes.is_empty() {
            p.scopes {
                "Scope" @if v.scopes.len() > 1 { "s" } ": "
                @for (i, (_, s)) in v.scopes.iter().enumerate() {
                    @if i > 0 { "; " }
                    (scope_text(s))
                }
            }
        }
        h2 { "History" }
        table.history {
            thead { tr { th { "run" } th { "finished (UTC)" } th { "event" } th { "what changed" } } }
            tbody {
                @for e in &v.history { (history_row(site, v, e)) }
            }
        }
    };
    let title = match tag {
        Some(t) => format!("{name}:{t}"),
        None => name.to_string(),
    };
    layout(site, &title, Some(at), body)
}

fn scope_text(s: &ScopeKey) -> String {
    let mut t = format!(
        "{} project {} workspace {} {}",
        s.endpoint, s.project_id, s.workspace_id, s.image_type
    );
    if let Some(ns) = &s.namespace {
        t.push_str(&format!(" namespace {ns}"));
    }
    sanitize(&t)
}

fn history_row(site: &Site, v: &ImageView, e: &HistoryEntry) -> Markup {
    let scope = (v.scopes.len() > 1)
        .then(|| v.scopes.iter().find(|(id, _)| *id == e.scope_id))
        .flatten();
    html! {
        tr.event data-run=(e.run.run_id) data-event=(e.event.as_str()) {
            td.run {
                @match site.run_diff(e.run.run_id) {
                    Some(href) => a href=(href) { "run:" (e.run.run_id) },
                    None => { "run:" (e.run.run_id) },
                }
            }
            td { (human_time_ms(e.run.finished_at_ms)) }
            td.event { span class={ "chip " (e.event.as_str()) } { (e.event.as_str()) } }
            td {
                @if let Some((_, s)) = scope { small { (sanitize(&s.image_type)) " " } }
                @match e.event {
                    Event::Added => "first seen",
                    Event::Removed => "no longer in the catalog",
                    Event::Returned if e.changes.is_empty() => "back, unchanged",
                    _ => (changes(&e.changes)),
                }
            }
        }
    }
}

/// Field changes: `field: from → to`, each on its own line.
fn changes(list: &[FieldChange]) -> Markup {
    html! {
        ul.changes {
            @for c in list {
                li data-field=(c.field) {
                    code.field { (sanitize(&c.field)) } ": "
                    del { (sanitize(&crate::output::change_value(&c.field, c.from.as_ref()))) }
                    " → "
                    ins { (sanitize(&crate::output::change_value(&c.field, c.to.as_ref()))) }
                }
            }
        }
    }
}

/// What differs between two points in time, grouped as `macat diff` groups it. A diff from
/// run 0 is a first run's: from an empty mirror.
pub fn diff_page(site: &Site, at: Option<&AsOf>, d: &Diff) -> Markup {
    let run = |p: RunPoint| format!("run:{} ({})", p.run_id, when(p));
    let from_label = if d.from.run_id == 0 {
        "an empty mirror".to_string()
    } else {
        run(d.from)
    };
    let body = html! {
        h1 { "What changed" }
        p.summary {
            (from_label) " → " (run(d.to)) ": "
            strong { (d.added.len()) " added, " (d.removed.len()) " removed, " (d.changed.len()) " changed" }
        }
        @if d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() {
            p { "No differences." }
        }
        @for (title, class, list) in [("Added", "added", &d.added), ("Removed", "removed", &d.removed)] {
            @if !list.is_empty() {
                section class=(class) {
                    h2 { (title) " (" (list.len()) ")" }
                    table.images {
                        thead { tr { th { "name" } th { "tag" } th { "id" } } }
                        tbody { @for img in list.iter() { (image_row(site, img)) } }
                    }
                }
            }
        }
        @if !d.changed.is_empty() {
            section.changed {
                h2 { "Changed (" (d.changed.len()) ")" }
                @for c in &d.changed {
                    article.change data-id=(c.image_id) {
                        h3 {
                            @let name = c.name.as_deref().unwrap_or("(no name)");
                            @match site.image(&c.image_id) {
                                Some(href) => a href=(href) { (sanitize(name)) },
                                None => (sanitize(name)),
                            }
                            @if let Some(t) = &c.tag { " " code { (sanitize(t)) } }
                        }
                        p { code.id { (sanitize(&c.image_id)) } }
                        (changes(&c.changes))
                    }
                }
            }
        }
    };
    layout(
        site,
        &format!("diff {} → {}", from_label, run(d.to)),
        at,
        body,
    )
}

fn image_row(site: &Site, img: &ScopedImage) -> Markup {
    let m = parse_object(&img.raw);
    let name = text(&m, "name").unwrap_or("(no name)");
    html! {
        tr data-id=(img.image_id) {
            td {
                @match site.image(&img.image_id) {
                    Some(href) => a href=(href) { (sanitize(name)) },
                    None => (sanitize(name)),
                }
            }
            td { (sanitize(text(&m, "tag").unwrap_or(""))) }
            td { code.id { (sanitize(&img.image_id)) } }
        }
    }
}

/// An image of the catalog table of a report.
pub struct CatalogRow {
    pub id: String,
    pub object: serde_json::Map<String, Value>,
}

/// The runs page: the charts, then every run; a report adds the catalog as a table.
pub fn runs_page(
    site: &Site,
    at: &AsOf,
    runs: &[RunInfo],
    catalog: Option<&[CatalogRow]>,
) -> Markup {
    let body = html! {
        h1 { "Runs" }
        div.charts {
            figure {
                img src=(site.chart("sizes")) width="720" height="300" alt="Line chart: images in the catalog per type after each run";
            }
            figure {
                img src=(site.chart("changes")) width="720" height="300" alt="Bar chart: images added, changed and removed by each run";
            }
        }
        div.scroll {
            table.runs {
                thead { tr {
                    th { "run" } th { "status" } th { "finished (UTC)" } th { "scopes" }
                    th.n { "seen" } th.n { "added" } th.n { "changed" } th.n { "removed" } th { "" }
                } }
                tbody {
                    @for r in runs {
                        tr.run data-run=(r.run_id) class=(if r.run_id == at.run.run_id { "current" } else { "" }) {
                            td { "run:" (r.run_id) }
                            td { span class={ "chip " (r.status) } { (r.status) } }
                            td { (r.finished_at.as_deref().map(crate::output::human_rfc3339).unwrap_or_default()) }
                            td { (sanitize(&r.scopes.iter().map(|s| format!("{}/{}", s.project_id, s.image_type)).collect::<Vec<_>>().join(" "))) }
                            td.n { (r.seen) }
                            td.n { (r.added) }
                            td.n { (r.changed) }
                            td.n { (r.removed) }
                            td {
                                @if r.status == "committed" {
                                    @if let Some(href) = site.run_diff(r.run_id) { a href=(href) { "changes" } " " }
                                    @if let Some(href) = site.search_at(r.run_id) { a href=(href) { "search then" } }
                                }
                                @if let Some(e) = &r.error { span.error { (sanitize(e)) } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(rows) = catalog {
            h2 #catalog { "The catalog at run:" (at.run.run_id) " (" (rows.len()) " images)" }
            div.scroll {
                table.catalog {
                    thead { tr { th { "name" } th { "tag" } th { "type" } th { "arch" } th { "service" } th { "status" } th { "id" } } }
                    tbody {
                        @for row in rows {
                            @let o = &row.object;
                            tr data-id=(row.id) {
                                td {
                                    @let name = text(o, "name").unwrap_or("(no name)");
                                    @match site.image(&row.id) {
                                        Some(href) => a href=(href) { (sanitize(name)) },
                                        None => (sanitize(name)),
                                    }
                                }
                                td { (sanitize(text(o, "tag").unwrap_or(""))) }
                                td { (sanitize(text(o, "type").unwrap_or(""))) }
                                td { (sanitize(text(o, "arch").unwrap_or(""))) }
                                td { (sanitize(text(o, "service_type").unwrap_or(""))) }
                                td { (sanitize(text(o, "status").unwrap_or(""))) }
                                td { code.id { (sanitize(&row.id)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(site, "Runs", Some(at), body)
}

/// A watch and its latest events, newest first, as the watches page shows them.
pub struct WatchView {
    pub watch: WatchRow,
    pub events: Vec<EventRow>,
}

/// How many events the watches page shows per watch.
pub const WATCH_EVENTS_SHOWN: usize = 20;

/// The watches page (live only): each saved search, where it stands, and what it reported.
pub fn watches_page(site: &Site, at: &AsOf, watches: &[WatchView]) -> Markup {
    let body = html! {
        h1 { "Watches" }
        p { "Saved searches checked after every sync ("
            code { "macat watch add" } "). All watches as a feed: "
            a href="/feed.atom" { "feed.atom" } "." }
        @if watches.is_empty() {
            p.empty { "No watches yet. " code { "macat watch add NAME QUERY" } " adds one." }
        }
        @for v in watches {
            @let w = &v.watch;
            section.watch data-watch=(w.name) {
                h2 { (sanitize(&w.name)) }
                dl {
                    dt { "query" }
                    dd {
                        @let pairs: Vec<(&str, &str)> = std::iter::once(("q", w.query.as_str()))
                            .chain(w.filters.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                            .collect();
                        a.query href=(site.live("/", &pairs)) { code { (sanitize(&w.query)) } }
                        @for (k, val) in &w.filters { " " code.filter { (sanitize(k)) "=" (sanitize(val)) } }
                    }
                    dt { "webhook" }
                    dd { @match &w.webhook {
                        Some(url) => code { (sanitize(&crate::watch::mask_url(url))) },
                        None => "none (feed only)",
                    } }
                    dt { "checked through" }
                    dd { @match w.checked_through {
                        Some(run) => { "run:" (run) },
                        None => "not yet (the first committed run is its baseline)",
                    } }
                    dt { "feed" }
                    dd { a href=(format!("/watches/{}/feed.atom", segment(&w.name))) { "feed.atom" } }
                }
                @if v.events.is_empty() {
                    p.empty { "No events: nothing it matches has changed since it was added." }
                } @else {
                    div.scroll {
                        table.events {
                            thead { tr {
                                th { "run" } th { "finished (UTC)" } th.n { "added" } th.n { "changed" }
                                th.n { "removed" } th { "delivery" } th { "" }
                            } }
                            tbody {
                                @for e in &v.events {
                                    tr.event data-run=(e.run_id) data-event=(e.event_id) {
                                        td { "run:" (e.run_id) }
                                        td { (human_time_ms(e.run_finished_at)) }
                                        td.n { (e.added) }
                                        td.n { (e.changed) }
                                        td.n { (e.removed) }
                                        td {
                                            @if w.webhook.is_none() { "—" }
                                            @else if e.delivered_at.is_some() { span.chip.committed { "delivered" } }
                                            @else { span.chip.failed { "pending" } " " (e.attempts) " attempts" }
                                        }
                                        td { a href=(site.live("/diff", &[("from", &format!("run:{}", e.from_run)), ("to", &format!("run:{}", e.run_id))])) { "changes" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(site, "Watches", Some(at), body)
}

/// A page that only says what went wrong.
pub fn error_page(site: &Site, at: Option<&AsOf>, title: &str, message: &str) -> Markup {
    layout(
        site,
        title,
        at,
        html! { h1 { (title) } p.error role="alert" { (sanitize(message)) } },
    )
}

/// What a sign-in form asks for.
pub enum LoginKind {
    Token,
    AkSk,
}

/// The sign-in form (`--require-auth`): a POST that sets a session cookie.
pub fn login_page(kind: LoginKind, next: &str, error: Option<&str>) -> Markup {
    let site = Site::Live { as_of: None };
    let body = html! {
        h1 { "Sign in" }
        p { "This mirror requires credentials. Signing in sets a session cookie in this browser (12 hours)." }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form.login method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            @match kind {
                LoginKind::Token => {
                    label { span { "Token" } input type="password" name="token" autocomplete="current-password" required; }
                }
                LoginKind::AkSk => {
                    label { span { "Access key (AK)" } input type="text" name="ak" autocomplete="username" required; }
                    label { span { "Secret key (SK)" } input type="password" name="sk" autocomplete="current-password" required; }
                }
            }
            button type="submit" { "Sign in" }
        }
    };
    layout(&site, "Sign in", None, body)
}
