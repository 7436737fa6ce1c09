//! `macat serve`: the mirror, read-only, as the same images API, for clients that cannot reach
//! the cloud (air-gapped networks, CI without credentials) or want a past date.
//!
//! Every project in the mirror is served at `GET /v1/{project_id}/images` with the API's query
//! parameters and bodies (the HTTP layer is [`crate::apiserver`]'s, shared with the simulator),
//! plus `as_of=WHEN` to read the catalog at any point in time, and
//! `GET /v1/{project_id}/images/search?q=...`: the hits `macat search --format json` gives,
//! among that project's images, and `GET /v1/{project_id}/images/{id}` (the SDK's `show_image`):
//! one image object at `as_of`, 404 when the project does not hold it then. Reads use their own connection
//! in WAL mode, so they never block a running sync and always see a committed run. A page is
//! answered from the mirror's query table (`version_keys`): nothing is loaded at start; the
//! first page of a query selects its ids once ([`Store::select_all`]) and every page of it is then
//! a slice of that selection ([`selections`]) and one read per image of the page.

mod selections;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::value::RawValue;

use crate::apiserver::{self, error_response, parse_params, unknown_project, RequireAuth};
use crate::catalog::{Paging, Query};
use crate::error::{Error, Result};
use crate::index::{Hit, Invalid, SearchIndex, SearchRequest};
use crate::store::Store;
use crate::when::When;

/// What `serve` is told.
pub struct ServeConfig {
    pub db: PathBuf,
    /// The point in time served when a request gives no `as_of`.
    pub as_of: String,
    pub require_auth: RequireAuth,
    pub paging: Paging,
}

pub struct Mirror {
    cfg: ServeConfig,
    store: Mutex<Store>,
    /// The search index, opened on the first search and again after a sync commits a run.
    index: Mutex<Option<Arc<SearchIndex>>>,
    /// The pages' sessions and cached chart data.
    pub(crate) pages: crate::web::PageState,
    /// Queries' whole answers, to cut pages from.
    selections: selections::Selections,
}

/// How many version ids the selections served keep in all (8 bytes each: 64 MiB).
const SELECTION_IDS: usize = 8 << 20;

impl Mirror {
    /// Opens the mirror; checks that the default point in time exists.
    pub fn open(cfg: ServeConfig) -> Result<Mirror> {
        let store = Store::open_existing(&cfg.db)?;
        store.resolve(&When::parse(&cfg.as_of, chrono::Utc::now())?)?;
        Ok(Mirror {
            cfg,
            store: Mutex::new(store),
            index: Mutex::new(None),
            pages: Default::default(),
            selections: selections::Selections::new(SELECTION_IDS),
        })
    }

    pub fn db(&self) -> &Path {
        &self.cfg.db
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The search index, level with the latest committed run.
    fn search_index(&self, store: &Store) -> Result<Arc<SearchIndex>> {
        let latest = store.committed_state()?.map(|s| s.run_id);
        let mut cached = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ix) = cached.as_ref().filter(|ix| Some(ix.run_id()) == latest) {
            return Ok(ix.clone());
        }
        let ix = Arc::new(SearchIndex::open(store)?);
        *cached = Some(ix.clone());
        Ok(ix)
    }

    /// A search among one project's images, as `macat search --format json` answers it.
    fn search(
        &self,
        project_id: &str,
        params: &[(String, String)],
    ) -> std::result::Result<Vec<Hit>, Box<Response>> {
        let bad = |msg: String| {
            Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "ModelArts.4204",
                msg,
            ))
        };
        let mut req = search_request(params, &self.cfg.as_of).map_err(bad)?;
        let store = self.store();
        let scopes = store
            .scope_ids_of_project(project_id)
            .map_err(internal_error)?;
        if scopes.is_empty() {
            return Err(Box::new(unknown_project(project_id)));
        }
        req.resolve(&store).map_err(|e| match e {
            Error::Usage(m) => bad(Invalid::AsOf(m).as_parameter()),
            other => internal_error(other),
        })?;
        let req = req.with_scopes(scopes);
        drop(store);
        self.run_search(&req).map_err(|e| match e {
            Error::Usage(m) => bad(m),
            other => internal_error(other),
        })
    }

    /// Runs a search whose point in time is resolved, with the index level with the mirror.
    pub(crate) fn run_search(&self, req: &SearchRequest) -> Result<Vec<Hit>> {
        let store = self.store();
        let index = self.search_index(&store)?;
        drop(store);
        match index.search(req) {
            Err(e) if !matches!(e, Error::Usage(_)) => {
                // Damage the open could not see: heal under the store's lock, so that
                // concurrent requests rebuild it once.
                let store = self.store();
                let current = self.search_index(&store)?;
                let (hits, healed) = current.search_or_heal(&store, req)?;
                if let Some(healed) = healed {
                    *self.index.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(healed));
                }
                Ok(hits)
            }
            answer => answer,
        }
    }

    /// The point in time served when a request names none.
    pub(crate) fn default_as_of(&self) -> &str {
        &self.cfg.as_of
    }

    /// How requests must authenticate (`--require-auth`).
    pub(crate) fn require_auth(&self) -> &RequireAuth {
        &self.cfg.require_auth
    }

    /// Runs `f` with the mirror's read connection.
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        f(&self.store())
    }

    /// The committed run a request's `as_of` names and the scopes of its project, or the
    /// error response.
    fn point(
        &self,
        project_id: &str,
        as_of: &str,
    ) -> std::result::Result<(i64, Vec<i64>), Box<Response>> {
        let bad_as_of = |e: Error| {
            Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "ModelArts.4204",
                format!("invalid parameter `as_of`: {e}"),
            ))
        };
        let when = When::parse(as_of, chrono::Utc::now()).map_err(bad_as_of)?;
        let store = self.store();
        let scopes = store
            .scope_ids_of_project(project_id)
            .map_err(internal_error)?;
        if scopes.is_empty() {
            return Err(Box::new(unknown_project(project_id)));
        }
        let run = store.resolve(&when).map_err(|e| match e {
            Error::Usage(_) => bad_as_of(e),
            other => internal_error(other),
        })?;
        Ok((run.run_id, scopes))
    }

    /// One page of a project's catalog at `as_of`, answered from the mirror's indexes.
    fn page(
        &self,
        project_id: &str,
        as_of: &str,
        q: &Query,
    ) -> std::result::Result<String, Box<Response>> {
        let (run_id, scopes) = self.point(project_id, as_of)?;
        let store = self.store();
        let ids = self
            .selections
            .get_or_make(selections::Key::new(run_id, &scopes, q), || {
                store.select_all(run_id, q, Some(&scopes))
            })
            .map_err(internal_error)?;
        let window = self.cfg.paging.window(q, ids.len() as u64);
        let objects = store
            .objects(&ids[window.start as usize..window.end as usize])
            .map_err(internal_error)?;
        drop(store);
        // Stored objects are the canonical JSON the API sent: served as they are, checked to
        // be JSON (a damaged row is a 500, not a broken body).
        let served = objects
            .into_iter()
            .map(|(_, raw)| RawValue::from_string(raw))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                internal_error(Error::internal(format!("a stored image is not JSON: {e}")))
            })?;
        Ok(apiserver::page_json(
            &window,
            served.iter().map(|r| r.as_ref()),
        ))
    }

    /// One image of a project's catalog at `as_of` (the first scope's, when several hold its id).
    fn image(
        &self,
        project_id: &str,
        as_of: &str,
        id: &str,
    ) -> std::result::Result<Response, Box<Response>> {
        let (run_id, scopes) = self.point(project_id, as_of)?;
        let raw = self
            .store()
            .live_raw_in_scopes(run_id, id, &scopes)
            .map_err(internal_error)?;
        Ok(match raw {
            None => apiserver::unknown_image(id),
            // The canonical JSON the API sent, as a page of the listing sends it.
            Some(raw) => {
                crate::output::json::stored_object(&raw, id).map_err(internal_error)?;
                apiserver::json_response(raw)
            }
        })
    }
}

/// The routes over an open mirror (the API under `/v1/`, the pages for people beside it);
/// every request is authenticated first.
pub fn router(mirror: Arc<Mirror>) -> Router {
    Router::new()
        .route("/v1/{project_id}/images", get(list_images))
        .route("/v1/{project_id}/images/search", get(search_images))
        .route(
            "/feed.atom",
            get(|State(m): State<Arc<Mirror>>| atom(m, None)),
        )
        .route(
            "/watches/{name}/feed.atom",
            get(|State(m): State<Arc<Mirror>>, UrlPath(n): UrlPath<String>| atom(m, Some(n))),
        )
        .route("/v1/{project_id}/images/{id}", get(show_image))
        .merge(crate::web::router())
        .layer(axum::middleware::from_fn_with_state(
            mirror.clone(),
            authenticate,
        ))
        .with_state(mirror)
}

/// Refuses a request `--require-auth` does not accept, before any route sees it.
async fn authenticate(
    State(mirror): State<Arc<Mirror>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !request.uri().path().starts_with("/v1/") {
        // Pages: a browser signs in once (a session cookie), see `crate::web`.
        return crate::web::authenticate(&mirror, request, next).await;
    }
    let (method, uri, headers) = (request.method(), request.uri(), request.headers());
    match mirror.cfg.require_auth.check(method.as_str(), uri, headers) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused,
    }
}

/// Runs `f` (which reads the database or the index) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, Box<Response>> + Send + 'static,
) -> std::result::Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(response)) => Err(*response),
        Err(e) => Err(*internal_error(Error::internal(format!(
            "internal error: {e}"
        )))),
    }
}

async fn list_images(
    State(mirror): State<Arc<Mirror>>,
    UrlPath(project_id): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (pairs, q) = parse_params(query.as_deref());
    let q = match q {
        Ok(q) => q,
        Err(bad) => return bad,
    };
    let as_of = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "as_of")
        .map_or(mirror.cfg.as_of.clone(), |(_, v)| v.clone());
    match blocking(move || mirror.page(&project_id, &as_of, &q)).await {
        Ok(body) => apiserver::json_response(body),
        Err(response) => response,
    }
}

/// The Atom feed of the catalog, or of one watch (`crate::feed`); an unknown watch is 404.
async fn atom(mirror: Arc<Mirror>, watch: Option<String>) -> Response {
    use axum::response::IntoResponse;
    let limit = crate::feed::DEFAULT_LIMIT;
    let feed = blocking(move || {
        let store = mirror.store();
        match &watch {
            Some(name) => crate::feed::watch_feed(&store, name, limit),
            None => crate::feed::catalog_feed(&store, limit),
        }
        .map_err(|e| match e {
            Error::Usage(m) => Box::new((StatusCode::NOT_FOUND, m).into_response()),
            other => internal_error(other),
        })
    });
    match feed.await {
        Ok(xml) => (
            [("content-type", "application/atom+xml; charset=utf-8")],
            xml,
        )
            .into_response(),
        Err(response) => response,
    }
}

/// `GET /v1/{project_id}/images/{id}` (the SDK's `show_image`): the image object as the list API
/// returned it, in the project's catalog at `as_of` (the served point in time by default).
async fn show_image(
    State(mirror): State<Arc<Mirror>>,
    UrlPath((project_id, id)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let as_of = crate::api::sign::parse_query(query.as_deref().unwrap_or(""))
        .into_iter()
        .rev()
        .find(|(k, _)| k == "as_of")
        .map_or(mirror.cfg.as_of.clone(), |(_, v)| v);
    match blocking(move || mirror.image(&project_id, &as_of, &id)).await {
        Ok(response) | Err(response) => response,
    }
}

fn internal_error(e: Error) -> Box<Response> {
    Box::new(error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ModelArts.0001",
        e.to_string(),
    ))
}

/// The search a request's parameters ask for: those of `macat search`, named as its flags are
/// with `_` for `-` (`q`, `limit`, `as_of`, `include_removed`, and the filters), checked by
/// [`SearchRequest`]. The last value of a repeated parameter wins, as in the list endpoint.
pub(crate) fn search_request(
    params: &[(String, String)],
    default_as_of: &str,
) -> std::result::Result<SearchRequest, String> {
    let get = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let query = match get("q") {
        Some(q) if !q.trim().is_empty() => q,
        _ => return Err("parameter `q` is required: what to search for".into()),
    };
    let include_removed = match get("include_removed") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(format!(
                "invalid parameter `include_removed`: {v:?} (true or false)"
            ))
        }
    };
    let checked = || -> std::result::Result<SearchRequest, Invalid> {
        let mut req = SearchRequest::new(query)?.with_include_removed(include_removed);
        if let Some(limit) = get("limit") {
            req = req.with_limit_text(limit)?;
        }
        for name in crate::index::request::FILTERS {
            if let Some(v) = get(name) {
                req = req.with_filter(name, v)?;
            }
        }
        req.with_as_of(get("as_of").unwrap_or(default_as_of), chrono::Utc::now())
    };
    checked().map_err(|e| e.as_parameter())
}

async fn search_images(
    State(mirror): State<Arc<Mirror>>,
    UrlPath(project_id): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    // Form encoding: `+` is a space here (`q=mindspore+2.2`, as browsers and HTML forms send
    // it); a literal plus comes as %2B. (The list endpoint keeps `+` literal: SDK clients send
    // spaces as %20 and sign exactly what they send.)
    let form = query.as_deref().unwrap_or("").replace('+', "%20");
    let params = crate::api::sign::parse_query(&form);
    match blocking(move || mirror.search(&project_id, &params)).await {
        Ok(hits) => apiserver::json_response(serde_json::to_string(&hits).unwrap_or_default()),
        Err(response) => response,
    }
}
