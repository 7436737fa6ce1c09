//! Webhook delivery of watch events, from the outbox.
//!
//! Each event is POSTed as the exact bytes stored when it was made, with `X-Macat-Delivery`
//! (its event id, the same on every retry, for receivers to de-duplicate) and, when the watch
//! has a secret, `X-Macat-Signature-256: sha256=HEX` (HMAC-SHA256 of the body, GitHub's
//! `X-Hub-Signature-256` convention). A 2xx answer delivers it.
//!
//! Retry policy: anything else (another status, a refused connection, a timeout) is retried
//! [`ATTEMPTS`] times in all with a short doubling backoff, then left pending. Events go out
//! oldest first; once one fails for a webhook, the later ones for that webhook wait for the
//! next sync or `macat watch deliver`, so a receiver sees a watch's events in order and a dead
//! receiver costs a run seconds, not minutes. The secret is read from its file at delivery, and
//! neither it nor a password in the webhook URL reaches a log, an error or the database.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::mask_url;
use crate::error::{Error, Result};
use crate::store::watches::EventRow;
use crate::store::Store;

/// Attempts per event and run (the first and its retries).
pub const ATTEMPTS: u32 = 3;
/// The wait before the first retry; it doubles after each.
const BACKOFF: Duration = Duration::from_millis(250);
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The outcome of one round of delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: u64,
    /// Left pending (failed, or behind a failed event of the same webhook).
    pub pending: u64,
}

/// Reads a webhook secret file: its content without the trailing newline. Warns when others
/// can read the file. The error names the file, never its content.
pub fn read_secret(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read(path).map_err(|e| {
        Error::usage(format!(
            "cannot read the webhook secret file {}: {e}",
            path.display()
        ))
    })?;
    crate::config::warn_if_shared(path);
    let mut secret = text;
    while matches!(secret.last(), Some(b'\n' | b'\r')) {
        secret.pop();
    }
    if secret.is_empty() {
        return Err(Error::usage(format!(
            "the webhook secret file {} is empty",
            path.display()
        )));
    }
    Ok(secret)
}

/// `sha256=HEX`: HMAC-SHA256 of `body` with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers every pending event, oldest first (see the module's retry policy).
pub fn deliver_pending(store: &Store) -> Result<Delivered> {
    let pending = store.pending_events()?;
    if pending.is_empty() {
        return Ok(Delivered::default());
    }
    let client = reqwest::Client::builder()
        .user_agent(concat!("macat/", env!("CARGO_PKG_VERSION")))
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::internal(format!("cannot build the webhook client: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let mut out = Delivered::default();
    let mut blocked: HashSet<String> = HashSet::new();
    // Each watch's secret read once per delivery (one read, one warning if others can read it).
    let mut secrets: HashMap<i64, std::result::Result<Option<Vec<u8>>, String>> = HashMap::new();
    for (event, watch) in pending {
        let Some(url) = watch.webhook.clone() else {
            continue;
        };
        if blocked.contains(&url) {
            out.pending += 1;
            continue;
        }
        let secret = secrets.entry(watch.id).or_insert_with(|| {
            watch
                .secret_file
                .as_deref()
                .map(read_secret)
                .transpose()
                .map_err(|e| e.to_string())
        });
        let started = Instant::now();
        match rt.block_on(deliver_one(&client, &event, secret, &url)) {
            Ok(()) => {
                store.mark_delivered(event.seq)?;
                out.delivered += 1;
                tracing::info!(
                    event = %event.event_id,
                    watch = %watch.name,
                    ms = started.elapsed().as_millis() as u64,
                    "delivered"
                );
            }
            Err((attempts, why)) => {
                store.mark_failed(event.seq, i64::from(attempts), &why)?;
                tracing::warn!(
                    "webhook {} of watch {}: {why}; event {} stays pending (the next sync or \
                     `macat watch deliver` retries it)",
                    mask_url(&url),
                    watch.name,
                    event.event_id
                );
                blocked.insert(url);
                out.pending += 1;
            }
        }
    }
    Ok(out)
}

/// One event, with retries: `Err((attempts made, why the last failed))`.
async fn deliver_one(
    client: &reqwest::Client,
    event: &EventRow,
    secret: &std::result::Result<Option<Vec<u8>>, String>,
    url: &str,
) -> std::result::Result<(), (u32, String)> {
    let signature = match secret {
        Ok(Some(secret)) => Some(signature(secret, event.body.as_bytes())),
        Ok(None) => None,
        Err(e) => return Err((0, e.clone())),
    };
    let mut wait = BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut req = client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Macat-Event", "watch")
            .header("X-Macat-Delivery", &event.event_id)
            .body(event.body.clone());
        if let Some(sig) = &signature {
            req = req.header("X-Macat-Signature-256", sig);
        }
        let why = match req.send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => format!("answered {}", resp.status()),
            Err(e) => describe(e),
        };
        if attempt >= ATTEMPTS {
            return Err((attempt, why));
        }
        tracing::debug!("webhook attempt {attempt} failed: {why}; retrying in {wait:?}");
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}

/// A request error with its causes, without the URL (it may hold a password).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_example() {
        // The example of GitHub's "Validating webhook deliveries".
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
