//! Shared state of the HTTP handlers.

use sqlx::PgPool;

/// Settings of the HTTP API. The same struct is `kreisgeo serve`'s options and environment
/// variables (its doc comments are their help) and what the library takes, so that a new
/// setting is one field here plus its use.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiConfig {
    /// Public base URL for links, when behind a proxy (e.g. https://geo.example.de).
    #[arg(long, env = "KREISGEO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Believe the client address, host and scheme in Forwarded/X-Forwarded-For/-Host/-Proto
    /// (rate limits, logs, links); only behind a proxy that sets them.
    #[arg(long, env = "KREISGEO_TRUST_FORWARDED")]
    pub trust_forwarded: bool,
    /// Largest upload the admin API accepts, in bytes (streamed to disk, never held in memory).
    #[arg(long, env = "KREISGEO_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// Memory for rendered vector tiles, in bytes (both encodings of each tile count).
    #[arg(long, env = "KREISGEO_TILE_CACHE_BYTES", default_value_t = crate::tiles::cache::DEFAULT_CACHE_BYTES)]
    pub tile_cache_bytes: u64,
    /// Render WebMercatorQuad tiles up to this zoom (and AdV tiles to the same detail) into
    /// the cache in the background at start-up and after each admin ingest [default: on
    /// demand only].
    #[arg(long, env = "KREISGEO_SEED_MAX_ZOOM", value_parser = clap::value_parser!(u8).range(0..=20))]
    pub seed_max_zoom: Option<u8>,
    /// Build no Web Mercator copies of served versions for their tiles. By default one is built
    /// in the background after each load: a dense tile draws a fifth faster, for about 1.4
    /// times the version's size on disk. Copies built before are still used, and dropped as
    /// their versions stop being served.
    #[arg(long, env = "KREISGEO_NO_TILE_TABLES")]
    pub no_tile_tables: bool,
    /// How long the catalog (DCAT and CKAN) lists a deleted dataset as deleted, in days.
    #[arg(long, env = "KREISGEO_DELETED_RETENTION_DAYS", default_value_t = 30)]
    pub deleted_retention_days: u32,
    /// Ingest jobs run at once; further uploads wait queued.
    #[arg(long, env = "KREISGEO_MAX_CONCURRENT_INGESTS", default_value_t = 1)]
    pub max_concurrent_ingests: usize,
    /// Tiles rendered at once (cache hits never wait); each server gets this many tile
    /// connections, plus 4.
    #[arg(long, env = "KREISGEO_MAX_CONCURRENT_RENDERS", default_value_t = crate::tiles::cache::DEFAULT_RENDERS)]
    pub max_concurrent_renders: usize,
    /// A hard rate: requests a second one client may sustain on the public API [default:
    /// none; --requests-per-client refuses floods, and a client asking one request at a time
    /// is never refused].
    #[arg(long, env = "KREISGEO_RATE_LIMIT", default_value_t = 0)]
    pub rate_limit: u32,
    /// Requests one client may send at once after a quiet moment.
    #[arg(long, env = "KREISGEO_RATE_BURST", default_value_t = 400)]
    pub rate_burst: u32,
    /// The OSM dataset the basemap is drawn from [default: the first dataset of kind osm].
    #[arg(long, env = "KREISGEO_BASEMAP")]
    pub basemap: Option<String>,
    /// Walking speed for the minutes of walking routes (`mode=walk`), km/h.
    #[arg(long, env = "KREISGEO_WALK_SPEED_KMH", default_value_t = 5.0)]
    pub walk_speed_kmh: f64,
    /// A point or feature farther than this from every walkable way (metres) is not on the
    /// walking network: a start is refused, a feature reported unreachable.
    #[arg(long, env = "KREISGEO_WALK_SNAP_M", default_value_t = 250.0)]
    pub walk_snap_m: f64,
    /// Walking distances from every node of the network to the defibrillators within this
    /// many metres are computed once per version (pgRouting) and answer nearest questions from
    /// memory; questions whose answer reaches farther, and all with 0, search the network
    /// around their point.
    #[arg(long, env = "KREISGEO_WALK_REACH_M", default_value_t = 1000.0)]
    pub walk_reach_m: f64,
    /// Hosts the harvest may fetch from although they resolve to loopback or private
    /// addresses (a neighbour on the county's own network); comma-separated.
    #[arg(long, env = "KREISGEO_HARVEST_ALLOW_HOSTS", value_delimiter = ',')]
    pub harvest_allow_hosts: Vec<String>,
    /// An external MapLibre style for the maps instead of kreisgeo's own basemap (e.g.
    /// basemap.de Web Vektor); the pages' content security policy admits its origin only, and
    /// the map says that the basemap is loaded from there.
    #[arg(long, env = "KREISGEO_BASEMAP_STYLE")]
    pub basemap_style: Option<String>,
    /// Origins browsers may read the API from (comma-separated) [default: any].
    #[arg(long, env = "KREISGEO_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Requests of one client (address) handled at once; eight times as many more wait for
    /// one of its own, further ones get 429 [default: a quarter of --db-connections, at
    /// least 2].
    #[arg(long, env = "KREISGEO_REQUESTS_PER_CLIENT")]
    pub requests_per_client: Option<usize>,
    /// How long a request waits for its client's place before it answers 503: no longer
    /// than one of the client's own may take, the statement timeout, which the server sets
    /// here.
    #[arg(skip = DEFAULT_CLIENT_WAIT)]
    pub client_wait: std::time::Duration,
    /// An ingest job running longer is stopped and fails (the served version stays).
    #[arg(long, env = "KREISGEO_INGEST_TIME_LIMIT", default_value = "6h", value_parser = humantime::parse_duration)]
    pub ingest_time_limit: std::time::Duration,
    /// Uploads that may wait for an ingest slot; more are refused with 503.
    #[arg(long, env = "KREISGEO_MAX_QUEUED_INGESTS", default_value_t = 8)]
    pub max_queued_ingests: usize,
    /// The Land whose public holidays opening hours (`PH`) follow: NI, BY, … or its key 03, 09
    /// [default: the Land of the publisher's district key; without one, nationwide holidays].
    #[arg(long, env = "KREISGEO_LAND", value_parser = crate::hours::Land::parse_arg)]
    pub land: Option<crate::hours::Land>,
}

/// Thirty seconds: the default statement timeout.
pub const DEFAULT_CLIENT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// 2 GiB: a Land-wide parcel export as FlatGeobuf fits.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 2 << 30;

impl Default for ApiConfig {
    /// `kreisgeo serve`'s defaults, environment variables included: defined once, by clap.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            api: ApiConfig,
        }
        match <Defaults as clap::Parser>::try_parse_from(["kreisgeo"]) {
            Ok(defaults) => defaults.api,
            Err(e) => panic!("a KREISGEO_* environment variable is invalid: {e}"),
        }
    }
}

impl ApiConfig {
    /// The hard per-client rate, when one is set.
    pub fn rate_limit_config(&self) -> Option<super::ratelimit::RateLimitConfig> {
        let per_second = std::num::NonZeroU32::new(self.rate_limit)?;
        Some(super::ratelimit::RateLimitConfig {
            per_second,
            burst: std::num::NonZeroU32::new(self.rate_burst).unwrap_or(per_second),
            trust_forwarded: self.trust_forwarded,
        })
    }

    /// Requests of one client handled at once, for a public pool of `connections`.
    pub fn requests_per_client(&self, connections: u32) -> usize {
        self.requests_per_client
            .unwrap_or((connections as usize / 4).max(2))
            .max(1)
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
    /// Wakes the builder of derived data (`server::derived`) after an ingest.
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
    /// Defibrillators snapped onto the walking network, per pair of versions.
    pub walk_cache: crate::routing::WalkCache,
    /// The address, place and parcel search's index.
    pub search: crate::search::Search,
    /// The basemap's label glyphs, rendered once per range.
    pub glyphs: crate::basemap::fonts::Glyphs,
    /// The publisher's Land, read at most once a minute ([`AppState::land`]).
    land: moka::future::Cache<(), Option<crate::hours::Land>>,
}

/// How long the publisher's Land is remembered: a publisher entered with the CLI (another
/// process) counts within this; one entered through this node's admin API at once.
const LAND_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    pub fn new(pool: PgPool, config: ApiConfig) -> Self {
        let openapi = super::openapi::openapi();
        let pool_size = pool.options().get_max_connections();
        Self {
            tiles: crate::tiles::cache::TileCache::new(config.tile_cache_bytes)
                .with_render_limit(config.max_concurrent_renders),
            write_pool: pool.clone(),
            reads: crate::db::replicas::ReadRouter::primary_only(
                crate::db::replicas::Pools::shared(pool.clone()),
            ),
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
                config.requests_per_client(pool_size),
                config.client_wait,
            )),
            rate_limit: config
                .rate_limit_config()
                .map(|c| std::sync::Arc::new(super::ratelimit::RateLimit::new(c))),
            glyphs: crate::basemap::fonts::Glyphs::default(),
            search: crate::search::Search::default(),
            walk_cache: crate::routing::WalkCache::default(),
            land: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(LAND_TTL)
                .build(),
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
                move || watch.tripped(&pool, "the catalog listener lost its connection"),
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
        if let Some(cache) = &self.catalog {
            cache.collection(&self.pool, id).await
        } else {
            let c = crate::catalog::repo::require_collection(&self.pool, id).await?;
            Ok((std::sync::Arc::new(c), self.catalog_lsn().await?))
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
        if let Some(cache) = &self.catalog {
            cache.all(&self.pool).await
        } else {
            let all = crate::catalog::repo::list_collections(&self.pool).await?;
            Ok((std::sync::Arc::new(all), self.catalog_lsn().await?))
        }
    }

    /// The publishers, from the catalog cache when there is one (a profile's change is
    /// announced to every process).
    pub async fn publishers(
        &self,
        base: &str,
    ) -> crate::Result<std::sync::Arc<crate::opendata::publishers::Publishers>> {
        use crate::catalog::cache::{Document, EVERYTHING};
        use crate::opendata::publishers::Publishers;
        const KIND: &str = "publishers";
        let Some(cache) = self.catalog.as_deref() else {
            return Ok(std::sync::Arc::new(
                Publishers::load(&self.pool, base).await?,
            ));
        };
        if let Some(Document::Shared(shared)) = cache.document(EVERYTHING, KIND, base).await {
            if let Ok(publishers) = shared.downcast::<Publishers>() {
                return Ok(publishers);
            }
        }
        let generation = cache.generation();
        let publishers = std::sync::Arc::new(Publishers::load(&self.pool, base).await?);
        let document = Document::Shared(publishers.clone());
        cache
            .store_document(EVERYTHING, KIND, base, document, generation)
            .await;
        Ok(publishers)
    }

    /// The primary's WAL position now, for reads of the catalog just read (0 without
    /// replicas, where it is not needed).
    pub async fn catalog_lsn(&self) -> crate::Result<crate::db::replicas::Lsn> {
        if self.reads.has_replicas() {
            crate::db::replicas::primary_lsn(&self.pool).await
        } else {
            Ok(0)
        }
    }

    /// Runs a data read on a server that has replayed `at_least` (see
    /// [`crate::db::replicas::ReadRouter::run`]; tile renders take the tile pools:
    /// `state.reads.run(Lane::Tiles, …)`).
    pub async fn read<T, F, Fut>(
        &self,
        at_least: crate::db::replicas::Lsn,
        read: F,
    ) -> crate::Result<T>
    where
        F: Fn(PgPool) -> Fut,
        Fut: std::future::Future<Output = crate::Result<T>>,
    {
        self.reads
            .run(crate::db::replicas::Lane::Data, at_least, read)
            .await
    }

    /// How people walk, from the settings.
    pub fn walking(&self) -> crate::routing::Walking {
        crate::routing::Walking {
            speed_kmh: self.config.walk_speed_kmh,
            snap_max_m: self.config.walk_snap_m,
            reach_m: self.config.walk_reach_m,
        }
    }

    /// The Land whose holidays apply: the setting, else the publisher's district key (read
    /// once a minute, not per question).
    pub async fn land(&self) -> Option<crate::hours::Land> {
        if self.config.land.is_some() {
            return self.config.land;
        }
        let pool = self.pool.clone();
        self.land
            .get_with((), async move {
                crate::catalog::repo::publisher::<crate::opendata::metadata::Publisher>(&pool)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|p| p.district_key)
                    .and_then(|key| crate::hours::Land::of_key(&key))
            })
            .await
    }

    /// Forgets the publisher's Land, after the publisher changed.
    pub async fn forget_land(&self) {
        self.land.invalidate(&()).await;
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
