//! Shared state of the HTTP handlers.

use sqlx::PgPool;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL used in links (e.g. `https://geo.landkreis-lueneburg.de`). Without it, links are
    /// built from the request's Host and scheme.
    pub public_url: Option<String>,
    /// Largest upload the admin API accepts.
    pub max_upload_bytes: u64,
    /// Memory the tile cache may use, in bytes.
    pub tile_cache_bytes: u64,
    /// Render WebMercatorQuad tiles up to this zoom into the cache at start-up and after each
    /// admin ingest; `None` renders on demand only.
    pub seed_max_zoom: Option<u8>,
    /// How long the catalog lists a deleted dataset as deleted, in days.
    pub deleted_retention_days: u32,
}

/// 2 GiB: a Land-wide parcel export as FlatGeobuf fits.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 2 << 30;

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            tile_cache_bytes: crate::tiles::cache::DEFAULT_CACHE_BYTES,
            seed_max_zoom: None,
            deleted_retention_days: 30,
        }
    }
}

/// What every handler can reach through `web::Data<AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: ApiConfig,
    /// The OpenAPI document, built once at start-up.
    pub openapi: std::sync::Arc<serde_json::Value>,
    pub tiles: crate::tiles::cache::TileCache,
    /// Wakes the download builder (`downloads::build::spawn`) after an ingest.
    pub downloads: std::sync::Arc<tokio::sync::Notify>,
    /// The served collections in memory, once [`AppState::with_catalog_cache`] started its
    /// listener; without it every request reads the catalog.
    pub catalog: Option<std::sync::Arc<crate::catalog::cache::CatalogCache>>,
}

impl AppState {
    pub fn new(pool: PgPool, config: ApiConfig) -> Self {
        let openapi =
            serde_json::to_value(super::openapi::openapi()).unwrap_or(serde_json::Value::Null);
        Self {
            tiles: crate::tiles::cache::TileCache::new(config.tile_cache_bytes),
            pool,
            config,
            openapi: std::sync::Arc::new(openapi),
            downloads: std::sync::Arc::new(tokio::sync::Notify::new()),
            catalog: None,
        }
    }

    /// Caches the served collections, invalidated by the catalog's announcements.
    pub async fn with_catalog_cache(mut self) -> crate::Result<Self> {
        self.catalog = Some(crate::catalog::cache::CatalogCache::listening(&self.pool).await?);
        Ok(self)
    }

    /// The dataset's active collection, or `NotFound`.
    pub async fn collection(&self, id: &str) -> crate::Result<crate::catalog::Collection> {
        match &self.catalog {
            Some(cache) => cache.collection(&self.pool, id).await,
            None => crate::catalog::repo::require_collection(&self.pool, id).await,
        }
    }

    /// The base URL for links in a response to `req`, without a trailing slash.
    pub fn base_url(&self, req: &actix_web::HttpRequest) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            }
        }
    }
}
