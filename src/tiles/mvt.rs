//! Mapbox Vector Tiles from PostGIS (`ST_AsMVT`), one layer per collection named after it.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::tms::{TileCoord, TileMatrixSet};
use crate::catalog::Version;
use crate::db::ident::Ident;
use crate::db::spatial;
use crate::error::Result;

/// Tile extent in MVT units and the buffer around it, as Martin and pg_tileserv use.
pub const EXTENT: i32 = 4096;
pub const BUFFER: i32 = 64;

/// The deepest zoom TileJSON announces; clients overzoom beyond it.
pub const MAX_DETAIL_ZOOM: u8 = 22;

/// Renders one tile of `version` as the layer `layer`. An empty tile is an empty vector.
pub async fn tile(
    pool: &PgPool,
    version: &Version,
    layer: &str,
    tms: &TileMatrixSet,
    t: TileCoord,
) -> Result<Vec<u8>> {
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
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT ST_AsMVT(q, ");
    qb.push_bind(layer.to_string());
    qb.push(format!(", {EXTENT}, 'geom', 'fid') FROM (SELECT t.fid"));
    for c in &version.columns {
        // MVT has no JSON or date types: those travel as text.
        qb.push(", ");
        qb.push(c.ty.select_expr(&c.ident()));
        qb.push(" AS ");
        qb.push(Ident::new(&c.original).to_string());
    }
    qb.push(format!(
        " , ST_AsMVTGeom({}, ST_MakeEnvelope(",
        version.geometry_in(tms.srid)
    ));
    {
        let mut args = qb.separated(", ");
        args.push_bind(tile.min_x);
        args.push_bind(tile.min_y);
        args.push_bind(tile.max_x);
        args.push_bind(tile.max_y);
        args.push(tms.srid.to_string());
    }
    qb.push(format!("), {EXTENT}, {BUFFER}, true) AS geom FROM "));
    qb.push(version.table().to_string());
    qb.push(" t WHERE geom && ");
    spatial::push_envelope(&mut qb, window, version.source_crs);
    qb.push(") q WHERE q.geom IS NOT NULL");
    let blob: Option<Vec<u8>> = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(blob.unwrap_or_default())
}
