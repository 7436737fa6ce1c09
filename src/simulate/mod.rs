//! `macat simulate`: a local, faithful `GET /v1/{project_id}/images` with fault injection.
//!
//! The catalog comes from fixture days (JSON arrays of ImageResponse objects); `POST
//! /_sim/advance` moves to the next day, and `advance_after` does so by itself after a number
//! of image requests, which is how tests change the catalog in the middle of a walk without
//! sleeping. The HTTP layer (queries, paging, auth, error bodies) is [`crate::apiserver`]'s,
//! shared with `macat serve`. Every paging dialect a client must cope with can be served
//! ([`Paging`]).
//!
//! Faults, drawn from a seeded generator so a run can be replayed: `fail_rate` answers a request
//! with one of a 500 JSON error, a 502 or 503 HTML page, a 200 whose body is cut off, a 200 whose
//! connection breaks mid-body, or a 200 whose body is not a valid page; `throttle_rate` answers
//! 429 with `Retry-After`; `spike_rate` delays a response by `spike` (past a client's timeout). Error bodies
//! follow ModelArts' `{"error_code", "error_msg"}` shape; the codes are the documented APIG and
//! ModelArts ones where known (APIGW.0301 bad credentials, APIGW.0308 throttled) and
//! illustrative otherwise.

pub mod generate;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::api::sign;
use crate::apiserver::{error_response, parse_params, unknown_project};
pub use crate::apiserver::{Catalog, RequireAuth};
use crate::catalog::Paging;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The fixture days shipped with macat (the default catalog of `simulate` and `demo`).
pub const FIXTURE_DAYS: [&str; 3] = [
    include_str!("../../data/catalog-day1.json"),
    include_str!("../../data/catalog-day2.json"),
    include_str!("../../data/catalog-day3.json"),
];

/// Parses a catalog file: a JSON array of ImageResponse objects.
pub fn parse_catalog(json: &str) -> Result<Catalog, String> {
    Catalog::parse(json)
}

/// Everything the simulator can be told.
pub struct SimConfig {
    pub days: Vec<Catalog>,
    /// Serve only this project (others get 404); any project when `None`.
    pub project_id: Option<String>,
    pub latency: Duration,
    pub fail_rate: f64,
    pub throttle_rate: f64,
    pub retry_after_secs: u64,
    /// Answer every image request with this HTTP status and a ModelArts error body.
    pub fail_status: Option<u16>,
    pub paging: Paging,
    pub seed: u64,
    /// Move to the next day by itself after this many image requests.
    pub advance_after: Option<u64>,
    /// Fraction of requests delayed by `spike` on top of `latency`.
    pub spike_rate: f64,
    pub spike: Duration,
    pub require_auth: RequireAuth,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            days: Vec::new(),
            project_id: None,
            latency: Duration::ZERO,
            fail_rate: 0.0,
            throttle_rate: 0.0,
            retry_after_secs: 1,
            fail_status: None,
            paging: Paging::default(),
            seed: 0,
            advance_after: None,
            spike_rate: 0.0,
            spike: Duration::from_secs(2),
            require_auth: RequireAuth::None,
        }
    }
}

struct Sim {
    cfg: SimConfig,
    day: AtomicUsize,
    requests: AtomicU64,
    /// Advance to the next day when `requests` reaches this (0: not scheduled).
    advance_at: AtomicU64,
    rng: Mutex<SmallRng>,
}

impl Sim {
    /// Counts an image request (listing or `show_image`); the one `--advance-after` names
    /// moves the catalog to its next day.
    fn count_request(&self) {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if self.advance_at.load(Ordering::SeqCst) == n {
            self.advance_at.store(0, Ordering::SeqCst);
            self.advance();
        }
    }

    fn advance(&self) -> usize {
        let last = self.cfg.days.len().saturating_sub(1);
        let next = (self.day.load(Ordering::SeqCst) + 1).min(last);
        self.day.store(next, Ordering::SeqCst);
        next
    }
}

/// The simulator's routes over a configuration.
pub fn router(cfg: SimConfig) -> Router {
    let seed = cfg.seed;
    let cfg_advance_at = cfg.advance_after.unwrap_or(0);
    let sim = Arc::new(Sim {
        cfg,
        day: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        advance_at: AtomicU64::new(cfg_advance_at),
        rng: Mutex::new(SmallRng::seed_from_u64(seed)),
    });
    Router::new()
        .route("/v1/{project_id}/images", get(list_images))
        .route("/v1/{project_id}/images/{id}", get(show_image))
        .route("/_sim/advance", post(advance))
        .route("/_sim/state", get(state))
        .with_state(sim)
}

/// `POST /_sim/advance`: the next day now; `?after=N`: after N more image requests (to change
/// the catalog in the middle of a walk).
async fn advance(State(sim): State<Arc<Sim>>, RawQuery(query): RawQuery) -> Response {
    let after = sign::parse_query(query.as_deref().unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == "after")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    match after {
        Some(n) if n > 0 => {
            let at = sim.requests.load(Ordering::SeqCst) + n;
            sim.advance_at.store(at, Ordering::SeqCst);
            state(State(sim)).await
        }
        _ => {
            sim.advance();
            state(State(sim)).await
        }
    }
}

/// `GET /_sim/state`: the day being served (1-based) and the image requests so far.
async fn state(State(sim): State<Arc<Sim>>) -> Response {
    let body = format!(
        "{{\"day\":{},\"requests\":{}}}",
        sim.day.load(Ordering::SeqCst) + 1,
        sim.requests.load(Ordering::SeqCst)
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /v1/{project_id}/images/{id}` (the SDK's `show_image`): the image of the day being served,
/// with the same latency, credential and project checks as a listing (and counted as an image
/// request); no injected faults.
async fn show_image(
    State(sim): State<Arc<Sim>>,
    Path((project_id, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let cfg = &sim.cfg;
    let due = tokio::time::Instant::now() + cfg.latency;
    sim.count_request();
    let response = if let Err(refused) = cfg.require_auth.check(method.as_str(), &uri, &headers) {
        refused
    } else if cfg.project_id.as_ref().is_some_and(|p| *p != project_id) {
        unknown_project(&project_id)
    } else {
        match cfg.days.get(sim.day.load(Ordering::SeqCst)) {
            Some(catalog) => catalog.show_image(&id),
            None => unknown_project(&project_id),
        }
    };
    if !cfg.latency.is_zero() {
        tokio::time::sleep_until(due).await;
    }
    response
}

enum Fault {
    Json500,
    Html(u16),
    CutOff,
    NotAPage,
    /// The connection breaks in the middle of the body.
    Reset,
}

/// `GET /v1/{project_id}/images`, answered `latency` after the request came in: the latency is
/// what a page costs its client, the simulator's own work included (it used to come on top, a
/// few milliseconds a page that no client could win back).
async fn list_images(
    sim: State<Arc<Sim>>,
    project_id: Path<String>,
    query: RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let latency = sim.cfg.latency;
    let due = tokio::time::Instant::now() + latency;
    let response = answer(sim, project_id, query, method, uri, headers).await;
    if !latency.is_zero() {
        tokio::time::sleep_until(due).await;
    }
    response
}

async fn answer(
    State(sim): State<Arc<Sim>>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let cfg = &sim.cfg;
    // The request that reaches `--advance-after` is still answered from its day.
    let day = sim.day.load(Ordering::SeqCst);
    sim.count_request();
    if let Some(status) = cfg.fail_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (code, msg) = match status.as_u16() {
            401 => (
                "APIGW.0301",
                "Incorrect IAM authentication information".to_string(),
            ),
            403 => (
                "ModelArts.0103",
                "The user does not have permission to access this project".to_string(),
            ),
            404 => ("ModelArts.0104", format!("Project {project_id} not found")),
            _ => ("ModelArts.0001", "Internal error".to_string()),
        };
        return error_response(status, code, msg);
    }
    if let Err(refused) = cfg.require_auth.check(method.as_str(), &uri, &headers) {
        return refused;
    }
    if cfg.project_id.as_ref().is_some_and(|p| *p != project_id) {
        return unknown_project(&project_id);
    }
    let (throttle, fault, spike) = {
        let mut rng = sim.rng.lock().unwrap_or_else(|p| p.into_inner());
        let throttle = cfg.throttle_rate > 0.0 && rng.gen_bool(cfg.throttle_rate.min(1.0));
        let fault =
            (cfg.fail_rate > 0.0 && rng.gen_bool(cfg.fail_rate.min(1.0))).then(|| {
                match rng.gen_range(0..6) {
                    0 => Fault::Json500,
                    1 => Fault::Html(502),
                    2 => Fault::Html(503),
                    3 => Fault::CutOff,
                    4 => Fault::Reset,
                    _ => Fault::NotAPage,
                }
            });
        let spike = cfg.spike_rate > 0.0 && rng.gen_bool(cfg.spike_rate.min(1.0));
        (throttle, fault, spike)
    };
    if spike {
        tokio::time::sleep(cfg.spike).await;
    }
    if throttle {
        let mut r = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "APIGW.0308",
            "The throttling threshold has been reached".into(),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(cfg.retry_after_secs));
        return r;
    }
    match fault {
        Some(Fault::Json500) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ModelArts.0001",
                "Internal error".into(),
            )
        }
        Some(Fault::Html(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = format!(
                "<html><head><title>{code}</title></head><body><h1>{code} {}</h1></body></html>",
                status.canonical_reason().unwrap_or("")
            );
            return (status, [(header::CONTENT_TYPE, "text/html")], body).into_response();
        }
        Some(Fault::NotAPage) => {
            let body = r#"{"current":1,"data":[{"name":"no-id"}],"pages":1,"size":1,"total":1}"#;
            return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
        Some(Fault::CutOff | Fault::Reset) | None => {}
    }

    let q = match parse_params(query.as_deref()).1 {
        Ok(q) => q,
        Err(bad) => return bad,
    };
    let Some(catalog) = cfg.days.get(day) else {
        return unknown_project(&project_id);
    };
    let body = catalog.page_body(&q, &cfg.paging);
    if matches!(fault, Some(Fault::Reset)) {
        let half = body.as_bytes()[..body.len() / 2].to_vec();
        let broken = futures::stream::iter([
            Ok(axum::body::Bytes::from(half)),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected reset",
            )),
        ]);
        return (
            [(header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from_stream(broken),
        )
            .into_response();
    }
    let body = if matches!(fault, Some(Fault::CutOff)) {
        body[..body.len() / 2].to_string()
    } else {
        body
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_days_parse() {
        let counts: Vec<usize> = FIXTURE_DAYS
            .iter()
            .map(|d| parse_catalog(d).unwrap().len())
            .collect();
        assert_eq!(counts, [158, 162, 167]);
    }
}
