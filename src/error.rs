//! The error type every command returns, and the exit code each kind of failure maps to.
//!
//! Exit codes are part of the user-visible contract (README, "Exit codes"): scripts and cron
//! wrappers branch on them, so each variant names the code it produces in one place.
//!
//! Failures of SQLite, the file system and the API keep their cause (`source()`), and are
//! classified by it: SQLite's result code ([`rusqlite::Error::sqlite_error_code`]), the I/O error's
//! [`std::io::ErrorKind`], the HTTP status. The binary prints one line per error, so each message
//! also carries its cause's text after what was being done.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::ErrorCode;

/// How a command failed, classified by what the person running it should do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, configuration, query or point in time: fix the invocation (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A path the invocation or configuration names cannot be used (a directory that cannot be
    /// created, a file without permission, read-only media): fix the path (exit 2).
    #[error("{context}: {source}")]
    BadPath {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The file given as the mirror is not an SQLite database: pass another `--db` (exit 2).
    #[error("{} is not a macat database (not SQLite); pass another --db", path.display())]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite cannot open the mirror for what the command needs (no permission, read-only
    /// media, a missing directory): fix the path or its permissions (exit 2).
    #[error("cannot open {}: {source}", path.display())]
    CannotOpen {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite found the mirror's file damaged (`SQLITE_CORRUPT`, or `SQLITE_NOTADB` once it was
    /// open): `macat check` says what can be saved (exit 1).
    #[error("{}{source}: run `macat check` to see what can be saved", damaged(path.as_deref()))]
    Damaged {
        path: Option<PathBuf>,
        #[source]
        source: rusqlite::Error,
    },
    /// Any other SQLite failure while doing `context`: a full disk, an I/O error (exit 1).
    #[error("{context}: {source}{}", disk_hint(source))]
    Database {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    /// Reading or writing a file failed while doing `context` (exit 1).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The API rejected the request (401/403/404 and other 4xx): fix credentials or ids (exit 3).
    #[error("{0}")]
    Rejected(Rejection),
    /// Every attempt at one request failed in a way retrying could help (exit 4).
    #[error("gave up on {url} after {attempts} attempts: {source}")]
    Request {
        url: String,
        attempts: u32,
        #[source]
        source: RequestError,
    },
    /// Gave up otherwise: a catalog that kept changing during the walk (exit 4).
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
    /// Anything else: a bug or a failure with no typed cause (exit 1).
    #[error("{0}")]
    Internal(String),
}

fn damaged(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!("the mirror at {} is damaged: ", p.display()),
        None => "the mirror is damaged: ".into(),
    }
}

/// "disk I/O error" does not say why; a full disk is the usual reason.
fn disk_hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(ErrorCode::SystemIoFailure) => " (is the disk full?)",
        _ => "",
    }
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

/// Why one attempt at an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No answer: a timeout, a refused or broken connection (`reason` says which).
    #[error("{reason}")]
    Transport {
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    /// 429 or 5xx; `retry_after` is the server's `Retry-After`, if it gave one.
    #[error("{reason}")]
    Status {
        status: u16,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// A 2xx whose body is not a valid page (cut off, an HTML error page, wrong types).
    #[error("malformed page: {0}")]
    Malformed(String),
    /// Any other 4xx.
    #[error("{0}")]
    Rejected(Rejection),
}

impl RequestError {
    /// Whether sending the request again can help: not for a request the API refused.
    pub fn is_retryable(&self) -> bool {
        match self {
            RequestError::Transport { .. } | RequestError::Malformed(_) => true,
            RequestError::Status { status, .. } => *status == 429 || *status >= 500,
            RequestError::Rejected(_) => false,
        }
    }

    /// How long the server asked to wait before the next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RequestError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Error {
    /// The process exit code for this error (see README, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::BadPath { .. }
            | Error::NotADatabase { .. }
            | Error::CannotOpen { .. } => 2,
            Error::Rejected(_) => 3,
            Error::Request { .. } | Error::GaveUp(_) => 4,
            Error::Locked(_) => 75,
            Error::Interrupted => 130,
            Error::BrokenPipe => 0,
            Error::Damaged { .. }
            | Error::Database { .. }
            | Error::Io { .. }
            | Error::Internal(_) => 1,
        }
    }

    /// Whether the same command may succeed if run again later, unchanged: the network or the
    /// API failing, a catalog moving under the walk, another sync or transaction holding the
    /// database. Not for anything a person has to fix first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Request { source, .. } => source.is_retryable(),
            Error::GaveUp(_) | Error::Locked(_) => true,
            Error::Database { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ),
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }

    /// A failed SQLite call while doing `context` ("database error" when nothing more is known),
    /// classified by SQLite's result code: a damaged file is [`Error::Damaged`].
    pub fn database(context: impl Into<String>, source: rusqlite::Error) -> Self {
        if is_damage(&source) {
            Error::Damaged { path: None, source }
        } else {
            Error::Database {
                context: context.into(),
                source,
            }
        }
    }

    /// A failed file operation while doing `context` (e.g. "cannot write /x/y.lock").
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::BrokenPipe;
        }
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A path named by the invocation cannot be used for `context` (exit 2).
    pub fn bad_path(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::BadPath {
            context: context.into(),
            source,
        }
    }

    /// The same error, naming the mirror at `path` where it is about the mirror's file.
    pub fn at_mirror(self, path: &Path) -> Self {
        match self {
            Error::Damaged { path: None, source } => Error::Damaged {
                path: Some(path.to_path_buf()),
                source,
            },
            Error::Database { context, source } => Error::Database {
                context: format!("{}: {context}", path.display()),
                source,
            },
            other => other,
        }
    }
}

/// Whether SQLite says the file is damaged: a malformed page, or a header that is no longer
/// SQLite's (on a file that was opened as a database before).
pub fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// Whether an I/O error says the file or its file system cannot be written.
pub fn is_read_only(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::database("database error", e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io("I/O error", e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_failures_are_classified_by_their_code() {
        for code in [rusqlite::ffi::SQLITE_CORRUPT, rusqlite::ffi::SQLITE_NOTADB] {
            let e = Error::from(sqlite(code));
            assert!(matches!(e, Error::Damaged { path: None, .. }), "{e:?}");
            assert_eq!(e.exit_code(), 1);
            assert!(e.to_string().contains("run `macat check`"), "{e}");
            let e = e.at_mirror(Path::new("/m/catalog.db"));
            assert!(
                e.to_string()
                    .starts_with("the mirror at /m/catalog.db is damaged"),
                "{e}"
            );
        }
        let full = Error::from(sqlite(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(full, Error::Database { .. }));
        assert_eq!(full.exit_code(), 1);
        assert!(full.to_string().contains("full"), "{full}");
        let io = Error::from(sqlite(rusqlite::ffi::SQLITE_IOERR));
        assert!(io.to_string().ends_with("(is the disk full?)"), "{io}");
        // The cause is kept, typed.
        let source = std::error::Error::source(&full).unwrap();
        let cause = source.downcast_ref::<rusqlite::Error>().unwrap();
        assert_eq!(cause.sqlite_error_code(), Some(ErrorCode::DiskFull));
    }

    #[test]
    fn io_failures_keep_their_cause_and_a_closed_pipe_is_quiet() {
        let e = Error::io(
            "cannot write /x",
            std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem),
        );
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().starts_with("cannot write /x: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        let e = Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(matches!(e, Error::BrokenPipe));
        assert_eq!(e.exit_code(), 0);
        let e = Error::bad_path(
            "cannot create /x",
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        );
        assert_eq!(e.exit_code(), 2);
        assert!(is_read_only(&std::io::Error::from_raw_os_error(30)));
        assert!(is_read_only(&std::io::Error::from(
            std::io::ErrorKind::PermissionDenied
        )));
        assert!(!is_read_only(&std::io::Error::from(
            std::io::ErrorKind::NotFound
        )));
    }

    fn status(status: u16) -> RequestError {
        RequestError::Status {
            status,
            reason: format!("HTTP {status}"),
            retry_after: Some(Duration::from_secs(3)),
        }
    }

    #[test]
    fn what_is_worth_retrying() {
        for code in [429, 500, 502, 503] {
            assert!(status(code).is_retryable(), "{code}");
        }
        assert_eq!(status(429).retry_after(), Some(Duration::from_secs(3)));
        assert!(RequestError::Malformed("cut off".into()).is_retryable());
        let rejected = RequestError::Rejected(Rejection {
            status: 404,
            error_code: Some("ModelArts.0001".into()),
            error_msg: None,
            url: "https://x/v1/p/images".into(),
        });
        assert!(!rejected.is_retryable());
        assert_eq!(rejected.retry_after(), None);

        let gave_up = Error::Request {
            url: "https://x/v1/p/images".into(),
            attempts: 4,
            source: status(503),
        };
        assert!(gave_up.is_retryable());
        assert_eq!(gave_up.exit_code(), 4);
        assert!(gave_up
            .to_string()
            .starts_with("gave up on https://x/v1/p/images after 4 attempts: HTTP 503"));
        assert!(Error::Locked("held".into()).is_retryable());
        assert!(Error::GaveUp("the catalog kept changing".into()).is_retryable());
        assert!(Error::from(sqlite(rusqlite::ffi::SQLITE_BUSY)).is_retryable());
        assert!(Error::from(std::io::Error::from(std::io::ErrorKind::TimedOut)).is_retryable());

        assert!(!Error::usage("bad flag").is_retryable());
        assert!(!Error::Interrupted.is_retryable());
        assert!(!Error::from(sqlite(rusqlite::ffi::SQLITE_FULL)).is_retryable());
        assert!(!Error::from(sqlite(rusqlite::ffi::SQLITE_CORRUPT)).is_retryable());
        assert!(
            !Error::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied)).is_retryable()
        );
    }
}
