//! The command line: clap types and one file per subcommand (its `Args` and `run`).
//!
//! Nothing here holds logic beyond wiring: each subcommand turns its flags into the options of
//! one core operation, calls it, and hands the result to [`crate::output::emit`] (it describes
//! its records once, as an [`crate::output::Tabular`]). [`run`] gives every command one
//! `Session`: the configuration read at most once and the mirror opened at most once.

mod backup;
mod check;
mod compare;
mod completions;
mod demo;
mod diff;
mod export;
mod feed;
mod history;
mod list;
mod man;
mod reindex;
mod report;
mod runs;
mod search;
mod serve;
mod server_flags;
mod show;
mod simulate;
mod sync;
mod watch;

use std::cell::OnceCell;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "macat",
    version,
    about = "An offline, searchable, versioned mirror of the Huawei Cloud ModelArts image catalog",
    long_about = "An offline, searchable, versioned mirror of the Huawei Cloud ModelArts image catalog.\n\n\
        `macat sync` walks every page of the images API (GET /v1/{project_id}/images) into a local \
        SQLite database, one atomic snapshot per run, and keeps every version of every image. The \
        other commands read the mirror offline, at any point in time: --as-of, --from and --to take \
        YYYY-MM-DD (the end of that day, UTC), an RFC 3339 date-time, run:N, latest, or a duration \
        ago (36h, 7d).",
    subcommand_value_name = "COMMAND",
    propagate_version = true,
    after_help = man::examples(&[
        ("the whole job on the built-in simulator: three days synced, read back", "macat demo"),
        ("mirror a region (signed by $HUAWEICLOUD_SDK_AK/SK)", "macat sync --region cn-north-4 --project-id PROJECT_ID"),
        ("search the mirror, offline", "macat search pytorch 1.8"),
    ])
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The heading of the flags every command accepts, apart from each command's own in its help.
const GLOBAL: &str = "Global options";

/// Flags every command accepts, before or after its name.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The mirror database [default: $MACAT_DB, else <XDG data dir>/macat/catalog.db]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub db: Option<PathBuf>,
    /// Configuration file [default: $MACAT_CONFIG, else <XDG config dir>/macat/config.toml]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    /// Profile of the configuration file to use
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,
    /// More detail on stderr (-v: progress of the walk, -vv: every request)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = GLOBAL)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    /// The mirror's path: `--db`, else `$MACAT_DB`, else the profile's `db`, else
    /// `<XDG data dir>/macat/catalog.db`.
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
    /// Two regions, projects, workspaces or types side by side, images matched by (name, tag)
    Compare(compare::CompareArgs),
    /// The whole catalog at a point in time, raw
    Export(export::ExportArgs),
    /// Rebuild the search index from the database
    Reindex(reindex::ReindexArgs),
    /// Is the mirror whole? Schema, SQLite's page check, the history's invariants, the index
    Check(check::CheckArgs),
    /// A consistent, checked copy of the mirror, safe while syncs and servers run
    Backup(backup::BackupArgs),
    /// The pages of `serve` (but search) as static files: runs, catalog, images, diffs
    Report(report::ReportArgs),
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
    /// The manual page, in roff (all commands)
    Man(man::ManArgs),
}

pub use crate::output::Format;

/// What one command runs with: the global flags, the configuration (read at most once) and the
/// mirror (opened at most once, by the first read that needs it, so that bad flags are still
/// reported before a missing mirror).
pub(crate) struct Session {
    pub g: GlobalArgs,
    config: OnceCell<crate::config::Loaded>,
    store: OnceCell<Store>,
}

impl Session {
    fn new(g: GlobalArgs) -> Session {
        Session {
            g,
            config: OnceCell::new(),
            store: OnceCell::new(),
        }
    }

    /// The configuration file's selected profile (empty without a file).
    pub fn config(&self) -> Result<&crate::config::Loaded> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let loaded = crate::config::load(self.g.config.as_deref(), self.g.profile.as_deref())?;
        Ok(self.config.get_or_init(|| loaded))
    }

    /// The mirror's path (see [`GlobalArgs::db_path_with`]); the configuration is read only when
    /// neither `--db` nor `$MACAT_DB` names it.
    pub fn db_path(&self) -> Result<PathBuf> {
        if let Some(p) = &self.g.db {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("MACAT_DB").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        self.g.db_path_with(self.config()?)
    }

    /// The mirror, which must exist (read commands never create it).
    pub fn store(&self) -> Result<&Store> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let store = Store::open_existing(&self.db_path()?)?;
        Ok(self.store.get_or_init(|| store))
    }

    /// Where tables go: stdout, coloured as `--color` says.
    pub fn screen(&self) -> crate::output::Screen {
        crate::output::Screen::stdout(self.g.color_stdout())
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    crate::failpoint::panic_at("command");
    let s = Session::new(cli.global);
    // A configuration named explicitly must be valid whichever command runs.
    if s.g.config.is_some() || s.g.profile.is_some() {
        s.config()?;
    }
    match cli.command {
        Command::Sync(a) => sync::run(&s, a),
        Command::Search(a) => search::run(&s, a),
        Command::Runs(a) => runs::run(&s, a),
        Command::List(a) => list::run(&s, a),
        Command::Show(a) => show::run(&s, a),
        Command::History(a) => history::run(&s, a),
        Command::Diff(a) => diff::run(&s, a),
        Command::Compare(a) => compare::run(&s, a),
        Command::Export(a) => export::run(&s, a),
        Command::Reindex(a) => reindex::run(&s, a),
        Command::Check(a) => check::run(&s, a),
        Command::Backup(a) => backup::run(&s, a),
        Command::Report(a) => report::run(&s, a),
        Command::Simulate(a) => simulate::run(&s.g, a),
        Command::Serve(a) => serve::run(&s, a),
        Command::Demo(a) => demo::run(&s.g, a),
        Command::Completions(a) => completions::run(&s.g, a),
        Command::Man(a) => man::run(&s.g, a),
        Command::Watch(a) => watch::run(&s, a),
        Command::Feed(a) => feed::run(&s, a),
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
