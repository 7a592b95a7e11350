//! Pre-seeding: rendering the low zooms of every tile matrix set (WebMercatorQuad and the AdV
//! grid) into the cache ahead of the first map, so that nobody waits for a county-wide tile.
//! Runs in the background, one tile at a time, at start-up (every collection) and after an
//! ingest through the admin API (that collection).

use sqlx::PgPool;

use super::cache::{Coding, TileCache, TileKey};
use super::mvt;
use super::tms::{TileCoord, TileMatrixSet, TILE_MATRIX_SETS, WEB_MERCATOR_QUAD};
use crate::catalog::{repo, Collection};
use crate::error::Result;

/// Most tiles one collection's seeding renders: the low zooms of a county are far fewer.
const MAX_TILES: usize = 4_096;

/// The tiles of `tms` from zoom 0 to `max_zoom` that cover `extent` (in the set's CRS).
pub fn tiles_covering(tms: &TileMatrixSet, extent: [f64; 4], max_zoom: u8) -> Vec<TileCoord> {
    let mut tiles = Vec::new();
    for z in 0..=max_zoom.min(tms.max_zoom) {
        let side = tms.tile_size(z);
        let last = f64::from(1u32 << z) - 1.0;
        let column = |x: f64| ((x - tms.origin.0) / side).floor().clamp(0.0, last);
        let row = |y: f64| ((tms.origin.1 - y) / side).floor().clamp(0.0, last);
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

/// The deepest zoom of `tms` whose tiles are no smaller on the ground than WebMercatorQuad's
/// at `web_mercator_zoom` around latitude `lat` (Web Mercator stretches by 1/cos(lat)): the
/// same detail seeded in every set.
fn matching_zoom(tms: &TileMatrixSet, web_mercator_zoom: u8, lat: f64) -> u8 {
    if tms.id == WEB_MERCATOR_QUAD {
        return web_mercator_zoom;
    }
    let wm = TileMatrixSet::find(WEB_MERCATOR_QUAD).map_or(0.0, |wm| {
        wm.tile_size(web_mercator_zoom.min(wm.max_zoom)) * lat.to_radians().cos()
    });
    (0..=tms.max_zoom)
        .take_while(|&z| tms.tile_size(z) >= wm * 0.999)
        .last()
        .unwrap_or(0)
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
    let mut seeded = 0;
    for tms in TILE_MATRIX_SETS {
        let native = crate::db::spatial::transform_extent(pool, extent, tms.srid).await?;
        let zoom = matching_zoom(tms, max_zoom, f64::midpoint(extent[1], extent[3]));
        let tiles = tiles_covering(tms, native, zoom);
        for t in &tiles {
            let key = TileKey::new(collection, tms.id, *t);
            cache
                .get_or_render(
                    key.clone(),
                    Coding::Brotli,
                    mvt::tile(pool, collection, tms, *t),
                )
                .await?;
            // Both codings: the seeded tiles are the largest, where compressing on a request
            // would cost most (browsers ask for brotli, GIS clients for gzip).
            cache
                .get_or_render(key, Coding::Gzip, mvt::tile(pool, collection, tms, *t))
                .await?;
        }
        seeded += tiles.len();
    }
    Ok(seeded)
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
                    tracing::info!(collection = %c.id, version = c.version.id, tiles = n, max_zoom, seconds = started.elapsed().as_secs_f64(), "tiles seeded");
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
        // Landkreis Lüneburg, 10.0–11.0 E, 53.0–53.4 N, in Web Mercator metres.
        let lueneburg = [1_113_194.9, 6_982_997.9, 1_224_514.4, 7_057_678.8];
        let wm = TileMatrixSet::find(WEB_MERCATOR_QUAD).unwrap();
        let tiles = tiles_covering(wm, lueneburg, 8);
        assert_eq!(tiles[0], TileCoord { z: 0, x: 0, y: 0 });
        // One tile per zoom down to 7, two at zoom 8.
        assert_eq!(tiles.iter().filter(|t| t.z == 8).count(), 2);
        assert!(tiles.iter().all(|t| t.z <= 8));
    }

    #[test]
    fn the_adv_grid_is_seeded_to_the_same_detail() {
        let adv = TileMatrixSet::find(super::super::tms::ADV_25832).unwrap();
        // AdV zoom z has tiles of 1,252 km / 2^z; Web Mercator zoom 10 at 53° N about 23.5 km.
        let z = matching_zoom(adv, 10, 53.2);
        assert!(
            adv.tile_size(z) >= 23_500.0 && adv.tile_size(z + 1) < 23_600.0,
            "{z}"
        );
        assert_eq!(matching_zoom(adv, 0, 53.2), 0);
    }
}
