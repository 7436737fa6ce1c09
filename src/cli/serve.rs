//! `macat serve`: the mirror as the images API; the base URL is the first stdout line.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;

use super::server_flags::{AuthFlags, PagingFlags};
use super::GlobalArgs;
use crate::error::{Error, Result};
use crate::serve::{self, Mirror, ServeConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you name another address)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The point in time served when a request has no `as_of` parameter
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    #[command(flatten)]
    pub auth: AuthFlags,
    #[command(flatten)]
    pub paging: PagingFlags,
}

pub fn run(g: &GlobalArgs, args: ServeArgs) -> Result<()> {
    let mirror = Arc::new(Mirror::open(ServeConfig {
        db: g.db_path()?,
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
    let rt = super::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::usage(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr()?;
        crate::output::stdout_line(&format!("http://{addr}"))?;
        tracing::info!("serving {} on http://{addr}", mirror.db().display());
        serve::serve(listener, mirror, super::interrupted()).await?;
        Ok(())
    })
}
