//! Shared state of the HTTP handlers.

use sqlx::PgPool;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL used in links (e.g. `https://geo.landkreis-lueneburg.de`). Without it, links are
    /// built from the request's Host and scheme, checked (`api::client`).
    pub public_url: Option<String>,
    /// Believe the client address, host and scheme that a proxy in front forwards
    /// (`Forwarded`, `X-Forwarded-For/-Host/-Proto`); without it they are ignored, since any
    /// client could send them.
    pub trust_forwarded: bool,
    /// Largest upload the admin API accepts.
    pub max_upload_bytes: u64,
    /// Memory the tile cache may use, in bytes.
    pub tile_cache_bytes: u64,
    /// Render WebMercatorQuad tiles up to this zoom (and AdV tiles to the same detail) into the
    /// cache at start-up and after each admin ingest; `None` renders on demand only.
    pub seed_max_zoom: Option<u8>,
    /// How long the catalog lists a deleted dataset as deleted, in days.
    pub deleted_retention_days: u32,
    /// Ingest jobs that run at once; more uploads wait queued.
    pub max_concurrent_ingests: usize,
    /// Tiles rendered at once (cache hits are not limited). Keeps tile rendering from taking
    /// every database connection that pages and the nearest-AED search need.
    pub max_concurrent_renders: usize,
    /// Per-client rate limit of the public API; `None`: unlimited.
    pub rate_limit: Option<super::ratelimit::RateLimitConfig>,
    /// Origins browsers may call the API from; empty: any (open data is for everyone).
    pub cors_origins: Vec<String>,
    /// Requests of one client handled at once (`api::share`); further ones wait for one of
    /// its own to finish.
    pub requests_per_client: usize,
    /// How long a request waits for its client's place before it answers 503.
    pub client_wait: std::time::Duration,
    /// An ingest job running longer is stopped and fails; the served version stays.
    pub ingest_time_limit: std::time::Duration,
    /// Uploads received or waiting for an ingest slot; more are refused with 503 (their bytes
    /// together may be twice the largest upload).
    pub max_queued_ingests: usize,
    /// The Land whose public holidays opening hours know (`PH`); without it, the Land of the
    /// publisher's district key, else the nationwide holidays only.
    pub land: Option<crate::hours::Land>,
}

/// Six hours: a Land's whole cadastre loads in well under one.
pub const DEFAULT_INGEST_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// A quarter of the default pool: one address cannot take more of the database.
pub const DEFAULT_REQUESTS_PER_CLIENT: usize = 4;

/// 2 GiB: a Land-wide parcel export as FlatGeobuf fits.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 2 << 30;

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            trust_forwarded: false,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            tile_cache_bytes: crate::tiles::cache::DEFAULT_CACHE_BYTES,
            seed_max_zoom: None,
            deleted_retention_days: 30,
            max_concurrent_ingests: 1,
            max_concurrent_renders: crate::tiles::cache::DEFAULT_RENDERS,
            rate_limit: None,
            cors_origins: Vec::new(),
            requests_per_client: DEFAULT_REQUESTS_PER_CLIENT,
            client_wait: std::time::Duration::from_secs(30),
            ingest_time_limit: DEFAULT_INGEST_TIME_LIMIT,
            max_queued_ingests: 8,
            land: None,
        }
    }
}

/// The request header naming the lowest dataset version a read must see.
pub const MIN_VERSION_HEADER: &str = "Kreisgeo-Min-Version";

/// [`MIN_VERSION_HEADER`] as the OpenAPI document lists it on the data endpoints.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct MinVersion {
    /// Read-your-writes across nodes: the lowest version of the dataset the answer must come
    /// from (the `version` an ingest job reported). A node that still has an older one
    /// cached reads the catalog again; 412 when that version is not served.
    #[param(rename = "Kreisgeo-Min-Version", value_type = Option<i64>, example = 42)]
    pub min_version: Option<i64>,
}

fn min_version(req: &actix_web::HttpRequest) -> crate::Result<Option<i64>> {
    let Some(value) = req.headers().get(MIN_VERSION_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v > 0)
        .map(Some)
        .ok_or_else(|| {
            crate::Error::invalid(
                MIN_VERSION_HEADER,
                "not a version number (the `version` an ingest returned)",
            )
        })
}

/// What every handler can reach through `web::Data<AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Public reads on the primary (with the statement timeout when serving): the catalog,
    /// and the data when there are no replicas.
    pub pool: PgPool,
    /// Where data reads go: a streaming replica that has replayed what the catalog said, or
    /// the primary (`db::replicas`).
    pub reads: std::sync::Arc<crate::db::replicas::ReadRouter>,
    /// Admin writes and background work: ingest jobs, downloads, the audit log. No statement
    /// timeout: a Land-wide ingest may take minutes.
    pub write_pool: PgPool,
    pub config: ApiConfig,
    /// The OpenAPI document, built once at start-up.
    pub openapi: std::sync::Arc<serde_json::Value>,
    pub tiles: crate::tiles::cache::TileCache,
    /// Wakes the download builder (`downloads::build::spawn`) after an ingest.
    pub downloads: std::sync::Arc<tokio::sync::Notify>,
    /// The served collections in memory, once [`AppState::with_catalog_cache`] started its
    /// listener; without it every request reads the catalog.
    pub catalog: Option<std::sync::Arc<crate::catalog::cache::CatalogCache>>,
    /// Free ingest slots ([`ApiConfig::max_concurrent_ingests`]).
    pub ingest_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Uploads not yet ingesting ([`ApiConfig::max_queued_ingests`]).
    pub ingest_queue: std::sync::Arc<crate::jobs::Queue>,
    /// Whether the database is down, seen from failed requests.
    pub watch: std::sync::Arc<super::watch::DatabaseWatch>,
    pub rate_limit: Option<std::sync::Arc<super::ratelimit::RateLimit>>,
    /// Responses still being sent; shared by every worker.
    pub in_flight: super::middleware::InFlight,
    /// Each client's share of the requests handled at once.
    pub share: std::sync::Arc<super::share::ClientShare>,
}

impl AppState {
    pub fn new(pool: PgPool, config: ApiConfig) -> Self {
        let openapi = super::openapi::openapi();
        Self {
            tiles: crate::tiles::cache::TileCache::new(config.tile_cache_bytes)
                .with_render_limit(config.max_concurrent_renders),
            write_pool: pool.clone(),
            reads: crate::db::replicas::ReadRouter::primary_only(pool.clone()),
            pool,
            openapi: std::sync::Arc::new(openapi),
            downloads: std::sync::Arc::new(tokio::sync::Notify::new()),
            catalog: None,
            ingest_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(
                config.max_concurrent_ingests.max(1),
            )),
            ingest_queue: crate::jobs::Queue::new(
                config.max_queued_ingests,
                config.max_upload_bytes.saturating_mul(2),
            ),
            watch: super::watch::DatabaseWatch::new(),
            in_flight: super::middleware::InFlight::default(),
            share: std::sync::Arc::new(super::share::ClientShare::new(
                config.requests_per_client,
                config.client_wait,
            )),
            rate_limit: config
                .rate_limit
                .map(|c| std::sync::Arc::new(super::ratelimit::RateLimit::new(c))),
            config,
        }
    }

    /// Writes go to `pool` instead of the public pool.
    pub fn with_write_pool(mut self, pool: PgPool) -> Self {
        self.write_pool = pool;
        self
    }

    /// Data reads go to `reads` (replicas) instead of the primary.
    pub fn with_reads(mut self, reads: std::sync::Arc<crate::db::replicas::ReadRouter>) -> Self {
        self.reads = reads;
        self
    }

    /// Caches the served collections, invalidated by the catalog's announcements.
    pub async fn with_catalog_cache(self) -> crate::Result<Self> {
        let listen = self.pool.clone();
        self.with_catalog_cache_on(&listen).await
    }

    /// As [`AppState::with_catalog_cache`], listening on `listen`: a direct connection to the
    /// primary when the pools go through PgBouncer in transaction mode, which cannot relay
    /// LISTEN.
    pub async fn with_catalog_cache_on(mut self, listen: &PgPool) -> crate::Result<Self> {
        let (watch, pool) = (self.watch.clone(), self.pool.clone());
        self.catalog = Some(
            crate::catalog::cache::CatalogCache::listening(
                listen,
                self.reads.has_replicas(),
                move || watch.tripped(&pool),
            )
            .await?,
        );
        Ok(self)
    }

    /// The dataset's active collection, or `NotFound`.
    pub async fn collection(&self, id: &str) -> crate::Result<crate::catalog::Collection> {
        Ok(std::sync::Arc::unwrap_or_clone(
            self.collection_at(id).await?.0,
        ))
    }

    /// The dataset's active collection and the WAL position a replica must have replayed to
    /// read its data ([`AppState::read`]).
    pub async fn collection_at(
        &self,
        id: &str,
    ) -> crate::Result<(
        std::sync::Arc<crate::catalog::Collection>,
        crate::db::replicas::Lsn,
    )> {
        match &self.catalog {
            Some(cache) => cache.collection(&self.pool, id).await,
            None => {
                let c = crate::catalog::repo::require_collection(&self.pool, id).await?;
                Ok((std::sync::Arc::new(c), self.catalog_lsn().await?))
            }
        }
    }

    /// The dataset's active collection as [`AppState::collection_at`], at least at the version
    /// the client names in `Kreisgeo-Min-Version` (read-your-writes across nodes: the version
    /// an ingest through another node returned). A cached older version is read again from the
    /// primary; if the primary does not serve that version either, 412.
    pub async fn served(
        &self,
        req: &actix_web::HttpRequest,
        id: &str,
    ) -> crate::Result<(
        std::sync::Arc<crate::catalog::Collection>,
        crate::db::replicas::Lsn,
    )> {
        let (c, lsn) = self.collection_at(id).await?;
        let Some(min) = min_version(req)? else {
            return Ok((c, lsn));
        };
        if c.version.id >= min {
            return Ok((c, lsn));
        }
        if let Some(cache) = &self.catalog {
            cache.invalidate(id).await;
        }
        let (c, lsn) = self.collection_at(id).await?;
        if c.version.id < min {
            return Err(crate::Error::PreconditionFailed(format!(
                "version {min} of '{id}' is not served (the served version is {})",
                c.version.id
            )));
        }
        Ok((c, lsn))
    }

    /// Every served collection and the WAL position a replica must have replayed to read them.
    pub async fn collections_at(
        &self,
    ) -> crate::Result<(
        std::sync::Arc<Vec<crate::catalog::Collection>>,
        crate::db::replicas::Lsn,
    )> {
        match &self.catalog {
            Some(cache) => cache.all(&self.pool).await,
            None => {
                let all = crate::catalog::repo::list_collections(&self.pool).await?;
                Ok((std::sync::Arc::new(all), self.catalog_lsn().await?))
            }
        }
    }

    /// The primary's WAL position now, for reads of the catalog just read (0 without
    /// replicas, where it is not needed).
    pub async fn catalog_lsn(&self) -> crate::Result<crate::db::replicas::Lsn> {
        match self.reads.has_replicas() {
            true => crate::db::replicas::primary_lsn(&self.pool).await,
            false => Ok(0),
        }
    }

    /// Runs a data read on a server that has replayed `at_least` (see
    /// [`crate::db::replicas::ReadRouter::run`]).
    pub async fn read<T, F, Fut>(
        &self,
        at_least: crate::db::replicas::Lsn,
        read: F,
    ) -> crate::Result<T>
    where
        F: Fn(PgPool) -> Fut,
        Fut: std::future::Future<Output = crate::Result<T>>,
    {
        self.reads.run(at_least, read).await
    }

    /// The Land whose holidays apply: the setting, else the publisher's district key.
    pub async fn land(&self) -> Option<crate::hours::Land> {
        if self.config.land.is_some() {
            return self.config.land;
        }
        crate::catalog::repo::publisher::<crate::opendata::metadata::Publisher>(&self.pool)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.district_key)
            .and_then(|key| crate::hours::Land::of_key(&key))
    }

    /// The base URL for links in a response to `req`, without a trailing slash: the public URL,
    /// else the checked host and scheme the request addressed (the middleware refused any
    /// other before the handler ran).
    pub fn base_url(&self, req: &actix_web::HttpRequest) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => match super::client::authority(req, self.config.trust_forwarded) {
                Ok((scheme, host)) => format!("{scheme}://{host}"),
                Err(_) => format!("http://{}", req.app_config().local_addr()),
            },
        }
    }
}
