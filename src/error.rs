//! The error type every command returns, and the exit code each kind of failure maps to.
//!
//! Exit codes are part of the user-visible contract (README, "Exit codes"): scripts and cron
//! wrappers branch on them, so each variant names the code it produces in one place.

use std::fmt;

/// How a command failed, classified by what the person running it should do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, configuration, query or point in time: fix the invocation (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The API rejected the request (401/403/404 and other 4xx): fix credentials or ids (exit 3).
    #[error("{0}")]
    Rejected(Rejection),
    /// Gave up after retries: network, 5xx, 429, malformed or unstable responses (exit 4).
    #[error("{0}")]
    GaveUp(String),
    /// Another sync holds the lock on this database (exit 75, EX_TEMPFAIL: try again later).
    #[error("{0}")]
    Locked(String),
    /// Interrupted by a signal; nothing was committed (exit 130).
    #[error("interrupted; nothing was committed")]
    Interrupted,
    /// Standard output was closed by its reader (`macat export | head`): stop quietly (exit 0).
    #[error("broken pipe")]
    BrokenPipe,
    /// Anything else: the database or the file system failed (exit 1).
    #[error("{0}")]
    Internal(String),
}

/// A request the API refused, with the ModelArts error code and message it gave.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub status: u16,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub url: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API rejected the request (HTTP {}", self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, ", {code}")?;
        }
        write!(f, ")")?;
        if let Some(msg) = &self.error_msg {
            write!(f, ": {msg}")?;
        }
        write!(f, " [{}]", self.url)?;
        let hint = match self.status {
            401 => " - check the credentials (AK/SK or token)",
            403 => " - the credentials lack permission for this project",
            404 => " - check the project id and the endpoint",
            _ => "",
        };
        f.write_str(hint)
    }
}

impl Error {
    /// The process exit code for this error (see README, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Rejected(_) => 3,
            Error::GaveUp(_) => 4,
            Error::Locked(_) => 75,
            Error::Interrupted => 130,
            Error::BrokenPipe => 0,
            Error::Internal(_) => 1,
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Internal(format!("database error: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::BrokenPipe;
        }
        Error::Internal(format!("I/O error: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
