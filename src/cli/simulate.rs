//! `macat simulate`: serve the images API on loopback; the base URL is the first stdout line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::server_flags::{listen_and_serve, AuthFlags, PagingFlags};
use super::GlobalArgs;
use crate::error::{Error, Result};
use crate::simulate::{self, SimConfig};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the fixture days on a fixed port; POST /_sim/advance moves to the next", "macat simulate --listen 127.0.0.1:8080"),
    ("a flaky, slow, throttling API", "macat simulate --fail-rate 0.1 --throttle-rate 0.05 --latency-ms 50"),
    ("100,000 generated images over 3 days, for benchmarks", "macat simulate --generate 100000 --generate-days 3 --seed 7"),
]))]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Catalog day files (JSON arrays of images), in order [default: the three fixture days]
    #[arg(long = "catalog", value_name = "FILE")]
    pub catalogs: Vec<PathBuf>,
    /// Serve only this project id (others get 404) [default: any]
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,
    /// Each image request is answered this long after it came in (the simulator's own work
    /// included)
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests that fail (500, 502/503 HTML, cut-off body, malformed page)
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fail_rate: f64,
    /// Fraction of requests answered 429 with Retry-After
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub throttle_rate: f64,
    /// Seconds in the Retry-After of a 429
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after: u64,
    /// Answer every image request with this status and a ModelArts error body (401, 403, 404, 500, ...)
    #[arg(long, value_name = "STATUS", value_parser = clap::value_parser!(u16).range(400..=599))]
    pub fail_status: Option<u16>,
    /// Fraction of requests delayed by --spike-ms on top of --latency-ms
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub spike_rate: f64,
    /// The delay of a latency spike
    #[arg(long, value_name = "MS", default_value_t = 2000)]
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
    #[command(flatten)]
    pub paging: PagingFlags,
    #[command(flatten)]
    pub auth: AuthFlags,
    /// Seed of the generated catalog and of the fault generator
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
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
            days.push(simulate::Catalog::from_values(&day).map_err(Error::internal)?);
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
        paging: args.paging.paging(),
        seed: args.seed,
        advance_after: args.advance_after,
        spike_rate: args.spike_rate,
        spike: Duration::from_millis(args.spike_ms),
        require_auth: args.auth.require_auth()?,
    };
    listen_and_serve(args.listen, "simulator", |listener| {
        crate::apiserver::serve(listener, simulate::router(cfg), super::interrupted())
    })
}
