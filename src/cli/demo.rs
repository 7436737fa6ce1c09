//! `macat demo`: a self-contained tour. Starts the simulator in-process on loopback, syncs the
//! three fixture days into a mirror (a temporary one unless `--db` is given), and shows what the
//! mirror then knows: the runs, what each run changed, the catalog at each point in time, the
//! diff between the first and the last day, the history of an image that was delisted and
//! came back, and a few offline searches.

use std::time::Duration;

use clap::Args;

use super::GlobalArgs;
use crate::api::auth::Auth;
use crate::api::client::ClientConfig;
use crate::error::{Error, Result};
use crate::simulate::{self, SimConfig};
use crate::store::history::Lookup;
use crate::store::Store;
use crate::sync::{ScopeTarget, SyncOptions};

/// Delisted on day 2 and back on day 3: its history shows a removal and a comeback.
const DEMO_IMAGE: &str = "mindspore1.8.0-cann5.1.2-py3.7-euler2.8.3";

/// The mirror is temporary unless the global `--db PATH` names a new file to keep.
#[derive(Debug, Args)]
pub struct DemoArgs {}

pub fn run(g: &GlobalArgs, _args: DemoArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let db = match g.db.as_ref() {
        Some(p) if p.exists() => {
            return Err(Error::usage(format!(
                "{} already exists: the demo writes a fresh mirror; pick a new path",
                p.display()
            )))
        }
        Some(p) => p.clone(),
        None => temp.path().join("demo.db"),
    };
    let days = simulate::FIXTURE_DAYS
        .iter()
        .map(|d| simulate::parse_catalog(d))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::internal)?;
    let dates = ["2026-01-19", "2026-01-26", "2026-04-06"];
    let rt = super::runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let cfg = SimConfig {
            days,
            ..SimConfig::default()
        };
        let server = tokio::spawn(crate::apiserver::serve(listener, simulate::router(cfg), async {
            let _ = stopped.await;
        }));
        println!("macat demo: a simulated ModelArts images API at {base}");
        println!("mirror: {}\n", db.display());
        let http = reqwest::Client::new();
        for (i, date) in dates.iter().enumerate() {
            if i > 0 {
                http.post(format!("{base}/_sim/advance"))
                    .send()
                    .await
                    .map_err(|e| Error::internal(format!("advancing the simulator: {e}")))?;
            }
            let client = ClientConfig {
                endpoint: base.clone(),
                project_id: "demo-project".into(),
                timeout: Duration::from_secs(10),
                retries: 3,
                auth: Auth::None,
            };
            let opts = SyncOptions {
                scopes: ScopeTarget::expand(client, "0", "all", None),
                page_size: 50,
                concurrency: 4,
                progress: None,
            };
            let report = crate::sync::run(&db, opts, std::future::pending()).await?;
            super::sync::update_index(&db, report.run_id);
            println!("catalog of {date}: $ macat sync --endpoint {base} --project-id demo-project --page-size 50");
            println!("  {}", super::sync::summary(&report));
            if i == 0 {
                super::watch::demo_add(&db)?;
            } else {
                let events = crate::watch::after_sync(&db);
                println!("  watch events: {} new", events.new);
            }
        }
        let _ = stop.send(());
        let _ = server.await;
        Ok::<(), Error>(())
    })?;

    let store = Store::open_existing(&db)?;
    println!("\n$ macat runs");
    super::runs::print_runs(&store.runs()?, super::Format::Table)?;
    for run in store.runs()?.iter().rev().skip(1) {
        println!("\nwhat run {} changed:", run.run_id);
        for c in store.changes_of(run.run_id)? {
            let name = crate::output::sanitize(c.name.as_deref().unwrap_or("?"));
            match c.kind.as_str() {
                "changed" => println!("  ~ {name} ({}): {}", c.image_id, c.fields.join(", ")),
                "added" => println!("  + {name} ({})", c.image_id),
                _ => println!("  - {name} ({})", c.image_id),
            }
        }
    }
    println!("\nthe catalog at each point in time ($ macat export --as-of run:N | wc -l):");
    for run in store.runs()?.iter().rev() {
        let mut n = 0;
        store.for_each_live(run.run_id, |_| {
            n += 1;
            Ok(())
        })?;
        println!("  run:{} -> {n} images", run.run_id);
    }
    let runs = store.runs()?;
    if let (Some(last), Some(first)) = (runs.first(), runs.last()) {
        let point = |id| store.resolve(&crate::when::When::Run(id));
        let diff = store.diff(point(first.run_id)?, point(last.run_id)?)?;
        println!(
            "\n$ macat diff --from run:{} --to run:{}",
            first.run_id, last.run_id
        );
        let style = super::diff::Style {
            width: crate::output::terminal_width(),
            color: g.color_stdout(),
        };
        print!("{}", super::diff::report(&diff, style));
    }
    println!("\n$ macat history {DEMO_IMAGE}");
    match store.lookup(DEMO_IMAGE, None)? {
        Lookup::Found(found) => {
            let story = super::history::ImageHistory::read(&store, &found)?;
            super::history::print_history(&story, super::Format::Table)?;
        }
        _ => {
            return Err(Error::internal(format!(
                "{DEMO_IMAGE} is not in the demo mirror"
            )))
        }
    }
    super::watch::demo_events(&store)?;
    demo_searches(g, &store)?;
    if g.db.is_none() {
        println!("\n(the mirror was temporary; pass --db PATH to keep it)");
    }
    Ok(())
}

/// One demo search: the query, filter flags (field, value), and whether removed images count.
type DemoSearch = (&'static str, &'static [(&'static str, &'static str)], bool);

/// A few searches over the mirror: version-aware tokens, a typo, Chinese, fields, history.
fn demo_searches(g: &GlobalArgs, store: &Store) -> Result<()> {
    let index = crate::index::SearchIndex::open(store)?;
    let searches: &[DemoSearch] = &[
        ("pytorch 1.8", &[], false),
        ("mindspore 2.0", &[], false),
        ("pytroch", &[("arch", "aarch64")], false),
        ("cuda10.2 conda", &[], false),
        ("arch:aarch64 mindsp* snt3p", &[], false),
        ("昇腾", &[], false),
        ("mlstudio", &[], true),
    ];
    let fit = crate::output::stdout_is_terminal()
        .then(crate::output::terminal_width)
        .flatten();
    for (query, filters, include_removed) in searches {
        let mut shown = format!("$ macat search '{query}' --limit 3");
        for (flag, value) in filters.iter() {
            shown.push_str(&format!(" --{} {value}", flag.replace('_', "-")));
        }
        if *include_removed {
            shown.push_str(" --include-removed");
        }
        println!("\n{shown}");
        let hits = index.search(&crate::index::SearchOptions {
            query: query.to_string(),
            limit: 3,
            filters: filters.iter().map(|(f, v)| (*f, v.to_string())).collect(),
            run: None,
            include_removed: *include_removed,
            scopes: None,
            highlight: g.color_stdout() || crate::output::stdout_is_terminal(),
        })?;
        print!(
            "{}",
            super::search::hits_table(&hits, *include_removed, fit, g.color_stdout())
        );
    }
    Ok(())
}
