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
use crate::error::{Error, Rejection, Result};

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

enum Attempt {
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
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
                Err(Attempt::Retry {
                    reason,
                    retry_after,
                }) => {
                    if attempt > self.cfg.retries {
                        return Err(Error::GaveUp(format!(
                            "gave up on {url} after {attempt} attempts: {reason}"
                        )));
                    }
                    let wait = retry_after
                        .map(|d| d.min(RETRY_AFTER_CAP))
                        .unwrap_or_else(|| backoff(attempt));
                    tracing::warn!(
                        "{reason}; retrying in {} ms (attempt {}/{}) [{url}]",
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
        let resp = req.send().await.map_err(|e| Attempt::Retry {
            reason: describe_transport(&e),
            retry_after: None,
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(|e| Attempt::Retry {
            reason: format!(
                "HTTP {}: reading the body failed: {}",
                status.as_u16(),
                describe_transport(&e)
            ),
            retry_after: None,
        })?;
        drop(permit);
        if status.is_success() {
            return parse_page(&body).map_err(|why| Attempt::Retry {
                reason: format!("malformed page: {why}"),
                retry_after: None,
            });
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
            return Err(Attempt::Retry {
                reason,
                retry_after: if status.as_u16() == 429 {
                    retry_after
                } else {
                    None
                },
            });
        }
        Err(Attempt::Fatal(Error::Rejected(Rejection {
            status: status.as_u16(),
            // Kept as sent (only shortened): they are escaped where they are displayed.
            error_code: code.map(|c| crate::output::truncate(&c, 100)),
            error_msg: msg.map(|m| crate::output::truncate(&m, 300)),
            url: url.to_string(),
        })))
    }
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
}
