//! Mapbox Vector Tiles from PostGIS (`ST_AsMVT`), one layer per collection named after it.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::tms::TileCoord;
use crate::catalog::Version;
use crate::db::ident::Ident;
use crate::db::spatial;
use crate::error::Result;

/// Tile extent in MVT units and the buffer around it, as Martin and pg_tileserv use.
pub const EXTENT: i32 = 4096;
pub const BUFFER: i32 = 64;

/// Renders one tile of `version` as the layer `layer`. An empty tile is an empty vector.
pub async fn tile(pool: &PgPool, version: &Version, layer: &str, t: TileCoord) -> Result<Vec<u8>> {
    // Tiles away from the data are empty without asking the database.
    let Some(window) = spatial::window(
        t.lon_lat_bounds(f64::from(BUFFER) / f64::from(EXTENT)),
        version.bbox,
    )
    .into_iter()
    .next() else {
        return Ok(Vec::new());
    };
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
    qb.push(" , ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(");
    push_zxy(&mut qb, t);
    qb.push(format!("), {EXTENT}, {BUFFER}, true) AS geom FROM "));
    qb.push(version.table().to_string());
    qb.push(" t WHERE t.geom && ");
    spatial::push_envelope(&mut qb, window, version.source_crs);
    qb.push(") q WHERE q.geom IS NOT NULL");
    let blob: Option<Vec<u8>> = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(blob.unwrap_or_default())
}

fn push_zxy(qb: &mut QueryBuilder<'_, Postgres>, t: TileCoord) {
    let mut args = qb.separated(", ");
    args.push_bind(i32::from(t.z));
    args.push_bind(i32::try_from(t.x).unwrap_or(i32::MAX));
    args.push_bind(i32::try_from(t.y).unwrap_or(i32::MAX));
}
