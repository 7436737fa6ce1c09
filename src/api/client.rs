//! The HTTP client for `GET /v1/{project_id}/images`, with retries.
//!
//! Retry policy: a request is retried when retrying can help — timeouts and connection errors,
//! 5xx, 429 (after the server's `Retry-After`, capped at two minutes), and bodies that are not a
//! valid page (cut off, HTML error pages, wrong types, an item without `id`). A 4xx other than
//! 429 is final: the message carries the API's `error_code` and `error_msg`. Backoff is
//! exponential from 200 ms, capped at 10 s, with jitter (a random 50–100% of the step), and each
//! retry is logged as a warning naming the cause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;

use crate::api::auth::Auth;
use crate::api::types::{parse_page, ApiErrorBody, Page};
use crate::error::{Error, Rejection, RequestError, Result};

/// Everything a client needs to reach one project's catalog.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://modelarts.cn-north-4.myhuaweicloud.com` (no trailing slash).
    pub endpoint: String,
    pub project_id: String,
    pub timeout: Duration,
    /// Retries after the first attempt of each request.
    pub retries: u32,
    pub auth: Auth,
}

/// A page fetched, with what it cost.
pub struct Fetched {
    pub page: Page,
    pub attempts: u32,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    cfg: ClientConfig,
    host: String,
    /// Requests on the wire at once, across every client sharing it (see
    /// [`Client::with_in_flight`]).
    in_flight: Option<Arc<Semaphore>>,
}

/// How one attempt ended, when it did not bring a page.
enum Attempt {
    /// The request failed; [`RequestError::is_retryable`] says whether to send it again.
    Failed(RequestError),
    /// Nothing to do with the request (the limiter closed).
    Fatal(Error),
}

/// Requests sent and retries made by every client of this process (a process runs one sync):
/// reported by `sync --metrics-file`.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// (requests sent, of which retries) by this process's clients so far.
pub fn request_counts() -> (u64, u64) {
    (
        REQUESTS.load(Ordering::Relaxed),
        RETRIES.load(Ordering::Relaxed),
    )
}

const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(10);
const RETRY_AFTER_CAP: Duration = Duration::from_secs(120);

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client> {
        let url = reqwest::Url::parse(&cfg.endpoint)
            .map_err(|e| Error::usage(format!("invalid endpoint {:?}: {e}", cfg.endpoint)))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(Error::usage(format!(
                    "endpoint {:?} has no host",
                    cfg.endpoint
                )))
            }
        };
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("macat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            cfg,
            host,
            in_flight: None,
        })
    }

    /// Lets at most `limit`'s permits of requests be on the wire at once, shared with every
    /// client given the same semaphore. A permit is held while a request is sent and its body
    /// read, not while the page is parsed or a retry waits: the next request goes out as soon
    /// as a response is in.
    pub fn with_in_flight(mut self, limit: Arc<Semaphore>) -> Client {
        self.in_flight = Some(limit);
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.cfg.endpoint
    }

    pub fn project_id(&self) -> &str {
        &self.cfg.project_id
    }

    /// Fetches one page of the image list, retrying per the module's policy.
    pub async fn list_images(&self, params: &[(String, String)]) -> Result<Fetched> {
        let path = format!("/v1/{}/images", self.cfg.project_id);
        let query = crate::api::sign::canonical_query(params);
        let url = if query.is_empty() {
            format!("{}{}", self.cfg.endpoint, path)
        } else {
            format!("{}{}?{}", self.cfg.endpoint, path, query)
        };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                RETRIES.fetch_add(1, Ordering::Relaxed);
            }
            match self.attempt(&url, &path, params).await {
                Ok(page) => {
                    return Ok(Fetched {
                        page,
                        attempts: attempt,
                    })
                }
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Failed(RequestError::Rejected(r))) => return Err(Error::Rejected(r)),
                Err(Attempt::Failed(e)) if !e.is_retryable() || attempt > self.cfg.retries => {
                    return Err(Error::Request {
                        url,
                        attempts: attempt,
                        source: e,
                    });
                }
                Err(Attempt::Failed(e)) => {
                    let wait = e
                        .retry_after()
                        .map(|d| d.min(RETRY_AFTER_CAP))
                        .unwrap_or_else(|| backoff(attempt));
                    tracing::warn!(
                        "{e}; retrying in {} ms (attempt {}/{}) [{url}]",
                        wait.as_millis(),
                        attempt + 1,
                        self.cfg.retries + 1
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        url: &str,
        path: &str,
        params: &[(String, String)],
    ) -> std::result::Result<Page, Attempt> {
        // Signed once it may go: a signature is only good for minutes.
        let permit =
            match &self.in_flight {
                Some(limit) => Some(limit.acquire().await.map_err(|_| {
                    Attempt::Fatal(Error::internal("the request limiter was closed"))
                })?),
                None => None,
            };
        let headers = self
            .cfg
            .auth
            .headers("GET", &self.host, path, params, chrono::Utc::now());
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        tracing::debug!("GET {url}");
        let resp = req.send().await.map_err(|e| {
            Attempt::Failed(RequestError::Transport {
                reason: describe_transport(&e),
                source: e,
            })
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, std::time::SystemTime::now()));
        let body = resp.bytes().await.map_err(|e| {
            Attempt::Failed(RequestError::Transport {
                reason: format!(
                    "HTTP {}: reading the body failed: {}",
                    status.as_u16(),
                    describe_transport(&e)
                ),
                source: e,
            })
        })?;
        drop(permit);
        if status.is_success() {
            return parse_page(&body).map_err(|why| Attempt::Failed(RequestError::Malformed(why)));
        }
        let api: Option<ApiErrorBody> = serde_json::from_slice(&body).ok();
        let (code, msg) = api
            .map(|b| (b.error_code, b.error_msg))
            .unwrap_or((None, None));
        if status.as_u16() == 429 || status.is_server_error() {
            let mut reason = format!("HTTP {}", status.as_u16());
            if let Some(c) = &code {
                reason.push_str(&format!(" {c}"));
            }
            if let Some(m) = &msg {
                reason.push_str(&format!(": {}", crate::output::truncate(m, 200)));
            }
            return Err(Attempt::Failed(RequestError::Status {
                status: status.as_u16(),
                reason,
                retry_after: if status.as_u16() == 429 {
                    retry_after
                } else {
                    None
                },
            }));
        }
        Err(Attempt::Failed(RequestError::Rejected(Rejection {
            status: status.as_u16(),
            // Kept as sent (only shortened): they are escaped where they are displayed.
            error_code: code.map(|c| crate::output::truncate(&c, 100)),
            error_msg: msg.map(|m| crate::output::truncate(&m, 300)),
            url: url.to_string(),
        })))
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP-date, which is how long from
/// `now` (a date in the past means at once).
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn backoff(attempt: u32) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    let jitter = rand::thread_rng().gen_range(0.5..=1.0);
    step.mul_f64(jitter)
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the body".into()
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            assert!(d <= BACKOFF_CAP);
            assert!(d >= BACKOFF_BASE / 2);
        }
        assert!(backoff(10) >= BACKOFF_CAP / 2);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Dec 2026 03:00:00 GMT").unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 03:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        // The two obsolete forms RFC 9110 still asks a recipient to accept.
        assert_eq!(
            retry_after("Sunday, 06-Dec-26 03:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after("Sun Dec  6 03:00:02 2026", now),
            Some(Duration::from_secs(2))
        );
        // A date already past: retry at once.
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 02:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "-1", "1.5", "soon", "Sun, 06 Dec 2026 25:00:00 GMT"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }
}
