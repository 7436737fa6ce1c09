//! The command line: clap types and one file per subcommand (its `Args` and `run`).
//!
//! Nothing here holds logic beyond wiring: each subcommand turns its flags into the options of
//! one core operation, calls it, and renders the result.

mod completions;
mod demo;
mod diff;
mod export;
mod feed;
mod history;
mod list;
mod reindex;
mod runs;
mod search;
mod serve;
mod server_flags;
mod show;
mod simulate;
mod sync;
mod watch;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};

#[derive(Debug, Parser)]
#[command(
    name = "macat",
    version,
    about = "An offline, searchable, versioned mirror of the Huawei Cloud ModelArts image catalog",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, before or after its name.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The mirror database [default: $MACAT_DB, else <XDG data dir>/macat/catalog.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Configuration file [default: $MACAT_CONFIG, else <XDG config dir>/macat/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Profile of the configuration file to use
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// More detail on stderr (-v: progress of the walk, -vv: every request)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    /// The configuration file's selected profile (empty without a file).
    pub fn config(&self) -> Result<crate::config::Loaded> {
        crate::config::load(self.config.as_deref(), self.profile.as_deref())
    }

    /// The mirror's path: `--db`, else `$MACAT_DB`, else the profile's `db`, else
    /// `<XDG data dir>/macat/catalog.db`.
    pub fn db_path(&self) -> Result<PathBuf> {
        if let Some(p) = &self.db {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("MACAT_DB").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        self.db_path_with(&self.config()?)
    }

    /// [`db_path`](Self::db_path) with the configuration already loaded.
    pub fn db_path_with(&self, loaded: &crate::config::Loaded) -> Result<PathBuf> {
        if let Some(p) = &self.db {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("MACAT_DB").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        if let Some(p) = &loaded.profile.db {
            return Ok(p.clone());
        }
        crate::config::default_db()
            .ok_or_else(|| Error::usage("cannot find a data directory: pass --db or set MACAT_DB"))
    }

    /// Whether stderr gets colour (`--color`, `NO_COLOR`, and whether it is a terminal).
    pub fn color_stderr(&self) -> bool {
        self.color_for(std::io::stderr().is_terminal())
    }

    /// Whether stdout gets colour (`--color`, `NO_COLOR`, and whether it is a terminal).
    pub fn color_stdout(&self) -> bool {
        self.color_for(std::io::stdout().is_terminal())
    }

    fn color_for(&self, terminal: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Walk every page of every scope into the mirror; one run = one snapshot
    Sync(sync::SyncArgs),
    /// Full-text search over name, tag, description, swr_path, namespace
    Search(search::SearchArgs),
    /// The sync runs: when, scope, status, counts, duration
    Runs(runs::RunsArgs),
    /// The catalog from the mirror, with the API's own filters and sorting
    List(list::ListArgs),
    /// One image, every field (IMAGE = id, or name, or name:tag)
    Show(show::ShowArgs),
    /// Every version of one image across runs, with what changed
    History(history::HistoryArgs),
    /// Added / removed / changed images between two points in time
    Diff(diff::DiffArgs),
    /// The whole catalog at a point in time, raw
    Export(export::ExportArgs),
    /// Rebuild the search index from the database
    Reindex(reindex::ReindexArgs),
    /// The mirror, read-only, as the same API (GET /v1/{project_id}/images), for offline clients
    Serve(serve::ServeArgs),
    /// A local, faithful ModelArts images API (fixture catalog, fault injection)
    Simulate(simulate::SimulateArgs),
    /// A self-contained tour on the simulator: syncs several catalog days, then reads them back
    Demo(demo::DemoArgs),
    /// Shell completions
    Completions(completions::CompletionsArgs),
    /// Saved searches that notify: add, list, rm, check, deliver
    Watch(watch::WatchArgs),
    /// An Atom feed of the catalog's changes (or of one watch's events)
    Feed(feed::FeedArgs),
}

/// Output formats of read commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    let g = cli.global;
    // A configuration named explicitly must be valid whichever command runs.
    if g.config.is_some() || g.profile.is_some() {
        g.config()?;
    }
    match cli.command {
        Command::Sync(a) => sync::run(&g, a),
        Command::Search(a) => search::run(&g, a),
        Command::Runs(a) => runs::run(&g, a),
        Command::List(a) => list::run(&g, a),
        Command::Show(a) => show::run(&g, a),
        Command::History(a) => history::run(&g, a),
        Command::Diff(a) => diff::run(&g, a),
        Command::Export(a) => export::run(&g, a),
        Command::Reindex(a) => reindex::run(&g, a),
        Command::Simulate(a) => simulate::run(&g, a),
        Command::Serve(a) => serve::run(&g, a),
        Command::Demo(a) => demo::run(&g, a),
        Command::Completions(a) => completions::run(&g, a),
        Command::Watch(a) => watch::run(&g, a),
        Command::Feed(a) => feed::run(&g, a),
    }
}

/// A multi-threaded runtime for the commands that do network I/O.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

/// Resolves on Ctrl-C or SIGTERM (cron and systemd stop jobs with SIGTERM). The handlers are
/// installed when this is called, not when the future is first polled, so that a signal that
/// comes early (a sync told to stop just after it started) is not the default "die at once".
/// Call it inside the runtime (`rt.enter()` or an async block).
pub(crate) fn interrupted() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
            .ok()
    };
    async move {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = handlers {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
