//! The images API over HTTP, the parts every server of it shares: `macat simulate` (fixture days
//! with faults) and `macat serve` (the mirror at a point in time) differ only in where the
//! catalog comes from.
//!
//! Here: the catalog as served ([`Catalog`]: typed images for the query, raw objects for the
//! body, and a cache of sorted selections), query parsing with the API's 400 body, credential
//! checks ([`RequireAuth`]), and ModelArts-style error bodies. Filtering, sorting and paging are
//! [`crate::catalog`]'s, the same code `macat list` uses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::api::auth::Secret;
use crate::api::sign;
use crate::api::types::{Image, Item};
use crate::catalog::{Paging, Query};

/// One image as served: typed for the query, raw for the body.
pub struct Served {
    pub image: Image,
    pub raw: Box<RawValue>,
}

/// A catalog ready to serve. Sorted selections are cached per query (without its paging): a
/// client walks one listing page after page, and a 100,000-image catalog should not be sorted
/// for each page.
pub struct Catalog {
    images: Vec<Served>,
    /// Image id -> position in `images` (the first image of a repeated id).
    by_id: HashMap<String, usize>,
    selections: Mutex<HashMap<Query, Arc<Vec<usize>>>>,
}

impl Catalog {
    pub fn new(images: Vec<Served>) -> Catalog {
        let mut by_id = HashMap::with_capacity(images.len());
        for (i, s) in images.iter().enumerate() {
            by_id.entry(s.image.id.clone()).or_insert(i);
        }
        Catalog {
            images,
            by_id,
            selections: Mutex::new(HashMap::new()),
        }
    }

    /// Builds a catalog from image objects (validated like a page's items).
    pub fn from_values(values: &[serde_json::Value]) -> Result<Catalog, String> {
        values
            .iter()
            .map(|v| served(Item::from_value(v)?))
            .collect::<Result<Vec<_>, _>>()
            .map(Catalog::new)
    }

    /// Parses a catalog file: a JSON array of ImageResponse objects.
    pub fn parse(json: &str) -> Result<Catalog, String> {
        let values: Vec<serde_json::Value> =
            serde_json::from_str(json).map_err(|e| format!("not a JSON array of images: {e}"))?;
        Catalog::from_values(&values)
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    pub fn images(&self) -> &[Served] {
        &self.images
    }

    fn selection(&self, q: &Query) -> Arc<Vec<usize>> {
        let key = q.without_paging();
        let mut cache = self.selections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.get(&key) {
            return hit.clone();
        }
        if cache.len() >= 64 {
            cache.clear();
        }
        let sel = Arc::new(q.select_indices(&self.images, |s| &s.image));
        cache.insert(key, sel.clone());
        sel
    }

    /// The object of one image, exactly as the list API gave it (unknown fields, nulls).
    pub fn image_raw(&self, id: &str) -> Option<&RawValue> {
        self.by_id.get(id).map(|&i| self.images[i].raw.as_ref())
    }

    /// `GET /v1/{project_id}/images/{id}` (the SDK's `show_image`) over this catalog: the
    /// image object, or 404 with a ModelArts error body.
    pub fn show_image(&self, id: &str) -> Response {
        match self.image_raw(id) {
            Some(raw) => json_response(raw.get().to_string()),
            None => unknown_image(id),
        }
    }

    /// The response body for one page of a query.
    pub fn page_body(&self, q: &Query, paging: &Paging) -> String {
        let selected = self.selection(q);
        let page = paging.page(&selected, q);
        let body = PageBody {
            current: page.current,
            data: page
                .data
                .iter()
                .map(|&i| self.images[i].raw.as_ref())
                .collect(),
            pages: page.pages,
            size: page.size,
            total: page.total,
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}

/// An image as served, from a validated item.
pub fn served(item: Item) -> Result<Served, String> {
    let raw = RawValue::from_string(item.raw).map_err(|e| e.to_string())?;
    Ok(Served {
        image: item.image,
        raw,
    })
}

#[derive(Serialize)]
struct PageBody<'a> {
    current: u64,
    data: Vec<&'a RawValue>,
    pages: u64,
    size: u64,
    total: u64,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'a str,
    error_msg: String,
}

/// A ModelArts-style error response: `{"error_code": ..., "error_msg": ...}`.
pub fn error_response(status: StatusCode, code: &str, msg: String) -> Response {
    let body = serde_json::to_string(&ErrorBody {
        error_code: code,
        error_msg: msg,
    })
    .unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// 404 for a project this server does not hold.
pub fn unknown_project(project_id: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "ModelArts.0104",
        format!("Project {project_id} not found"),
    )
}

/// 404 for an image id the project does not hold (at the point in time served).
pub fn unknown_image(id: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "ModelArts.6801",
        format!("Image {id} not found"),
    )
}

/// The request's parameters, decoded, and the query they make (or the API's 400).
pub fn parse_params(raw_query: Option<&str>) -> (Vec<(String, String)>, Result<Query, Response>) {
    let pairs = sign::parse_query(raw_query.unwrap_or(""));
    let q = Query::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| error_response(StatusCode::BAD_REQUEST, "ModelArts.4204", e.to_string()));
    (pairs, q)
}

/// What one server lets a client hold: how long a connection may take to send a request's
/// headers (an idle keep-alive connection waiting for its next request counts too), and how many
/// requests are answered at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: std::time::Duration,
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: std::time::Duration::from_secs(10),
            max_in_flight: 256,
        }
    }
}

/// How long shutdown waits for requests in flight before closing their connections.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves `router` until `shutdown` resolves, with the default [`Limits`]. The caller binds the
/// listener (port 0 in tests).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, Limits::default()).await
}

/// [`serve`] with explicit limits. Each connection is HTTP/1.1 on its own task: a slow or idle
/// client costs one task and one socket until its header timeout, never a worker. Past
/// `max_in_flight` requests at once, a request is refused at once with 503 and a ModelArts
/// error body rather than queued behind the others.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight.max(1)));
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let permits = permits.clone();
            async move {
                match permits.try_acquire_owned() {
                    Ok(_permit) => next.run(request).await,
                    Err(_) => busy(),
                }
            }
        },
    ));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection closed: {e}");
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

/// 503 past the in-flight limit, in ModelArts' shape; clients retry it with backoff.
fn busy() -> Response {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "ModelArts.0001",
        "the server is busy: too many requests at once; retry shortly".into(),
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}

/// A JSON 200 response.
pub fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// How requests must authenticate. Verification recomputes the signature from the request as
/// received (it shares only the canonical-request rules with the client, in `api::sign`).
#[derive(Debug, Clone, Default)]
pub enum RequireAuth {
    #[default]
    None,
    /// SDK-HMAC-SHA256 signatures by one of these access keys (AK -> SK), dated within 15 minutes.
    AkSk(HashMap<String, Secret>),
    /// `X-Auth-Token` equal to one of these tokens.
    Token(Vec<Secret>),
}

impl RequireAuth {
    /// Checks one request; refuses it with a 401 in ModelArts' shape.
    // The refusal is the response itself, built once per refused request.
    #[allow(clippy::result_large_err)]
    pub fn check(&self, method: &str, uri: &Uri, headers: &HeaderMap) -> Result<(), Response> {
        self.verify(method, uri, headers).map_err(|why| {
            error_response(
                StatusCode::UNAUTHORIZED,
                "APIGW.0301",
                format!("Incorrect IAM authentication information: {why}"),
            )
        })
    }

    fn verify(&self, method: &str, uri: &Uri, headers: &HeaderMap) -> Result<(), String> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self {
            RequireAuth::None => Ok(()),
            RequireAuth::Token(tokens) => match header("x-auth-token") {
                Some(t) if tokens.iter().any(|k| k.expose() == t) => Ok(()),
                Some(_) => Err("the token is invalid or expired".into()),
                None => Err("no X-Auth-Token header".into()),
            },
            RequireAuth::AkSk(keys) => {
                let req = sign::ReceivedRequest {
                    method,
                    host: header("host").unwrap_or(""),
                    path: uri.path(),
                    raw_query: uri.query().unwrap_or(""),
                    body: b"",
                };
                sign::verify(
                    &req,
                    header,
                    |ak: &str| keys.get(ak).map(|sk| sk.expose().to_string()),
                    chrono::Utc::now(),
                    sign::MAX_CLOCK_SKEW,
                )
                .map_err(|e| format!("signature rejected: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod limits_tests;
