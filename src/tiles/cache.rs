//! The tile cache: rendered tiles in memory, bounded in bytes, keyed by the dataset version.
//!
//! A new version has a new key, so it can never be answered with a tile of the old one and
//! nothing needs purging: old entries age out. A tile is compressed in a coding (brotli, gzip)
//! when the first request asks for that coding, and kept in it, so that no later request
//! compresses again and no coding nobody asked for is made.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::{Arc, OnceLock};

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
        use std::fmt::Write;
        // Written into one allocation of the right size: every tile answer, hits included,
        // makes one.
        let mut tag = String::with_capacity(self.collection.len() + self.tms.len() + 64);
        let _ = write!(
            tag,
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
        );
        tag
    }
}

/// A rendered tile: the MVT bytes and each compressed form once a request has asked for it;
/// empty when the tile has no features.
///
/// Compressing on demand keeps a cold tile's first answer to one compression: brotli (quality
/// 5) of a 200 kB tile takes about 10 ms, six times its gzip, and a map in a browser only ever
/// asks for brotli, a GIS client only for gzip.
#[derive(Debug)]
pub struct CachedTile {
    pub raw: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
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
    /// A tile of these MVT bytes, not compressed yet.
    pub fn new(raw: Vec<u8>) -> Self {
        Self {
            raw: raw.into(),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    /// The bytes in `coding`, compressed now if no request has needed them before.
    pub fn body(&self, coding: Coding) -> Result<Bytes> {
        let (cell, compress): (_, Compressor) = match coding {
            Coding::Identity => return Ok(self.raw.clone()),
            Coding::Gzip => (&self.gzip, gzip),
            Coding::Brotli => (&self.brotli, brotli),
        };
        if let Some(body) = cell.get() {
            return Ok(body.clone());
        }
        let body = if self.raw.is_empty() {
            Bytes::new()
        } else {
            Bytes::from(compress(&self.raw)?)
        };
        // Two requests that raced both compressed; the first stored form is the one served.
        Ok(cell.get_or_init(|| body).clone())
    }

    /// Whether `coding` is ready to send without compressing.
    fn has(&self, coding: Coding) -> bool {
        match coding {
            Coding::Identity => true,
            Coding::Gzip => self.gzip.get().is_some(),
            Coding::Brotli => self.brotli.get().is_some(),
        }
    }

    /// Bytes held: the MVT bytes and the forms made so far. A tile is stored again whenever a
    /// form is added, so that the cache weighs what it holds.
    fn weight(&self) -> u32 {
        let made = |cell: &OnceLock<Bytes>| cell.get().map_or(0, Bytes::len);
        u32::try_from(self.raw.len() + made(&self.gzip) + made(&self.brotli) + 128)
            .unwrap_or(u32::MAX)
    }
}

type Compressor = fn(&[u8]) -> Result<Vec<u8>>;

fn brotli(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() / 2);
    {
        // Quality 5: most of brotli's gain over gzip at a fraction of its top levels' time. A
        // window just larger than the tile compresses as well as the largest and spares
        // clearing megabytes of buffers for every tile.
        let window = (raw.len() + 16)
            .max(1 << 10)
            .next_power_of_two()
            .trailing_zeros()
            .min(22);
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, window);
        writer
            .write_all(raw)
            .map_err(|e| Error::Internal(format!("brotli: {e}")))?;
    }
    Ok(out)
}

fn gzip(raw: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::fast());
    encoder
        .write_all(raw)
        .map_err(|e| Error::Internal(format!("gzip: {e}")))?;
    encoder
        .finish()
        .map_err(|e| Error::Internal(format!("gzip: {e}")))
}

/// A tile as one request gets it.
#[derive(Debug)]
pub struct Served {
    /// The body in the coding asked for; empty when the tile has no features.
    pub body: Bytes,
    /// Whether the tile has no features (its body is empty in every coding).
    pub empty: bool,
    /// Whether it came from the cache.
    pub hit: bool,
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

    /// The tile in `coding`: cached, or rendered by `render` (concurrent misses of one key
    /// render once).
    pub async fn get_or_render<F>(&self, key: TileKey, coding: Coding, render: F) -> Result<Served>
    where
        F: std::future::Future<Output = Result<Vec<u8>>>,
    {
        let cached = self.tiles.get(&key).await;
        let hit = cached.is_some();
        crate::metrics::tile_cache(hit);
        let tile = if let Some(tile) = cached {
            tile
        } else {
            let renders = self.renders.clone();
            self.tiles
                .try_get_with(key.clone(), async move {
                    let raw = {
                        let _slot = renders
                            .acquire_owned()
                            .await
                            .map_err(|_| Error::Internal("the tile renderer is closed".into()))?;
                        render.await?
                    };
                    // Compressed before it is stored, so that it is weighed with this form.
                    let tile = CachedTile::new(raw);
                    tile.body(coding)?;
                    Ok(Arc::new(tile))
                })
                .await
                .map_err(|e| match Arc::try_unwrap(e) {
                    Ok(e) => e,
                    Err(shared) => Error::for_another(&shared),
                })?
        };
        // The first request for this coding (another request rendered the tile, or asked for
        // another coding) compresses it; the tile is stored again to be weighed with the form.
        let made = tile.has(coding);
        let served = Served {
            body: tile.body(coding)?,
            empty: tile.raw.is_empty(),
            hit,
        };
        if !made {
            self.tiles.insert(key, tile).await;
        }
        Ok(served)
    }

    /// The tile in `coding` if it is held in that coding already: nothing to render or
    /// compress. Counted as a hit by the caller once it answers with it.
    pub async fn ready(&self, key: &TileKey, coding: Coding) -> Option<Served> {
        let tile = self.tiles.get(key).await?;
        if !tile.has(coding) {
            return None;
        }
        Some(Served {
            body: tile.body(coding).ok()?,
            empty: tile.raw.is_empty(),
            hit: true,
        })
    }

    /// Tiles held and their bytes (every encoding).
    pub async fn usage(&self) -> (u64, u64) {
        // moka counts lazily; settle pending inserts and evictions first.
        self.tiles.run_pending_tasks().await;
        (self.tiles.entry_count(), self.tiles.weighted_size())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn key(x: u32) -> TileKey {
        TileKey {
            collection: "parcels".into(),
            version: 1,
            tms: "WebMercatorQuad",
            z: 15,
            x,
            y: 10634,
            settings: 0,
        }
    }

    fn mvt_like() -> Vec<u8> {
        (0..20_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    fn decoded(coding: Coding, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match coding {
            Coding::Gzip => {
                flate2::read::GzDecoder::new(body)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Coding::Brotli => {
                brotli::Decompressor::new(body, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Coding::Identity => out.extend_from_slice(body),
        }
        out
    }

    #[tokio::test]
    async fn a_tile_is_compressed_in_a_coding_when_first_asked_for_it() {
        let cache = TileCache::new(64 << 20);
        let raw = mvt_like();
        let served = cache
            .get_or_render(key(1), Coding::Gzip, std::future::ready(Ok(raw.clone())))
            .await
            .unwrap();
        assert!(!served.hit && !served.empty);
        assert_eq!(decoded(Coding::Gzip, &served.body), raw);
        let tile = cache.tiles.get(&key(1)).await.unwrap();
        assert!(tile.has(Coding::Gzip) && !tile.has(Coding::Brotli));
        let gzip_len = tile.body(Coding::Gzip).unwrap().len();
        // Weighed as held: the MVT bytes and the gzip form.
        assert_eq!(tile.weight() as usize, raw.len() + gzip_len + 128);
        assert_eq!(cache.usage().await.1 as usize, raw.len() + gzip_len + 128);
        for coding in [Coding::Brotli, Coding::Gzip, Coding::Identity] {
            let again = cache
                .get_or_render(key(1), coding, async { panic!("rendered again") })
                .await
                .unwrap();
            assert!(again.hit);
            assert_eq!(decoded(coding, &again.body), raw);
        }
        // Stored again with its brotli form and weighed with it.
        let tile = cache.tiles.get(&key(1)).await.unwrap();
        assert!(tile.has(Coding::Brotli));
        let brotli_len = tile.body(Coding::Brotli).unwrap().len();
        assert!(
            brotli_len < gzip_len,
            "brotli {brotli_len}, gzip {gzip_len}"
        );
        assert_eq!(
            cache.usage().await.1 as usize,
            raw.len() + gzip_len + brotli_len + 128
        );
    }

    #[tokio::test]
    async fn concurrent_misses_render_once_and_each_gets_its_coding() {
        let cache = TileCache::new(64 << 20);
        let raw = mvt_like();
        let renders = std::sync::atomic::AtomicUsize::new(0);
        let render = || async {
            renders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok(raw.clone())
        };
        let (a, b) = tokio::join!(
            cache.get_or_render(key(2), Coding::Brotli, render()),
            cache.get_or_render(key(2), Coding::Identity, render()),
        );
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(decoded(Coding::Brotli, &a.unwrap().body), raw);
        assert_eq!(b.unwrap().body, raw);
    }

    #[tokio::test]
    async fn an_empty_tile_is_empty_in_every_coding() {
        let cache = TileCache::new(1 << 20);
        for coding in [Coding::Brotli, Coding::Gzip, Coding::Identity] {
            let served = cache
                .get_or_render(key(3), coding, std::future::ready(Ok(Vec::new())))
                .await
                .unwrap();
            assert!(served.empty && served.body.is_empty());
        }
    }
}
