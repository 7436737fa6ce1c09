//! `macat sync`: flags + environment + profile -> scopes -> one run -> a summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::Session;
use crate::api::client::ClientConfig;
use crate::config::{self, SyncFlags};
use crate::error::{Error, Result};
use crate::store::ScopeKey;
use crate::sync::{Progress, ScopeTarget, SyncOptions, SyncReport};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("a region, both image types, signed by $HUAWEICLOUD_SDK_AK/SK", "macat sync --region cn-north-4 --project-id PROJECT_ID"),
    ("from cron: only errors on stderr, one JSON summary on stdout", "macat sync --region cn-north-4 --project-id PROJECT_ID --format json -q"),
    ("from a macat serve (another mirror) or a macat simulate", "macat sync --endpoint http://127.0.0.1:8080 --project-id PROJECT_ID"),
]))]
pub struct SyncArgs {
    /// API base URL, e.g. https://modelarts.cn-north-4.myhuaweicloud.com
    #[arg(long, value_name = "URL", conflicts_with = "region")]
    pub endpoint: Option<String>,
    /// Region, mapped to its endpoint through the official SDK's table (e.g. cn-north-4)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Project id [env: HUAWEICLOUD_SDK_PROJECT_ID]
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,
    /// Workspace id [default: "0", no workspace]
    #[arg(long, value_name = "ID")]
    pub workspace_id: Option<String>,
    /// Which image types to walk; `all` walks BUILD_IN and DEDICATED [default: all]
    #[arg(long = "type", value_enum)]
    pub image_type: Option<TypeArg>,
    /// Walk only one SWR organization
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Records asked for per page (servers may return fewer)
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,
    /// Pages fetched at once after the first
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
    /// Seconds before one request times out
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Retries of each request after its first attempt
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=50))]
    pub retries: u32,
    /// A file holding an IAM token, sent as X-Auth-Token ($MACAT_AUTH_TOKEN holds one directly)
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Allow plain http:// to hosts other than loopback
    #[arg(long)]
    pub insecure_http: bool,
    /// `json` prints one summary object on stdout
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
    /// After the run (committed or failed), write Prometheus metrics here, atomically
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    #[value(name = "BUILD_IN", alias = "build_in")]
    BuildIn,
    #[value(name = "DEDICATED", alias = "dedicated")]
    Dedicated,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

pub fn run(s: &Session, args: SyncArgs) -> Result<()> {
    let g = &s.g;
    let loaded = s.config()?;
    let flags = SyncFlags {
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        project_id: args.project_id.clone(),
        workspace_id: args.workspace_id.clone(),
        image_type: args.image_type.map(|t| {
            match t {
                TypeArg::BuildIn => "BUILD_IN",
                TypeArg::Dedicated => "DEDICATED",
                TypeArg::All => "all",
            }
            .to_string()
        }),
        namespace: args.namespace.clone(),
        token_file: args.token_file.clone(),
        insecure_http: args.insecure_http,
    };
    let targets = config::resolve_targets(&flags, loaded)?;
    let scopes = targets
        .into_iter()
        .flat_map(|t| {
            let client = ClientConfig {
                endpoint: t.endpoint,
                project_id: t.project_id,
                timeout: Duration::from_secs(args.timeout),
                retries: args.retries,
                auth: t.auth,
            };
            ScopeTarget::expand(
                client,
                &t.workspace_id,
                &t.image_type,
                t.namespace.as_deref(),
            )
        })
        .collect();
    let show_bar = !g.quiet && std::io::stderr().is_terminal();
    let opts = SyncOptions {
        scopes,
        page_size: args.page_size,
        concurrency: args.concurrency as usize,
        progress: show_bar.then(|| Arc::new(Bar::new()) as Arc<dyn Progress>),
    };
    let db = g.db_path_with(loaded)?;
    let rt = super::runtime()?;
    let interrupt = {
        let _in_runtime = rt.enter();
        super::interrupted()
    };
    let metrics_file = args
        .metrics_file
        .clone()
        .or(loaded.profile.metrics_file.clone());
    let report = match rt.block_on(crate::sync::run(&db, opts, interrupt)) {
        Ok(r) => r,
        Err(failed) => {
            if let (Some(path), Some(report)) = (&metrics_file, &failed.report) {
                super::watch::write_metrics(path, &db, report, None);
            }
            // Monitoring reads stdout: a failed run still prints its summary object.
            if let (SummaryFormat::Json, Some(report)) = (args.format, &failed.report) {
                if let Ok(line) = serde_json::to_string(report) {
                    crate::output::stdout_line(&line)?;
                }
            }
            return Err(failed.error);
        }
    };
    let events = crate::watch::after_sync(&db);
    if let Some(path) = &metrics_file {
        super::watch::write_metrics(path, &db, &report, Some(events));
    }
    match args.format {
        SummaryFormat::Json => {
            #[derive(serde::Serialize)]
            struct Summary<'a> {
                #[serde(flatten)]
                report: &'a SyncReport,
                events: crate::watch::EventCounts,
            }
            let line = serde_json::to_string(&Summary {
                report: &report,
                events,
            })
            .map_err(|e| Error::internal(e.to_string()))?;
            crate::output::stdout_line(&line)?;
        }
        SummaryFormat::Text => {
            if !g.quiet {
                eprintln!("{}", summary(&report));
            }
        }
    }
    Ok(())
}

/// One line for people: what the run did.
pub(crate) fn summary(r: &SyncReport) -> String {
    let scopes: Vec<&str> = r.scopes.iter().map(|s| s.image_type.as_str()).collect();
    format!(
        "run {} committed: {} images in {} ({} pages): {} added, {} changed, {} removed, {:.1} s",
        r.run_id,
        r.seen,
        scopes.join(" + "),
        r.pages,
        r.added,
        r.changed,
        r.removed,
        r.duration_ms as f64 / 1000.0
    )
}

/// The progress bar shown on a terminal (never when stderr is redirected, or with -q), of the
/// scope whose walk started last (the next scope's walk starts during the previous one's last
/// answers, which no longer move the bar).
struct Bar(ProgressBar, std::sync::Mutex<Option<ScopeKey>>);

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg:24} [{bar:30}] {pos}/{len} images ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Bar(bar, Default::default())
    }

    fn shows(&self, scope: &ScopeKey) -> bool {
        let current = self.1.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref() == Some(scope)
    }
}

impl Progress for Bar {
    fn walk_started(&self, scope: &ScopeKey) {
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) = Some(scope.clone());
        self.0.set_position(0);
        self.0.set_length(0);
        self.0
            .set_message(format!("{} {}", scope.project_id, scope.image_type));
    }
    fn total(&self, scope: &ScopeKey, total: u64) {
        if self.shows(scope) {
            self.0.set_length(total);
        }
    }
    fn page(&self, scope: &ScopeKey, records: u64) {
        if self.shows(scope) {
            self.0.inc(records);
        }
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
