//! Mapbox Vector Tiles from PostGIS (`ST_AsMVT`), one layer per collection named after it.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::tms::{TileCoord, TileMatrixSet};
use crate::catalog::Collection;
use crate::db::ident::Ident;
use crate::db::spatial;
use crate::error::Result;

/// Tile extent in MVT units and the buffer around it, as Martin and pg_tileserv use.
pub const EXTENT: i32 = 4096;
pub const BUFFER: i32 = 64;

/// The deepest zoom TileJSON announces; clients overzoom beyond it.
pub const MAX_DETAIL_ZOOM: u8 = 22;

/// Most features one layer of one tile carries. A county-wide layer of a million parcels stays
/// under 500 kB per tile at any zoom with it (see benches/README.md).
pub const MAX_FEATURES: i64 = 4_000;

/// Features smaller than this many screen pixels (of a 256-pixel tile) are left out: they would
/// be invisible, and at low zoom they are nearly all of a parcel layer.
const MIN_PIXELS: f64 = 1.0;

/// Below this zoom tiles carry only the feature id, no attributes: nobody reads a parcel key at
/// county scale, and the attributes are most of a tile's bytes.
pub const ATTRIBUTES_FROM_ZOOM: u8 = 12;

/// Metres per degree of latitude, to turn a pixel size into degrees for lon/lat tables.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// The column of a version table that holds each feature's size (see [`size_of`]), written by
/// the ingest as the coordinates stream in; NULL for a curved geometry or one without
/// coordinates.
pub const TILE_SIZE: &str = "tile_size";

/// A geometry's size as the tiles thin by it: the longer side of its bounding box, in the
/// table's units; NULL when it has no coordinates.
pub fn size_of(geom: &str) -> String {
    format!("greatest(ST_XMax({geom}) - ST_XMin({geom}), ST_YMax({geom}) - ST_YMin({geom}))")
}

/// Renders one tile of `version` as the layer `layer`. An empty tile is an empty vector.
///
/// The statement is the same for every tile of a collection at zooms with (or without)
/// attributes, only its values change: run in a pool that keeps one plan per statement
/// ([`crate::db::Plans::Reused`]), it is planned once per connection, not for every tile. The
/// window and the tile's envelope are scalar subqueries, so that such a plan computes each once
/// per tile (an InitPlan), not once per row.
pub async fn tile(
    pool: &PgPool,
    collection: &Collection,
    tms: &TileMatrixSet,
    t: TileCoord,
) -> Result<Vec<u8>> {
    let (version, layer, settings) = (&collection.version, &collection.id, &collection.tiles);
    let margin = f64::from(BUFFER) / f64::from(EXTENT);
    // The rows to look at: the tile and its buffer, in the table's CRS. Web Mercator tiles
    // have an exact lon/lat form, clipped to the data (tiles away from it are empty without
    // asking the database); other sets' tiles are transformed, densified.
    let window = if tms.srid == 3857 {
        match spatial::window(t.lon_lat_bounds(margin), version.bbox)
            .into_iter()
            .next()
        {
            Some(w) => w,
            None => return Ok(Vec::new()),
        }
    } else {
        tms.bounds(t, margin)
    };
    let tile = tms.bounds(t, 0.0);
    let min_size = pixel_size(tms, t, version.source_crs) * MIN_PIXELS;
    // Deterministic thinning: the largest features first (the bounding box's longer side, in the
    // table's units), ties (points) in a fixed pseudo-random order so that a capped point layer
    // thins out evenly instead of losing one corner. Stored with the feature when the version
    // has it: computed here, it deserialises every geometry of the window twice (filter and
    // order), a fifth of a dense tile's time.
    // Qualified: an attribute served under the name `tile_size` is an output column, and a bare
    // name in ORDER BY means the output column. A curved geometry's size is not stored (its
    // bounds are the arcs', not the points'): computed for it alone.
    let size = if version.tile_sizes {
        format!("coalesce(t.{TILE_SIZE}, {})", size_of("t.geom"))
    } else {
        size_of("t.geom")
    };
    let from_zoom = settings
        .attributes_from_zoom
        .unwrap_or(ATTRIBUTES_FROM_ZOOM);
    // AdV levels are five zoom levels coarser than WebMercatorQuad's at the same scale.
    let zoom = if tms.srid == 3857 { t.z } else { t.z + 5 };
    let with_attributes = zoom >= from_zoom;
    let max_features = settings.max_features.map_or(MAX_FEATURES, i64::from);
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT ST_AsMVT(q, ");
    qb.push_bind(layer.clone());
    qb.push(format!(", {EXTENT}, 'geom', 'fid') FROM (SELECT t.fid"));
    let chosen = |c: &&crate::catalog::Column| {
        with_attributes
            && settings
                .attributes
                .as_ref()
                .is_none_or(|names| names.contains(&c.original))
    };
    for c in version.columns.iter().filter(chosen) {
        // MVT has no JSON or date types: those travel as text.
        qb.push(", ");
        qb.push(c.ty.select_expr(&c.ident()));
        qb.push(" AS ");
        qb.push(Ident::new(&c.original).to_string());
    }
    // Simplified per zoom to half a tile unit (an eighth of a pixel): below what the tile's
    // integer grid can show, but long smooth boundaries lose most of their vertices.
    let tolerance = tms.tile_size(t.z) / f64::from(EXTENT) / 2.0;
    // From the version's Web Mercator copy when it has one: the same rows, the same geometries
    // transformed once instead of in every tile.
    let (table, geometry) = match &version.tile_table {
        Some(copy) if tms.srid == 3857 => (
            crate::db::ident::QualifiedTable::data(copy),
            format!("t.{}", super::mercator::GEOM_3857),
        ),
        _ => (version.table(), version.geometry_in(tms.srid)),
    };
    qb.push(format!(" , ST_AsMVTGeom(ST_Simplify({geometry}, "));
    qb.push_bind(tolerance);
    qb.push(", true), (SELECT ST_MakeEnvelope(");
    {
        let mut args = qb.separated(", ");
        args.push_bind(tile.min_x);
        args.push_bind(tile.min_y);
        args.push_bind(tile.max_x);
        args.push_bind(tile.max_y);
        args.push(tms.srid.to_string());
    }
    qb.push(format!(")), {EXTENT}, {BUFFER}, true) AS geom FROM "));
    qb.push(table.to_string());
    qb.push(" t WHERE geom && (SELECT ");
    spatial::push_envelope(&mut qb, window, version.source_crs);
    qb.push(format!(") AND {} AND ({size} >= ", crate::db::SERIAL_PLAN));
    qb.push_bind(min_size);
    qb.push(" OR ST_Dimension(t.geom) = 0");
    qb.push(format!(
        ") ORDER BY {size} DESC, (t.fid * 2654435761) % 4294967296 LIMIT {max_features}"
    ));
    // Rows whose geometry fell outside the tile keep a NULL geometry: ST_AsMVT skips them.
    qb.push(") q");
    let blob: Option<Vec<u8>> = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(blob.unwrap_or_default())
}

/// How long [`prepare`] starts new work on a connection.
const PREPARE_BUDGET: std::time::Duration = std::time::Duration::from_millis(120);

/// Sets up a new connection of the tile pool ([`crate::db::PoolSettings::prepare`]): the
/// coordinate transformations tiles of the served collections use. PostGIS builds each on its
/// first use in a session, reading PROJ's database: 20-35 ms, which the first tile drawn on
/// every new connection used to wait for (a z14 parcel tile: 41 ms instead of 12).
pub fn prepare(connection: &mut sqlx::PgConnection) -> futures::future::BoxFuture<'_, ()> {
    Box::pin(async move {
        let started = std::time::Instant::now();
        let crs: Vec<i32> = match sqlx::query_scalar(
            "SELECT DISTINCT v.source_crs FROM catalog.versions v \
             JOIN catalog.datasets d ON d.active_version = v.id",
        )
        .fetch_all(&mut *connection)
        .await
        {
            Ok(crs) => crs,
            Err(e) => {
                tracing::debug!(error = %e, "no served CRSs to prepare tiles for");
                return;
            }
        };
        for srid in crs {
            // A connection must open within its pool's acquire timeout (a replica's: 250 ms);
            // transformations not set up now are built by the first tile that needs them.
            if started.elapsed() > PREPARE_BUDGET {
                tracing::debug!(srid, "tile transformations left to the first tile");
                break;
            }
            // A tile's window comes in lon/lat (Web Mercator) or in ETRS89/UTM 32N (AdV), the
            // geometries go to either tile CRS: every direction of each pair, once.
            let prepared = sqlx::query(
                "SELECT ST_Transform(ST_Transform(ST_SetSRID(ST_MakePoint(10, 52), 4326), $1), 3857), \
                 ST_Transform(ST_Transform(ST_SetSRID(ST_MakePoint(500000, 5800000), 25832), $1), 25832)",
            )
            .bind(srid)
            .execute(&mut *connection)
            .await;
            if let Err(e) = prepared {
                tracing::debug!(error = %e, srid, "tile transformations not prepared");
            }
        }
    })
}

/// The size of one screen pixel of tile `t`, in the units of a table stored in `srid` (metres,
/// or degrees for lon/lat tables), near the tile's centre.
fn pixel_size(tms: &TileMatrixSet, t: TileCoord, srid: i32) -> f64 {
    let mut metres = tms.tile_size(t.z) / 256.0;
    if tms.srid == 3857 {
        // Web Mercator stretches by 1 / cos(latitude).
        let b = t.lon_lat_bounds(0.0);
        metres *= f64::midpoint(b.min_y, b.max_y).to_radians().cos();
    }
    if matches!(srid, 4326 | 4258) {
        metres / METRES_PER_DEGREE
    } else {
        metres
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::tms::{ADV_25832, WEB_MERCATOR_QUAD};

    #[test]
    fn pixels() {
        let merc = TileMatrixSet::find(WEB_MERCATOR_QUAD).unwrap();
        // z10 over Lüneburg: 153 m Mercator pixels are about 92 m on the ground.
        let p = pixel_size(
            merc,
            TileCoord {
                z: 10,
                x: 541,
                y: 332,
            },
            25832,
        );
        assert!((85.0..100.0).contains(&p), "{p}");
        let adv = TileMatrixSet::find(ADV_25832).unwrap();
        let p = pixel_size(adv, TileCoord { z: 0, x: 0, y: 0 }, 25832);
        assert!((p - 4891.97).abs() < 0.01, "{p}");
        assert!(pixel_size(adv, TileCoord { z: 0, x: 0, y: 0 }, 4326) < 0.05);
    }
}
