//! `macat serve`: the mirror as the images API; the base URL is the first stdout line.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use super::server_flags::{listen_and_serve, AuthFlags, PagingFlags};
use super::Session;
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
}

pub fn run(s: &Session, args: ServeArgs) -> Result<()> {
    let mirror = Arc::new(Mirror::open(ServeConfig {
        db: s.db_path()?,
        as_of: args.as_of.clone(),
        require_auth: args.auth.require_auth()?,
        paging: args.paging.paging(),
    })?);
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
        crate::apiserver::serve(listener, serve::router(mirror), super::interrupted())
    })
}
