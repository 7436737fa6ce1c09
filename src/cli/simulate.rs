//! `macat simulate`: serve the images API on loopback; the base URL is the first stdout line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::GlobalArgs;
use crate::api::auth::Secret;
use crate::catalog::{OffsetMode, Paging, SizeMode};
use crate::error::{Error, Result};
use crate::simulate::{self, RequireAuth, SimConfig};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Catalog day files (JSON arrays of images), in order [default: the three fixture days]
    #[arg(long = "catalog", value_name = "FILE")]
    pub catalogs: Vec<PathBuf>,
    /// Serve only this project id (others get 404) [default: any]
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,
    /// Delay before each response
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests that fail (500, 502/503 HTML, cut-off body, malformed page)
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub fail_rate: f64,
    /// Fraction of requests answered 429 with Retry-After
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub throttle_rate: f64,
    /// Seconds in the Retry-After of a 429
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Answer every image request with this status and a ModelArts error body (401, 403, 404, 500, ...)
    #[arg(long, value_name = "STATUS", value_parser = clap::value_parser!(u16).range(400..=599))]
    pub fail_status: Option<u16>,
    /// What `offset` counts
    #[arg(long, value_enum, default_value_t = OffsetArg::Records)]
    pub offset_mode: OffsetArg,
    /// `current` of the first page
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=1))]
    pub current_base: u64,
    /// What `size` reports: the page size asked for, or the records returned
    #[arg(long, value_enum, default_value_t = SizeArg::Page)]
    pub size_mode: SizeArg,
    /// The most records one page holds, whatever `limit` asks
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_limit: Option<u64>,
    /// Fraction of requests delayed by --spike-ms on top of --latency-ms
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub spike_rate: f64,
    /// The delay of a latency spike
    #[arg(long, default_value_t = 2000)]
    pub spike_ms: u64,
    /// Move to the next catalog day by itself after this many image requests
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub advance_after: Option<u64>,
    /// Serve a generated catalog of N images instead of catalog files (deterministic for --seed)
    #[arg(long, value_name = "N", conflicts_with = "catalogs")]
    pub generate: Option<usize>,
    /// With --generate: how many successive days to generate
    #[arg(long, value_name = "D", default_value_t = 1, requires = "generate", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub generate_days: u32,
    /// With --generate: the share of images that change from one day to the next
    #[arg(long, value_name = "P", default_value_t = 0.01, requires = "generate", value_parser = probability)]
    pub change_rate: f64,
    /// Require credentials: `aksk` accepts signatures by $HUAWEICLOUD_SDK_AK/$HUAWEICLOUD_SDK_SK,
    /// `token` accepts the tokens in --token-file (one a line) or $MACAT_AUTH_TOKEN
    #[arg(long, value_enum, default_value_t = AuthArg::None)]
    pub require_auth: AuthArg,
    /// With --require-auth token: a file of accepted tokens, one a line
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Seed of the generated catalog and of the fault generator
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OffsetArg {
    Records,
    /// offset is a page number from 0
    Pages,
    /// offset is a page number from 1 (0 and 1 both mean the first page)
    Pages1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    None,
    Aksk,
    Token,
}

/// The credentials the simulator accepts, from its own environment or a token file.
pub(crate) fn require_auth(
    mode: AuthArg,
    token_file: Option<&std::path::Path>,
) -> Result<RequireAuth> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match mode {
        AuthArg::None => Ok(RequireAuth::None),
        AuthArg::Aksk => match (env("HUAWEICLOUD_SDK_AK"), env("HUAWEICLOUD_SDK_SK")) {
            (Some(ak), Some(sk)) => Ok(RequireAuth::AkSk(
                [(ak, Secret::new(sk))].into_iter().collect(),
            )),
            _ => Err(Error::usage(
                "--require-auth aksk needs HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (the accepted key pair)",
            )),
        },
        AuthArg::Token => {
            let mut tokens = Vec::new();
            if let Some(path) = token_file {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
                tokens.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(Secret::new));
            }
            if let Some(t) = env("MACAT_AUTH_TOKEN") {
                tokens.push(Secret::new(t.trim()));
            }
            if tokens.is_empty() {
                return Err(Error::usage(
                    "--require-auth token needs --token-file or MACAT_AUTH_TOKEN (the accepted tokens)",
                ));
            }
            Ok(RequireAuth::Token(tokens))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SizeArg {
    Page,
    Count,
}

fn probability(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

pub fn run(_g: &GlobalArgs, args: SimulateArgs) -> Result<()> {
    let days = if let Some(n) = args.generate {
        let mut day = simulate::generate::generate(n, args.seed);
        let mut days = Vec::new();
        for d in 1..=args.generate_days {
            if d > 1 {
                day = simulate::generate::evolve(&day, d, args.change_rate, args.seed);
            }
            days.push(simulate::catalog_from_values(&day).map_err(Error::internal)?);
        }
        days
    } else if args.catalogs.is_empty() {
        simulate::FIXTURE_DAYS
            .iter()
            .map(|d| simulate::parse_catalog(d))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::internal)?
    } else {
        args.catalogs
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::usage(format!("cannot read {}: {e}", p.display())))?;
                simulate::parse_catalog(&text)
                    .map_err(|e| Error::usage(format!("{}: {e}", p.display())))
            })
            .collect::<Result<Vec<_>>>()?
    };
    let cfg = SimConfig {
        days,
        project_id: args.project_id,
        latency: Duration::from_millis(args.latency_ms),
        fail_rate: args.fail_rate,
        throttle_rate: args.throttle_rate,
        retry_after_secs: args.retry_after,
        fail_status: args.fail_status,
        paging: Paging {
            offset_mode: match args.offset_mode {
                OffsetArg::Records => OffsetMode::Records,
                OffsetArg::Pages => OffsetMode::Pages,
                OffsetArg::Pages1 => OffsetMode::PagesFrom1,
            },
            current_base: args.current_base,
            size_mode: match args.size_mode {
                SizeArg::Page => SizeMode::Page,
                SizeArg::Count => SizeMode::Count,
            },
            max_limit: args.max_limit,
        },
        seed: args.seed,
        advance_after: args.advance_after,
        spike_rate: args.spike_rate,
        spike: Duration::from_millis(args.spike_ms),
        require_auth: require_auth(args.require_auth, args.token_file.as_deref())?,
    };
    let rt = super::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::usage(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr()?;
        crate::output::stdout_line(&format!("http://{addr}"))?;
        tracing::info!("simulator listening on http://{addr}");
        simulate::serve(listener, cfg, super::interrupted()).await?;
        Ok(())
    })
}
