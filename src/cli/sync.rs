//! `macat sync`: flags -> [`crate::sync::SyncOptions`] -> one run -> a summary.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::GlobalArgs;
use crate::api::auth::{Auth, Secret};
use crate::api::client::ClientConfig;
use crate::error::{Error, Result};
use crate::sync::{SyncOptions, SyncReport};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// API base URL, e.g. https://modelarts.cn-north-4.myhuaweicloud.com
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Project id [env: HUAWEICLOUD_SDK_PROJECT_ID]
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,
    /// Workspace id ("0" when no workspace is used)
    #[arg(long, value_name = "ID", default_value = "0")]
    pub workspace_id: String,
    /// Which image types to walk; `all` walks BUILD_IN and DEDICATED
    #[arg(long = "type", value_enum, default_value_t = TypeArg::All)]
    pub image_type: TypeArg,
    /// Walk only one SWR organization
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Records asked for per page (servers may return fewer)
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,
    /// Pages fetched at once after the first
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
    /// Seconds before one request times out
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Retries of each request after its first attempt
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=50))]
    pub retries: u32,
    /// An IAM token file, sent as X-Auth-Token [env: MACAT_AUTH_TOKEN holds the token itself]
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Allow plain http:// to hosts other than loopback
    #[arg(long)]
    pub insecure_http: bool,
    /// `json` prints one summary object on stdout
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Credentials from the environment or a token file; never from a command-line value.
fn auth(args: &SyncArgs) -> Result<Auth> {
    if let Some(path) = &args.token_file {
        let token = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::usage(format!(
                "the token file {} is empty",
                path.display()
            )));
        }
        return Ok(Auth::Token(Secret::new(token)));
    }
    if let Some(token) = env("MACAT_AUTH_TOKEN") {
        return Ok(Auth::Token(Secret::new(token.trim())));
    }
    match (env("HUAWEICLOUD_SDK_AK"), env("HUAWEICLOUD_SDK_SK")) {
        (Some(ak), Some(sk)) => Ok(Auth::AkSk {
            ak,
            sk: Secret::new(sk),
            security_token: env("HUAWEICLOUD_SDK_SECURITY_TOKEN").map(Secret::new),
        }),
        (Some(_), None) => Err(Error::usage(
            "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not",
        )),
        (None, Some(_)) => Err(Error::usage(
            "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not",
        )),
        (None, None) => Ok(Auth::None),
    }
}

/// Checks the endpoint: http(s) only, and plain http only to loopback unless allowed.
pub(crate) fn check_endpoint(endpoint: &str, insecure_http: bool) -> Result<String> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::usage(format!("invalid --endpoint {endpoint:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !loopback && !insecure_http {
                return Err(Error::usage(format!(
                    "refusing plain http:// to {endpoint}: use https://, or pass --insecure-http"
                )));
            }
        }
        s => {
            return Err(Error::usage(format!(
                "unsupported scheme {s}:// in {endpoint}"
            )))
        }
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

pub fn run(g: &GlobalArgs, args: SyncArgs) -> Result<()> {
    let endpoint = args
        .endpoint
        .as_deref()
        .ok_or_else(|| Error::usage("no endpoint: pass --endpoint URL"))?;
    let endpoint = check_endpoint(endpoint, args.insecure_http)?;
    let project_id = args
        .project_id
        .clone()
        .or_else(|| env("HUAWEICLOUD_SDK_PROJECT_ID"))
        .ok_or_else(|| {
            Error::usage("no project id: pass --project-id or set HUAWEICLOUD_SDK_PROJECT_ID")
        })?;
    let types = match args.image_type {
        TypeArg::BuildIn => vec!["BUILD_IN".to_string()],
        TypeArg::Dedicated => vec!["DEDICATED".to_string()],
        TypeArg::All => vec!["BUILD_IN".to_string(), "DEDICATED".to_string()],
    };
    let opts = SyncOptions {
        client: ClientConfig {
            endpoint,
            project_id,
            timeout: Duration::from_secs(args.timeout),
            retries: args.retries,
            auth: auth(&args)?,
        },
        workspace_id: args.workspace_id.clone(),
        types,
        namespace: args.namespace.clone(),
        page_size: args.page_size,
        concurrency: args.concurrency as usize,
    };
    let db = g.db_path()?;
    let rt = super::runtime()?;
    let report = rt.block_on(crate::sync::run(&db, opts, super::interrupted()))?;
    update_index(&db, report.run_id);
    match args.format {
        SummaryFormat::Json => {
            let line =
                serde_json::to_string(&report).map_err(|e| Error::internal(e.to_string()))?;
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

/// Brings the search index level with the run just committed. A failure is only a warning: the
/// run is committed, and the next command that opens the index catches up.
pub(crate) fn update_index(db: &std::path::Path, run_id: i64) {
    if let Err(e) = crate::index::update_after_sync(db) {
        tracing::warn!(
            "run {run_id} is committed, but updating the search index failed ({e}); \
             the next search catches up"
        );
    }
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
