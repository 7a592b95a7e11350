//! Pre-seeding: rendering the low zooms of WebMercatorQuad into the cache ahead of the first
//! map, so that nobody waits for a county-wide tile. Runs in the background, one tile at a time,
//! at start-up (every collection) and after an ingest through the admin API (that collection).

use sqlx::PgPool;

use super::cache::{TileCache, TileKey};
use super::mvt;
use super::tms::{TileCoord, TileMatrixSet, WEB_MERCATOR_QUAD};
use crate::catalog::{repo, Collection};
use crate::error::Result;

/// Most tiles one collection's seeding renders: the low zooms of a county are far fewer.
const MAX_TILES: usize = 4_096;

/// The WebMercatorQuad tiles from zoom 0 to `max_zoom` that cover `extent` (CRS84).
pub fn tiles_covering(extent: [f64; 4], max_zoom: u8) -> Vec<TileCoord> {
    let mut tiles = Vec::new();
    for z in 0..=max_zoom.min(20) {
        let n = f64::from(1u32 << z);
        let column = |lon: f64| ((lon + 180.0) / 360.0 * n).floor().clamp(0.0, n - 1.0);
        let row = |lat: f64| {
            let lat = lat.clamp(-85.051_128, 85.051_128).to_radians();
            ((1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * n)
                .floor()
                .clamp(0.0, n - 1.0)
        };
        // In range by the clamps.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (x0, x1, y0, y1) = (
            column(extent[0]) as u32,
            column(extent[2]) as u32,
            row(extent[3]) as u32,
            row(extent[1]) as u32,
        );
        for y in y0..=y1 {
            for x in x0..=x1 {
                if tiles.len() == MAX_TILES {
                    return tiles;
                }
                tiles.push(TileCoord { z, x, y });
            }
        }
    }
    tiles
}

/// Renders the low zooms of one collection into the cache; returns how many tiles.
pub async fn seed_collection(
    pool: &PgPool,
    cache: &TileCache,
    collection: &Collection,
    max_zoom: u8,
) -> Result<usize> {
    let Some(extent) = collection.version.bbox else {
        return Ok(0);
    };
    let tms = TileMatrixSet::find(WEB_MERCATOR_QUAD)?;
    let tiles = tiles_covering(extent, max_zoom);
    for t in &tiles {
        let key = TileKey::new(collection, tms.id, *t);
        cache
            .get_or_render(key, mvt::tile(pool, collection, tms, *t))
            .await?;
    }
    Ok(tiles.len())
}

/// Seeds every collection (`dataset` = None) or one, in the background.
pub fn spawn(pool: PgPool, cache: TileCache, dataset: Option<String>, max_zoom: u8) {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let collections = match &dataset {
            None => repo::list_collections(&pool).await,
            Some(id) => repo::require_collection(&pool, id).await.map(|c| vec![c]),
        };
        let collections = match collections {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "tile seeding: cannot read the catalog");
                return;
            }
        };
        for c in &collections {
            match seed_collection(&pool, &cache, c, max_zoom).await {
                Ok(n) => {
                    tracing::info!(collection = %c.id, version = c.version.id, tiles = n, max_zoom, seconds = started.elapsed().as_secs_f64(), "tiles seeded")
                }
                Err(e) => tracing::warn!(collection = %c.id, error = %e, "tile seeding failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_tiles() {
        let lueneburg = [10.0, 53.0, 11.0, 53.4];
        let tiles = tiles_covering(lueneburg, 8);
        assert_eq!(tiles[0], TileCoord { z: 0, x: 0, y: 0 });
        // One tile per zoom down to 7, two at zoom 8.
        assert_eq!(tiles.iter().filter(|t| t.z == 8).count(), 2);
        assert!(tiles.iter().all(|t| t.z <= 8));
    }
}
