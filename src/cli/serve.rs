//! `macat serve`: the mirror as the images API; the base URL is the first stdout line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::server_flags::{listen_and_serve, AuthFlags, PagingFlags};
use super::Session;
use crate::apiserver::Limits;
use crate::catalog::Paging;
use crate::error::Result;
use crate::serve::{self, Mirror, ServeConfig};

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("the mirror on loopback, for clients of the images API", "macat serve"),
    ("to the network, answering only the tokens listed in tok.txt", "macat serve --listen 0.0.0.0:8080 --require-auth token --token-file tok.txt"),
    ("the catalog as run 1 saw it, unless a request asks for as_of", "macat serve --as-of run:1"),
]))]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you name another address)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The point in time served when a request has no `as_of` parameter
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    #[command(flatten)]
    pub auth: AuthFlags,
    #[command(flatten)]
    pub paging: PagingFlags,
    /// Seconds a connection may take to send a request's headers (idle connections included)
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Requests answered at once; past it, 503 with a ModelArts error body
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_in_flight: u64,
}

/// The most records one page holds when `--max-limit` is not given. The API documents `limit`
/// as any positive integer (default 200) with no maximum, and says that `size` reports the page
/// size; a client must already cope with pages shorter than it asked for (the last page always
/// is). 1,000 records are about 0.5 MB of JSON: `limit=999999999` no longer builds the whole
/// catalog in one body.
const DEFAULT_MAX_LIMIT: u64 = 1000;

pub fn run(s: &Session, args: ServeArgs) -> Result<()> {
    let mirror = Arc::new(Mirror::open(ServeConfig {
        db: s.db_path()?,
        as_of: args.as_of.clone(),
        require_auth: args.auth.require_auth()?,
        paging: Paging {
            max_limit: Some(args.paging.max_limit.unwrap_or(DEFAULT_MAX_LIMIT)),
            ..args.paging.paging()
        },
    })?);
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout),
        max_in_flight: args.max_in_flight as usize,
    };
    if !args.listen.ip().is_loopback() {
        tracing::warn!(
            "serving on {} beyond this machine{}",
            args.listen,
            if matches!(args.auth.require_auth, super::server_flags::AuthArg::None) {
                " without --require-auth"
            } else {
                ""
            }
        );
    }
    let what = format!("serving {}", mirror.db().display());
    listen_and_serve(args.listen, &what, |listener| {
        crate::apiserver::serve_with(
            listener,
            serve::router(mirror),
            super::interrupted(),
            limits,
        )
    })
}
