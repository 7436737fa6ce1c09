//! `macat watch`: saved searches that notify (add, list, rm, check, deliver).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::search::FilterArgs;
use super::Session;
use crate::error::{Error, Result};
use crate::index::SearchIndex;
use crate::output;
use crate::store::{RunPoint, Store};
use crate::watch::{self, NewWatch, WatchDiff};
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("tell a webhook about new MindSpore images for snt9b", "macat watch add ms 'mindspore snt9b' --webhook https://hooks.example.com/m"),
    ("what a watch saw change between two runs", "macat watch check ms --from run:1 --to run:3"),
    ("send the events still pending", "macat watch deliver"),
]))]
pub struct WatchArgs {
    #[command(subcommand)]
    pub command: WatchCommand,
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Save a search to watch; what matches now is the baseline, not news
    Add(AddArgs),
    /// The watches, with their webhooks (passwords masked) and pending events
    List(ListArgs),
    /// Remove a watch and its events
    Rm(RmArgs),
    /// What changed for a watch between two points in time (default: the two latest runs)
    Check(CheckArgs),
    /// Make the events of runs not yet checked, then deliver every pending event
    Deliver(DeliverArgs),
}

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("a watch with no webhook (see its events with watch check and feed)", "macat watch add mindspore mindspore"),
    ("PyTorch on Arm, told to a receiver on this machine", "macat watch add pt pytorch --arch aarch64 --webhook http://127.0.0.1:9000/h"),
    ("signed deliveries (the secret from a file)", "macat watch add ms cann --webhook https://x.example --webhook-secret-file k"),
]))]
pub struct AddArgs {
    /// The watch's name: 1 to 64 of a-z, 0-9, _ and - (starting with a letter or digit)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What to watch, as `macat search` takes it (every word must match)
    #[arg(value_name = "QUERY")]
    pub query: String,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// POST each event here as JSON (not contacted now: checked at delivery)
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// A file holding the secret that signs deliveries (X-Macat-Signature-256)
    #[arg(long, value_name = "PATH")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Allow a plain http:// webhook on a host other than loopback
    #[arg(long)]
    pub insecure_http: bool,
}

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the watches, for people", "macat watch list"),
    ("for a script", "macat watch list --format json"),
]))]
pub struct ListArgs {
    /// table for people, json for scripts
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("forget a watch and its events", "macat watch rm mindspore"),
    ("quietly, from a script", "macat watch rm pt-arm -q"),
]))]
pub struct RmArgs {
    /// The watch to remove
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("what changed for a watch in the last sync", "macat watch check mindspore"),
    ("between any two runs", "macat watch check mindspore --from run:1 --to run:3"),
    ("over the last week, for a script", "macat watch check pt-arm --from 7d --format json"),
]))]
pub struct CheckArgs {
    /// The watch to check
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The earlier point in time [default: the committed run before --to]
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// The later point in time [default: latest]
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// text: a report for people; json: the event object for scripts
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("send the events still pending, oldest first", "macat watch deliver"),
    ("from cron, errors only", "macat watch deliver -q"),
]))]
pub struct DeliverArgs {}

pub fn run(s: &Session, args: WatchArgs) -> Result<()> {
    match args.command {
        WatchCommand::Add(a) => add(s, a),
        WatchCommand::List(a) => list(s, a),
        WatchCommand::Rm(a) => rm(s, a),
        WatchCommand::Check(a) => check(s, a),
        WatchCommand::Deliver(_) => deliver(s),
    }
}

fn add(s: &Session, a: AddArgs) -> Result<()> {
    let filters: BTreeMap<String, String> = a
        .filters
        .given()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let w = watch::add(
        &s.db_path()?,
        NewWatch {
            name: a.name,
            query: a.query,
            filters,
            webhook: a.webhook,
            secret_file: a.webhook_secret_file,
            insecure_http: a.insecure_http,
        },
    )?;
    if !s.g.quiet {
        let from = match w.checked_through {
            Some(r) => format!("run {r} is its baseline"),
            None => "the first sync is its baseline".into(),
        };
        eprintln!("added watch {}: {from}", w.name);
    }
    Ok(())
}

fn open_watch(store: &Store, name: &str) -> Result<crate::store::watches::WatchRow> {
    watch::check_name(name)?;
    store.watch(name)?.ok_or_else(|| {
        Error::usage(format!(
            "there is no watch named {name} (see `macat watch list`)"
        ))
    })
}

fn list(s: &Session, a: ListArgs) -> Result<()> {
    let store = s.store()?;
    #[derive(Serialize)]
    struct Row {
        name: String,
        query: String,
        filters: BTreeMap<String, String>,
        webhook: Option<String>,
        signed: bool,
        checked_through: Option<i64>,
        events: usize,
        pending: usize,
    }
    let mut rows = Vec::new();
    for w in store.watches()? {
        let (events, undelivered) = store.event_counts(w.id)?;
        rows.push(Row {
            pending: if w.webhook.is_some() {
                undelivered as usize
            } else {
                0
            },
            events: events as usize,
            webhook: w.webhook.as_deref().map(watch::mask_url),
            signed: w.secret_file.is_some(),
            name: w.name,
            query: w.query,
            filters: w.filters,
            checked_through: w.checked_through,
        });
    }
    match a.format {
        ListFormat::Json => {
            let text = serde_json::to_string(&rows).map_err(|e| Error::internal(e.to_string()))?;
            output::stdout_line(&text)?;
        }
        ListFormat::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let filters: Vec<String> =
                        r.filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    vec![
                        r.name.clone(),
                        r.query.clone(),
                        filters.join(","),
                        r.webhook.clone().unwrap_or_else(|| "-".into()),
                        r.checked_through
                            .map_or_else(|| "-".into(), |n| format!("run:{n}")),
                        r.events.to_string(),
                        r.pending.to_string(),
                    ]
                    .into_iter()
                    .map(|c| output::sanitize(&c))
                    .collect()
                })
                .collect();
            let table = output::table(
                &[
                    "NAME", "QUERY", "FILTERS", "WEBHOOK", "CHECKED", "EVENTS", "PENDING",
                ],
                &cells,
            );
            let mut out = std::io::stdout().lock();
            out.write_all(table.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

fn rm(s: &Session, a: RmArgs) -> Result<()> {
    let store = s.store()?;
    open_watch(store, &a.name)?;
    store.remove_watch(&a.name)?;
    if !s.g.quiet {
        eprintln!("removed watch {}", a.name);
    }
    Ok(())
}

fn check(s: &Session, a: CheckArgs) -> Result<()> {
    let now = chrono::Utc::now();
    let from = a.from.as_deref().map(|s| When::parse(s, now)).transpose()?;
    let to = When::parse(a.to.as_deref().unwrap_or("latest"), now)?;
    let store = s.store()?;
    let w = open_watch(store, &a.name)?;
    let (from, to) = store.comparison(from.as_ref(), &to)?;
    let index = SearchIndex::open(store)?;
    let d = watch::check(store, &index, &w, from, to)?;
    match a.format {
        CheckFormat::Json => output::stdout_line(&d.to_json(None)?)?,
        CheckFormat::Text => {
            let mut out = std::io::stdout().lock();
            out.write_all(report(&d).as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// The text report of a check: a summary line, then one line per image (and per changed
/// field), every line sanitized.
pub(crate) fn report(d: &WatchDiff) -> String {
    let when = |p: RunPoint| {
        format!(
            "run:{} ({} UTC)",
            p.run_id,
            output::human_time_ms(p.finished_at_ms)
        )
    };
    let mut lines = vec![format!(
        "watch {} ({}): {} -> {}: +{} ~{} -{}",
        d.watch,
        d.query,
        when(d.from),
        when(d.to),
        d.added.len(),
        d.changed.len(),
        d.removed.len()
    )];
    let name_tag = |raw: &str| {
        let m = crate::store::diff::parse_object(raw);
        let s = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        format!("{}  {}", s("name"), s("tag"))
    };
    for (mark, list) in [("+", &d.added), ("-", &d.removed)] {
        for m in list {
            lines.push(format!("  {mark} {}  {}", m.image_id, name_tag(&m.raw)));
        }
    }
    for c in &d.changed {
        lines.push(format!(
            "  ~ {}  {}",
            c.image_id,
            c.name.as_deref().unwrap_or("")
        ));
        for f in &c.changes {
            lines.push(format!("      {}", super::history::change_line(f)));
        }
    }
    if d.is_empty() {
        lines.push("no changes".into());
    }
    let mut text = String::new();
    for l in lines {
        text.push_str(&output::sanitize(&l));
        text.push('\n');
    }
    text
}

fn deliver(s: &Session) -> Result<()> {
    let store = s.store()?;
    let made = match store.committed_state()? {
        Some(_) if !store.watches()?.is_empty() => {
            let index = SearchIndex::open(store)?;
            watch::catch_up(store, &index)?
        }
        _ => 0,
    };
    let d = watch::deliver::deliver_pending(store)?;
    let pending = store.pending_count()?;
    if !s.g.quiet {
        eprintln!(
            "{made} new event(s), {} delivered, {pending} pending",
            d.delivered
        );
    }
    Ok(())
}

/// Writes the Prometheus metrics of a sync run to `path`; a failure is only a warning (the
/// run's outcome and exit code stand).
pub(crate) fn write_metrics(
    path: &std::path::Path,
    db: &std::path::Path,
    report: &crate::sync::SyncReport,
    events: Option<crate::watch::EventCounts>,
) {
    let store = Store::open_existing(db).ok();
    let read = |f: &dyn Fn(&Store) -> Result<u64>| store.as_ref().and_then(|s| f(s).ok());
    let (requests, retries) = crate::api::client::request_counts();
    let m = crate::metrics::SyncMetrics {
        run_timestamp: crate::store::now_ms() as f64 / 1000.0,
        last_success_timestamp: store
            .as_ref()
            .and_then(|s| s.last_success_ms().ok().flatten())
            .map(|ms| ms as f64 / 1000.0),
        success: report.status == "committed",
        duration_seconds: report.duration_ms as f64 / 1000.0,
        images: store
            .as_ref()
            .and_then(|s| s.images_by_type().ok())
            .unwrap_or_default(),
        added: report.added,
        changed: report.changed,
        removed: report.removed,
        requests,
        retries,
        events_pending: events
            .map(|e| e.pending)
            .or_else(|| read(&|s| s.pending_count()))
            .unwrap_or(0),
    };
    if let Err(e) = crate::metrics::write_atomic(path, m.render().as_bytes()) {
        tracing::warn!("{e}");
    }
}

/// The demo's watch, added after its first sync.
const DEMO_WATCH: (&str, &str) = ("mindspore-arm", "mindspore");

/// `macat demo`: adds its watch (the first day is the baseline).
pub(crate) fn demo_add(db: &std::path::Path) -> Result<()> {
    let (name, query) = DEMO_WATCH;
    watch::add(
        db,
        NewWatch {
            name: name.into(),
            query: query.into(),
            filters: [("arch".to_string(), "aarch64".to_string())].into(),
            webhook: None,
            secret_file: None,
            insecure_http: false,
        },
    )?;
    println!("  $ macat watch add {name} {query} --arch aarch64   (this day is its baseline)");
    Ok(())
}

/// `macat demo`: the demo watch's events, oldest first, as `watch check` shows them.
pub(crate) fn demo_events(store: &Store) -> Result<()> {
    let (name, _) = DEMO_WATCH;
    let Some(w) = store.watch(name)? else {
        return Ok(());
    };
    let index = SearchIndex::open(store)?;
    for e in store.events_of(w.id, None, 10)?.iter().rev() {
        let point = |id| store.resolve(&When::Run(id));
        println!(
            "\n$ macat watch check {name} --from run:{} --to run:{}   (event {})",
            e.from_run, e.run_id, e.event_id
        );
        let d = watch::check(store, &index, &w, point(e.from_run)?, point(e.run_id)?)?;
        print!("{}", report(&d));
    }
    Ok(())
}
