//! Flags shared by the two servers of the images API, `simulate` and `serve`: how requests
//! authenticate, and which paging dialect to speak.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::api::auth::Secret;
use crate::apiserver::RequireAuth;
use crate::catalog::{OffsetMode, Paging, SizeMode};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct AuthFlags {
    /// Which requests are answered: `aksk` accepts signatures by the key pair in this process's
    /// $HUAWEICLOUD_SDK_AK/$HUAWEICLOUD_SDK_SK, `token` the tokens in --token-file (one a line)
    /// or $MACAT_AUTH_TOKEN; others get 401
    #[arg(long, value_name = "MODE", value_enum, default_value_t = AuthArg::None)]
    pub require_auth: AuthArg,
    /// With --require-auth token: a file of accepted tokens, one a line
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// every request is answered
    None,
    /// requests signed (SDK-HMAC-SHA256) by the accepted key pair
    Aksk,
    /// requests whose X-Auth-Token is one of the accepted tokens
    Token,
}

impl AuthFlags {
    /// The credentials the server accepts, from its own environment or a token file.
    pub fn require_auth(&self) -> Result<RequireAuth> {
        require_auth(self.require_auth, self.token_file.as_deref())
    }
}

fn require_auth(mode: AuthArg, token_file: Option<&Path>) -> Result<RequireAuth> {
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
                tokens.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(Secret::new),
                );
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

#[derive(Debug, Args)]
pub struct PagingFlags {
    /// What `offset` counts: records, pages from 0, or pages from 1
    #[arg(long, value_name = "MODE", value_enum, default_value_t = OffsetArg::Records)]
    pub offset_mode: OffsetArg,
    /// `current` of the first page
    #[arg(long, value_name = "0|1", default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=1))]
    pub current_base: u64,
    /// What `size` reports: the page size asked for, or the records returned
    #[arg(long, value_name = "MODE", value_enum, default_value_t = SizeArg::Page)]
    pub size_mode: SizeArg,
    /// The most records one page holds, whatever `limit` asks [serve: 1000 unless given]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OffsetArg {
    /// offset counts records
    Records,
    /// offset is a page number from 0
    Pages,
    /// offset is a page number from 1 (0 and 1 both mean the first page)
    Pages1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SizeArg {
    /// size is the page size asked for
    Page,
    /// size is the number of records returned
    Count,
}

impl PagingFlags {
    pub fn paging(&self) -> Paging {
        Paging {
            offset_mode: match self.offset_mode {
                OffsetArg::Records => OffsetMode::Records,
                OffsetArg::Pages => OffsetMode::Pages,
                OffsetArg::Pages1 => OffsetMode::PagesFrom1,
            },
            current_base: self.current_base,
            size_mode: match self.size_mode {
                SizeArg::Page => SizeMode::Page,
                SizeArg::Count => SizeMode::Count,
            },
            max_limit: self.max_limit,
        }
    }
}

/// Binds `listen`, prints the base URL as the first line of stdout (scripts and tests read it),
/// and runs `serve` on the listener until Ctrl-C or SIGTERM.
pub fn listen_and_serve<F, Fut>(listen: SocketAddr, what: &str, serve: F) -> Result<()>
where
    F: FnOnce(tokio::net::TcpListener) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    let rt = super::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::usage(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr()?;
        crate::output::stdout_line(&format!("http://{addr}"))?;
        tracing::info!("{what} on http://{addr}");
        serve(listener).await?;
        Ok(())
    })
}
