//! `macat demo`: a self-contained tour. Starts the simulator in-process on loopback, syncs the
//! three fixture days into a mirror (a temporary one unless `--db` is given), and shows what the
//! mirror then knows: the runs, what each run changed, the catalog at each point in time, the
//! diff between the first and the last day, the history of an image that was delisted and
//! came back, and a few offline searches.

use std::time::Duration;

use clap::Args;

use super::diff::DiffArgs;
use super::history::HistoryArgs;
use super::runs::RunsArgs;
use super::search::{FilterArgs, SearchArgs};
use super::Format::Table;
use super::{GlobalArgs, Session};
use crate::api::auth::Auth;
use crate::api::client::ClientConfig;
use crate::error::{Error, Result};
use crate::simulate::{self, SimConfig};
use crate::sync::{ScopeTarget, SyncOptions};

/// Delisted on day 2 and back on day 3: its history shows a removal and a comeback.
const DEMO_IMAGE: &str = "mindspore1.8.0-cann5.1.2-py3.7-euler2.8.3";

/// The mirror is temporary unless the global `--db PATH` names a new file to keep.
#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the tour, in a temporary mirror", "macat demo"),
    ("the tour, keeping the mirror to explore afterwards", "macat demo --db demo.db"),
]))]
pub struct DemoArgs {
    /// End by serving the mirror's pages and API (`macat serve`) until Ctrl-C; prints the URL
    #[arg(long)]
    pub serve: bool,
    /// Where `--serve` listens (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0", requires = "serve")]
    pub listen: std::net::SocketAddr,
}

pub fn run(g: &GlobalArgs, args: DemoArgs) -> Result<()> {
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

    // The tour reads the new mirror back through the commands themselves.
    let s = Session::new(GlobalArgs {
        db: Some(db.clone()),
        ..g.clone()
    });
    let store = s.store()?;
    println!("\n$ macat runs");
    super::runs::run(&s, RunsArgs { format: Table })?;
    let runs = store.runs()?;
    for run in runs.iter().rev().skip(1) {
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
    for run in runs.iter().rev() {
        let mut n = 0;
        store.for_each_live(run.run_id, |_| {
            n += 1;
            Ok(())
        })?;
        println!("  run:{} -> {n} images", run.run_id);
    }
    if let (Some(last), Some(first)) = (runs.first(), runs.last()) {
        let (from, to) = (
            format!("run:{}", first.run_id),
            format!("run:{}", last.run_id),
        );
        println!("\n$ macat diff --from {from} --to {to}");
        let format = super::diff::DiffFormat::Text;
        super::diff::run(
            &s,
            DiffArgs {
                from: Some(from),
                to: Some(to),
                format,
            },
        )?;
    }
    println!("\n$ macat history {DEMO_IMAGE}");
    let image = DEMO_IMAGE.to_string();
    super::history::run(
        &s,
        HistoryArgs {
            image,
            format: Table,
        },
    )?;
    super::watch::demo_events(s.store()?)?;
    demo_searches(&s)?;
    if args.serve {
        drop(s);
        return serve(&db, args.listen);
    }
    if g.db.is_none() {
        println!("\n(the mirror was temporary; pass --db PATH to keep it)");
    }
    Ok(())
}

/// Serves the demo mirror (pages and API) until Ctrl-C.
fn serve(db: &std::path::Path, listen: std::net::SocketAddr) -> Result<()> {
    let mirror = std::sync::Arc::new(crate::serve::Mirror::open(crate::serve::ServeConfig {
        db: db.to_path_buf(),
        as_of: "latest".into(),
        require_auth: Default::default(),
        paging: Default::default(),
    })?);
    println!("\nthe mirror, served (pages for people at /, the API at /v1/demo-project/images); Ctrl-C ends it:");
    super::server_flags::listen_and_serve(listen, "serving the demo mirror", |listener| {
        crate::apiserver::serve(listener, crate::serve::router(mirror), super::interrupted())
    })
}

/// One demo search: the query, an architecture, and whether removed images count.
type DemoSearch = (&'static str, Option<&'static str>, bool);

/// A few searches over the mirror: version-aware tokens, a typo, Chinese, fields, history.
fn demo_searches(s: &Session) -> Result<()> {
    let searches: &[DemoSearch] = &[
        ("pytorch 1.8", None, false),
        ("mindspore 2.0", None, false),
        ("pytroch", Some("aarch64"), false),
        ("cuda10.2 conda", None, false),
        ("arch:aarch64 mindsp* snt3p", None, false),
        ("昇腾", None, false),
        ("mlstudio", None, true),
    ];
    for &(query, arch, include_removed) in searches {
        let mut shown = format!("$ macat search '{query}' --limit 3");
        if let Some(arch) = arch {
            shown.push_str(&format!(" --arch {arch}"));
        }
        if include_removed {
            shown.push_str(" --include-removed");
        }
        println!("\n{shown}");
        let args = SearchArgs {
            query: vec![query.to_string()],
            limit: 3,
            filters: FilterArgs {
                arch: arch.map(String::from),
                ..FilterArgs::default()
            },
            as_of: None,
            include_removed,
            format: Table,
        };
        super::search::run(s, args)?;
    }
    Ok(())
}
