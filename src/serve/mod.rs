//! `macat serve`: the mirror, read-only, as the same images API, for clients that cannot reach
//! the cloud (air-gapped networks, CI without credentials) or want a past date.
//!
//! Every project in the mirror is served at `GET /v1/{project_id}/images` with the API's query
//! parameters and bodies (the HTTP layer is [`crate::apiserver`]'s, shared with the simulator),
//! plus `as_of=WHEN` to read the catalog at any point in time. Reads use their own connection
//! in WAL mode, so they never block a running sync and always see a committed run. The catalog
//! of a (project, run) is loaded once and kept while it is asked for.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::api::types::Item;
use crate::apiserver::{self, error_response, parse_params, unknown_project, Catalog, RequireAuth};
use crate::catalog::Paging;
use crate::error::{Error, Result};
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

/// How many (project, run) catalogs stay loaded.
const CACHED_CATALOGS: usize = 4;

/// Loaded catalogs, oldest first, by (project id, run id).
type CatalogCache = Mutex<Vec<((String, i64), Arc<Catalog>)>>;

pub struct Mirror {
    cfg: ServeConfig,
    store: Mutex<Store>,
    catalogs: CatalogCache,
}

impl Mirror {
    /// Opens the mirror; checks that the default point in time exists.
    pub fn open(cfg: ServeConfig) -> Result<Mirror> {
        let store = Store::open_existing(&cfg.db)?;
        store.resolve(&When::parse(&cfg.as_of, chrono::Utc::now())?)?;
        Ok(Mirror {
            cfg,
            store: Mutex::new(store),
            catalogs: Mutex::new(Vec::new()),
        })
    }

    pub fn db(&self) -> &Path {
        &self.cfg.db
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The catalog of a project at a point in time, or the error response.
    fn catalog(
        &self,
        project_id: &str,
        as_of: &str,
    ) -> std::result::Result<Arc<Catalog>, Box<Response>> {
        let bad_as_of = |e: Error| {
            Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "ModelArts.4204",
                format!("invalid parameter `as_of`: {e}"),
            ))
        };
        let when = When::parse(as_of, chrono::Utc::now()).map_err(bad_as_of)?;
        let store = self.store();
        let internal = |e: Error| {
            Box::new(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ModelArts.0001",
                e.to_string(),
            ))
        };
        if !store
            .projects()
            .map_err(internal)?
            .iter()
            .any(|p| p == project_id)
        {
            return Err(Box::new(unknown_project(project_id)));
        }
        let run = store.resolve(&when).map_err(|e| match e {
            Error::Usage(_) => bad_as_of(e),
            other => internal(other),
        })?;
        let key = (project_id.to_string(), run.run_id);
        {
            let cached = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, c)) = cached.iter().find(|(k, _)| *k == key) {
                return Ok(c.clone());
            }
        }
        let mut images = Vec::new();
        store
            .for_each_live_in_project(run.run_id, project_id, |raw| {
                let item = Item::from_raw(raw).map_err(Error::internal)?;
                images.push(apiserver::served(item).map_err(Error::internal)?);
                Ok(())
            })
            .map_err(internal)?;
        drop(store);
        let catalog = Arc::new(Catalog::new(images));
        let mut cached = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
        if cached.len() >= CACHED_CATALOGS {
            cached.remove(0);
        }
        cached.push((key, catalog.clone()));
        Ok(catalog)
    }
}

/// The routes over an open mirror.
pub fn router(mirror: Arc<Mirror>) -> Router {
    Router::new()
        .route("/v1/{project_id}/images", get(list_images))
        .with_state(mirror)
}

/// Serves until `shutdown` resolves. The caller binds the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    mirror: Arc<Mirror>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(mirror))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn list_images(
    State(mirror): State<Arc<Mirror>>,
    UrlPath(project_id): UrlPath<String>,
    RawQuery(query): RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = mirror
        .cfg
        .require_auth
        .check(method.as_str(), &uri, &headers)
    {
        return refused;
    }
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
    let m = mirror.clone();
    // Loading a catalog reads the database: keep it off the async workers.
    let catalog = match tokio::task::spawn_blocking(move || m.catalog(&project_id, &as_of)).await {
        Ok(Ok(c)) => c,
        Ok(Err(response)) => return *response,
        Err(e) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ModelArts.0001",
                format!("internal error: {e}"),
            )
        }
    };
    apiserver::json_response(catalog.page_body(&q, &mirror.cfg.paging))
}
