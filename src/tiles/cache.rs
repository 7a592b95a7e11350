//! The tile cache: rendered tiles in memory, bounded in bytes, keyed by the dataset version.
//!
//! A new version has a new key, so it can never be answered with a tile of the old one and
//! nothing needs purging: old entries age out. Each tile is compressed (brotli and gzip) once,
//! when it is stored; every form is kept so that no request compresses again.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use moka::future::Cache;

use super::tms::TileCoord;
use crate::catalog::Collection;
use crate::error::{Error, Result};

/// Default budget: enough for the low zooms of every collection of a county.
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

/// Renders at once unless configured: a few per core, well below the database pool, so
/// that pages and the nearest-AED search always find a connection.
pub const DEFAULT_RENDERS: usize = 8;

/// What identifies a tile: collection, version, tile matrix set, z, x, y.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub collection: String,
    pub version: i64,
    pub tms: &'static str,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// Fingerprint of the collection's tile settings: changing them changes every key.
    pub settings: u64,
}

impl TileKey {
    /// The key of tile `t` of `collection` in `tms`.
    pub fn new(collection: &Collection, tms: &'static str, t: TileCoord) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        collection.tiles.hash(&mut hasher);
        Self {
            collection: collection.id.clone(),
            version: collection.version.id,
            tms,
            z: t.z,
            x: t.x,
            y: t.y,
            settings: hasher.finish(),
        }
    }

    /// A strong ETag: the bytes of a key in one coding never change.
    pub fn etag(&self, coding: Coding) -> String {
        format!(
            "\"{}-v{}-{:x}-{}-{}-{}-{}{}\"",
            self.collection,
            self.version,
            self.settings,
            self.tms,
            self.z,
            self.y,
            self.x,
            match coding {
                Coding::Brotli => "-br",
                Coding::Gzip => "-gz",
                Coding::Identity => "",
            }
        )
    }
}

/// A rendered tile in each encoding; empty when the tile has no features.
#[derive(Debug)]
pub struct CachedTile {
    pub raw: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
}

/// The content codings tiles are stored in, most compact first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    /// The `Content-Encoding` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
            Self::Identity => "identity",
        }
    }
}

impl CachedTile {
    /// The bytes in `coding`.
    pub fn body(&self, coding: Coding) -> Bytes {
        match coding {
            Coding::Brotli => self.brotli.clone(),
            Coding::Gzip => self.gzip.clone(),
            Coding::Identity => self.raw.clone(),
        }
    }
}

impl CachedTile {
    pub fn new(raw: Vec<u8>) -> Result<Self> {
        if raw.is_empty() {
            return Ok(Self {
                raw: Bytes::new(),
                gzip: Bytes::new(),
                brotli: Bytes::new(),
            });
        }
        let mut brotli = Vec::with_capacity(raw.len() / 2);
        {
            // Quality 5: most of brotli's gain over gzip at a fraction of its top levels' time.
            let mut writer = brotli::CompressorWriter::new(&mut brotli, 4096, 5, 22);
            writer
                .write_all(&raw)
                .map_err(|e| Error::Internal(format!("brotli: {e}")))?;
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::fast());
        encoder
            .write_all(&raw)
            .map_err(|e| Error::Internal(format!("gzip: {e}")))?;
        let gzip = encoder
            .finish()
            .map_err(|e| Error::Internal(format!("gzip: {e}")))?;
        Ok(Self {
            raw: raw.into(),
            gzip: gzip.into(),
            brotli: brotli.into(),
        })
    }

    fn weight(&self) -> u32 {
        u32::try_from(self.raw.len() + self.gzip.len() + self.brotli.len() + 128)
            .unwrap_or(u32::MAX)
    }
}

/// Rendered tiles, bounded by their size in bytes.
#[derive(Clone)]
pub struct TileCache {
    tiles: Cache<TileKey, Arc<CachedTile>>,
    /// Bounds the renders that run at once; hits never wait for it.
    renders: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache")
            .field("entries", &self.tiles.entry_count())
            .field("bytes", &self.tiles.weighted_size())
            .finish()
    }
}

impl TileCache {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            tiles: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, tile: &Arc<CachedTile>| tile.weight())
                .build(),
            renders: Arc::new(tokio::sync::Semaphore::new(DEFAULT_RENDERS)),
        }
    }

    /// At most `renders` tiles rendered at once (at least one).
    pub fn with_render_limit(mut self, renders: usize) -> Self {
        self.renders = Arc::new(tokio::sync::Semaphore::new(renders.max(1)));
        self
    }

    /// The cached tile, or the one `render` makes (concurrent misses of one key render once).
    pub async fn get_or_render<F>(&self, key: TileKey, render: F) -> Result<(Arc<CachedTile>, bool)>
    where
        F: std::future::Future<Output = Result<Vec<u8>>>,
    {
        if let Some(tile) = self.tiles.get(&key).await {
            crate::metrics::tile_cache(true);
            return Ok((tile, true));
        }
        crate::metrics::tile_cache(false);
        let renders = self.renders.clone();
        let tile = self
            .tiles
            .try_get_with(key, async move {
                let _slot = renders
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::Internal("the tile renderer is closed".into()))?;
                CachedTile::new(render.await?).map(Arc::new)
            })
            .await
            .map_err(|e| match Arc::try_unwrap(e) {
                Ok(e) => e,
                Err(shared) => Error::for_another(&shared),
            })?;
        Ok((tile, false))
    }

    /// Tiles held and their bytes (every encoding).
    pub async fn usage(&self) -> (u64, u64) {
        // moka counts lazily; settle pending inserts and evictions first.
        self.tiles.run_pending_tasks().await;
        (self.tiles.entry_count(), self.tiles.weighted_size())
    }
}
