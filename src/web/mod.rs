//! Pages for people, beside the API of `macat serve`, and the same pages written as static
//! files by `macat report`.
//!
//! - `/` searches (the hits of `macat search`, in its order: the parameters are parsed by the
//!   search endpoint's parameters ([`search_request`](crate::serve::search_request)), so the page and the API
//!   take the same ones), `/images/{id}` shows one image and its history, `/diff` what changed
//!   between two points in time, `/runs` the runs with two charts ([`charts`]), `/watches` the
//!   saved searches with their latest events.
//! - Server-rendered from maud templates ([`pages`]), which escape every value; GET forms; no
//!   JavaScript needed (one small script only adds "Copy" buttons). Every response carries
//!   `Content-Security-Policy: default-src 'self'` and `X-Content-Type-Options: nosniff`.
//! - `--require-auth`: a browser cannot sign requests or set headers, so `/login` takes the
//!   token (or the AK and SK) once and sets a session cookie (`HttpOnly`, `SameSite=Strict`;
//!   the secret itself is not in it). Requests that carry the API's credentials pass too.

pub mod charts;
pub(crate) mod model;
pub mod pages;
pub mod report;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;

use crate::apiserver::RequireAuth;
use crate::error::{Error, Result};
use crate::serve::{search_request, Mirror};
use crate::store::timeline::Timeline;
use crate::store::RunPoint;
use model::{point, AsOf, ImageView};
use pages::{LoginKind, SearchForm, Site};

pub const STYLESHEET: &str = include_str!("macat.css");
pub const SCRIPT: &str = include_str!("macat.js");
pub const FAVICON: &str = include_str!("favicon.svg");

/// The Content-Security-Policy of every page: nothing but this server's own files.
pub const CSP: &str = "default-src 'self'";

/// How long a browser stays signed in.
const SESSION: Duration = Duration::from_secs(12 * 3600);
const COOKIE: &str = "macat_session";

/// The pages' own state in a served mirror: signed-in browsers and the charts' data.
#[derive(Default)]
pub struct PageState {
    /// Session id -> when it expires.
    sessions: Mutex<HashMap<String, Instant>>,
    /// The timeline up to a run (it never changes once that run has committed).
    timeline: Mutex<Option<(i64, Arc<Timeline>)>>,
}

/// The pages' routes (over the mirror `macat serve` opened).
pub fn router() -> Router<Arc<Mirror>> {
    Router::new()
        .route("/", get(search))
        .route("/images/{id}", get(image))
        .route("/diff", get(diff))
        .route("/runs", get(runs))
        .route("/watches", get(watches))
        .route("/runs/sizes.svg", get(sizes_chart))
        .route("/runs/changes.svg", get(changes_chart))
        .route(
            "/static/macat.css",
            get(|| async { asset("text/css; charset=utf-8", "max-age=3600", STYLESHEET) }),
        )
        .route(
            "/static/macat.js",
            get(|| async { asset("text/javascript; charset=utf-8", "max-age=3600", SCRIPT) }),
        )
        .route(
            "/static/favicon.svg",
            get(|| async { asset("image/svg+xml", "max-age=86400", FAVICON) }),
        )
        .route("/login", get(login_form).post(login))
        .layer(axum::middleware::map_response(secure_headers))
}

/// The headers every page and file carries.
async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Lets a page request through when `--require-auth` accepts it: a session cookie from
/// `/login`, or the API's own credentials. Otherwise a browser is sent to `/login`.
pub async fn authenticate(mirror: &Arc<Mirror>, request: Request, next: Next) -> Response {
    let auth = mirror.require_auth();
    let path = request.uri().path();
    if matches!(auth, RequireAuth::None) || path == "/login" || path.starts_with("/static/") {
        return next.run(request).await;
    }
    let signed_in = cookie(request.headers(), COOKIE)
        .is_some_and(|id| mirror.pages.session_valid(&id))
        || auth
            .check(request.method().as_str(), request.uri(), request.headers())
            .is_ok();
    if signed_in {
        return next.run(request).await;
    }
    let back = request
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    let to = format!(
        "/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &back)
            .finish()
    );
    secure_headers(
        (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, to),
                (header::CACHE_CONTROL, "no-store".into()),
            ],
        )
            .into_response(),
    )
    .await
}

impl PageState {
    fn session_valid(&self, id: &str) -> bool {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        s.retain(|_, expires| *expires > now);
        s.contains_key(id)
    }

    fn new_session(&self) -> String {
        use rand::Rng;
        let bytes: [u8; 32] = rand::thread_rng().gen();
        let id = hex::encode(bytes);
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.insert(id.clone(), Instant::now() + SESSION);
        id
    }
}

/// A cookie's value from the request.
fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The query's parameters, form-decoded (`+` is a space), empty values left out (an empty
/// form field means "not given").
fn params(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn html(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

/// An error as a page: a bad parameter is 400, anything else 500.
fn error_html(site: &Site, at: Option<&AsOf>, e: Error) -> Response {
    match e {
        Error::Usage(m) => html(
            StatusCode::BAD_REQUEST,
            pages::error_page(site, at, "Bad request", &m),
        ),
        other => {
            tracing::error!("page failed: {other}");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::error_page(site, at, "Internal error", &other.to_string()),
            )
        }
    }
}

/// Runs `f` (which reads the database or the index) off the async workers.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error_page(
                &Site::Live { as_of: None },
                None,
                "Internal error",
                &e.to_string(),
            ),
        )
    })
}

/// The `as_of` a request asked for, and the point in time it means.
fn as_of(mirror: &Mirror, params: &[(String, String)]) -> (Option<String>, Result<AsOf>) {
    let asked = param(params, "as_of").map(String::from);
    let value = asked.as_deref().unwrap_or(mirror.default_as_of());
    let run = mirror.with_store(|s| point(s, "as_of", value));
    (
        asked.clone(),
        run.map(|run| AsOf {
            run,
            asked: asked.clone(),
        }),
    )
}

/// A page at the point in time the request's `as_of` names (the served default without one):
/// `render` gets the mirror, the request's parameters, where links point and that point, off
/// the async workers; a bad `as_of` is the error page.
async fn at_point(
    mirror: Arc<Mirror>,
    query: Option<String>,
    render: impl FnOnce(&Mirror, &[(String, String)], &Site, AsOf) -> Response + Send + 'static,
) -> Response {
    let params = params(query.as_deref());
    blocking(move || {
        let (asked, at) = as_of(&mirror, &params);
        let site = Site::Live {
            as_of: asked.as_deref(),
        };
        match at {
            Ok(at) => render(&mirror, &params, &site, at),
            Err(e) => error_html(&site, None, e),
        }
    })
    .await
}

async fn search(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    let params = params(query.as_deref());
    blocking(move || {
        let (asked, at) = as_of(&mirror, &params);
        let site = Site::Live {
            as_of: asked.as_deref(),
        };
        let form = SearchForm {
            q: param(&params, "q").unwrap_or("").to_string(),
            filters: crate::index::request::FILTERS
                .iter()
                .filter_map(|f| param(&params, f).map(|v| (*f, v.to_string())))
                .collect(),
            as_of: asked.clone().unwrap_or_default(),
            limit: param(&params, "limit").unwrap_or("").to_string(),
            include_removed: param(&params, "include_removed")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        };
        let at = match at {
            Ok(at) => at,
            Err(e) => {
                let (status, msg) = match e {
                    Error::Usage(m) => (StatusCode::BAD_REQUEST, m),
                    other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
                };
                return html(
                    status,
                    pages::search_page(&site, None, &form, None, 0, Some(&msg)),
                );
            }
        };
        if form.q.trim().is_empty() {
            return html(
                StatusCode::OK,
                pages::search_page(&site, Some(&at), &form, None, 0, None),
            );
        }
        let outcome = search_request(&params, mirror.default_as_of())
            .map_err(Error::Usage)
            .and_then(|req| {
                // The point in time the page resolved above, not resolved again.
                let req = req.at_run(at.run.run_id).with_highlight(true);
                let limit = req.limit();
                mirror.run_search(&req).map(|hits| (limit, hits))
            });
        match outcome {
            Ok((limit, hits)) => html(
                StatusCode::OK,
                pages::search_page(&site, Some(&at), &form, Some(&hits), limit, None),
            ),
            Err(Error::Usage(m)) => html(
                StatusCode::BAD_REQUEST,
                pages::search_page(&site, Some(&at), &form, None, 0, Some(&m)),
            ),
            Err(e) => error_html(&site, Some(&at), e),
        }
    })
    .await
}

async fn image(
    State(mirror): State<Arc<Mirror>>,
    UrlPath(id): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    at_point(mirror, query, move |mirror, _, site, at| {
        match mirror.with_store(|s| ImageView::read(s, &id, at.run.run_id)) {
            Ok(Some(view)) => html(StatusCode::OK, pages::image_page(site, &at, &view)),
            Ok(None) => html(
                StatusCode::NOT_FOUND,
                pages::error_page(
                    site,
                    Some(&at),
                    "No such image",
                    &format!("the mirror has never held an image with id {id:?}"),
                ),
            ),
            Err(e) => error_html(site, Some(&at), e),
        }
    })
    .await
}

async fn diff(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    at_point(mirror, query, move |mirror, params, site, at| {
        let d = mirror.with_store(|s| {
            // As `macat diff`: `to` defaults to the point in effect, `from` to the run before.
            let to = match param(params, "to") {
                Some(v) => point(s, "to", v)?,
                None => at.run,
            };
            let from = match param(params, "from") {
                Some(v) => Some(point(s, "from", v)?),
                None => s.committed_before(to.run_id)?,
            };
            // The first run's changes are everything it added: from an empty mirror.
            let empty = RunPoint {
                run_id: 0,
                finished_at_ms: 0,
            };
            s.diff(from.unwrap_or(empty), to)
        });
        match d {
            Ok(d) => html(StatusCode::OK, pages::diff_page(site, Some(&at), &d)),
            Err(e) => error_html(site, Some(&at), e),
        }
    })
    .await
}

impl PageState {
    /// The timeline up to run `until`, computed once.
    fn timeline(&self, mirror: &Mirror, until: i64) -> Result<Arc<Timeline>> {
        if let Some((run, t)) = self
            .timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if *run == until {
                return Ok(t.clone());
            }
        }
        let t = Arc::new(mirror.with_store(|s| s.timeline(until))?);
        *self.timeline.lock().unwrap_or_else(|p| p.into_inner()) = Some((until, t.clone()));
        Ok(t)
    }
}

async fn runs(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    at_point(mirror, query, move |mirror, _, site, at| {
        match mirror.with_store(|s| model::runs_until(s, at.run)) {
            Ok(runs) => html(StatusCode::OK, pages::runs_page(site, &at, &runs, None)),
            Err(e) => error_html(site, Some(&at), e),
        }
    })
    .await
}

async fn watches(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    at_point(mirror, query, move |mirror, _, site, at| {
        let views = mirror.with_store(|s| {
            s.watches()?
                .into_iter()
                .map(|watch| {
                    // What the watch had reported as of the point in time shown.
                    let events =
                        s.events_of(watch.id, Some(at.run.run_id), pages::WATCH_EVENTS_SHOWN)?;
                    Ok(pages::WatchView { watch, events })
                })
                .collect::<Result<Vec<_>>>()
        });
        match views {
            Ok(views) => html(StatusCode::OK, pages::watches_page(site, &at, &views)),
            Err(e) => error_html(site, Some(&at), e),
        }
    })
    .await
}

fn svg(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn sizes_chart(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    at_point(mirror, query, |mirror, _, site, at| {
        match mirror.pages.timeline(mirror, at.run.run_id) {
            Ok(t) => svg(charts::sizes_svg(&t)),
            Err(e) => error_html(site, None, e),
        }
    })
    .await
}

async fn changes_chart(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    at_point(mirror, query, |mirror, _, site, at| {
        match mirror.with_store(|s| model::runs_until(s, at.run)) {
            Ok(runs) => svg(charts::changes_svg(&committed_oldest_first(&runs))),
            Err(e) => error_html(site, None, e),
        }
    })
    .await
}

/// The committed runs of a list of runs (newest first), oldest first.
fn committed_oldest_first(runs: &[crate::store::RunInfo]) -> Vec<&crate::store::RunInfo> {
    runs.iter()
        .rev()
        .filter(|r| r.status == "committed")
        .collect()
}

/// A file served from the binary, cached by the browser for `max_age` seconds.
fn asset(content_type: &'static str, max_age: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, max_age),
        ],
        body,
    )
        .into_response()
}

fn login_kind(auth: &RequireAuth) -> LoginKind {
    match auth {
        RequireAuth::AkSk(_) => LoginKind::AkSk,
        _ => LoginKind::Token,
    }
}

/// Where to go after signing in: a path on this server, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

async fn login_form(State(mirror): State<Arc<Mirror>>, RawQuery(query): RawQuery) -> Response {
    let params = params(query.as_deref());
    let next = safe_next(param(&params, "next"));
    html(
        StatusCode::OK,
        pages::login_page(login_kind(mirror.require_auth()), &next, None),
    )
}

async fn login(State(mirror): State<Arc<Mirror>>, body: String) -> Response {
    let form = params(Some(&body));
    let next = safe_next(param(&form, "next"));
    let ok = match mirror.require_auth() {
        RequireAuth::None => true,
        RequireAuth::Token(tokens) => {
            param(&form, "token").is_some_and(|t| tokens.iter().any(|k| k.expose() == t))
        }
        RequireAuth::AkSk(keys) => match (param(&form, "ak"), param(&form, "sk")) {
            (Some(ak), Some(sk)) => keys.get(ak).is_some_and(|k| k.expose() == sk),
            _ => false,
        },
    };
    if !ok {
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login_page(
                login_kind(mirror.require_auth()),
                &next,
                Some("Those credentials are not accepted."),
            ),
        );
    }
    let id = mirror.pages.new_session();
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, next),
            (
                header::SET_COOKIE,
                format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict"),
            ),
        ],
    )
        .into_response()
}
