//! The SQL of the solar computation: the roof polygons of a roofs dataset's served version,
//! in a metric CRS.

use sqlx::PgPool;

use super::roof::RoofInput;
use crate::catalog::Version;
use crate::error::{Error, Result};

/// The metric CRS roofs are computed in when their own is not one (ETRS89 / UTM 32N, which
/// covers Germany well enough for distances of a few hundred metres).
const METRIC: i32 = 25832;

/// One roof polygon read for the computation.
#[derive(Debug, Clone)]
pub struct RoofRow {
    pub fid: i64,
    pub roof_id: String,
    pub input: RoofInput,
}

/// fid, roof id, building, unit, measured height, geometry (GeoJSON).
type RoofColumns = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<f64>,
    String,
);

/// The CRS the roofs of `version` are computed in.
pub fn metric_srid(version: &Version) -> i32 {
    match version.source_crs {
        25832 | 25833 | 31466..=31469 | 4647 | 5650 => version.source_crs,
        _ => METRIC,
    }
}

/// Every roof polygon of `version` (a roofs dataset as the CityGML ingest makes it), with its
/// building and unit and the unit's measured height where the columns exist.
pub async fn roofs(pool: &PgPool, version: &Version) -> Result<Vec<RoofRow>> {
    let column = |name: &str| {
        version
            .columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| format!("{}::text", c.ident()))
    };
    let building = column("building_id").ok_or_else(|| {
        Error::invalid(
            "roofs",
            format!(
                "dataset '{}' has no building_id column: load the roofs with `kreisgeo ingest \
                 TILES --kind roofs`",
                version.dataset_id
            ),
        )
    })?;
    let unit = column("part_id").map_or_else(
        || building.clone(),
        |p| format!("coalesce({p}, {building})"),
    );
    let roof_id = column("polygon_id").unwrap_or_else(|| "fid::text".into());
    let height = version
        .columns
        .iter()
        .find(|c| c.name == "measured_height")
        .map_or_else(
            || "NULL::float8".to_string(),
            |c| format!("{}::float8", c.ident()),
        );
    let srid = metric_srid(version);
    let sql = format!(
        "SELECT fid, coalesce({roof_id}, fid::text), {building}, {unit}, {height}, \
           ST_AsGeoJSON({geom}, 4) \
         FROM {table} WHERE geom IS NOT NULL AND ST_Dimension(geom) = 2 ORDER BY fid",
        geom = version.geometry_in(srid),
        table = version.table(),
    );
    let rows: Vec<RoofColumns> = sqlx::query_as(&sql).fetch_all(pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (fid, roof_id, building, unit, measured_height, geojson) in rows {
        let building = building.unwrap_or_else(|| fid.to_string());
        let unit = unit.unwrap_or_else(|| building.clone());
        for rings in polygons(&geojson) {
            out.push(RoofRow {
                fid,
                roof_id: roof_id.clone(),
                input: RoofInput {
                    building: building.clone(),
                    unit: unit.clone(),
                    rings,
                    measured_height,
                },
            });
        }
    }
    Ok(out)
}

/// The polygons of a GeoJSON Polygon or MultiPolygon, 3D (a missing height is 0).
fn polygons(geojson: &str) -> Vec<Vec<Vec<[f64; 3]>>> {
    let Ok(g) = serde_json::from_str::<serde_json::Value>(geojson) else {
        return Vec::new();
    };
    let ring = |r: &serde_json::Value| -> Vec<[f64; 3]> {
        r.as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let p = p.as_array()?;
                Some([
                    p.first()?.as_f64()?,
                    p.get(1)?.as_f64()?,
                    p.get(2).and_then(serde_json::Value::as_f64).unwrap_or(0.0),
                ])
            })
            .collect()
    };
    let polygon = |p: &serde_json::Value| -> Vec<Vec<[f64; 3]>> {
        p.as_array().into_iter().flatten().map(ring).collect()
    };
    match g["type"].as_str() {
        Some("Polygon") => vec![polygon(&g["coordinates"])],
        Some("MultiPolygon") => g["coordinates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(polygon)
            .collect(),
        _ => Vec::new(),
    }
}

/// The buildings (ids of `roofs`) standing on the parcels of `parcels` whose
/// Flurstückskennzeichen are `keys`: those whose roof polygons' points on surface lie in them.
pub async fn buildings_on_parcels(
    pool: &PgPool,
    roofs: &Version,
    parcels: &Version,
    keys: &[String],
) -> Result<Vec<String>> {
    let building = roofs
        .columns
        .iter()
        .find(|c| c.name == "building_id")
        .ok_or_else(|| Error::invalid("roofs", "the roofs dataset has no building_id column"))?;
    let key = parcels
        .columns
        .iter()
        .find(|c| c.name == "flurstueckskennzeichen")
        .ok_or_else(|| {
            Error::invalid(
                "parcels",
                format!(
                    "dataset '{}' has no flurstueckskennzeichen: load it with --kind parcels",
                    parcels.dataset_id
                ),
            )
        })?;
    let sql = format!(
        "SELECT DISTINCT r.{building}::text FROM {roofs} r JOIN {parcels} p \
           ON ST_Intersects(p.geom, ST_Transform(ST_PointOnSurface(ST_Force2D(r.geom)), {srid})) \
         WHERE p.{key}::text = ANY($1) AND r.{building} IS NOT NULL",
        building = building.ident(),
        key = key.ident(),
        roofs = roofs.table(),
        parcels = parcels.table(),
        srid = parcels.source_crs,
    );
    Ok(sqlx::query_scalar(&sql).bind(keys).fetch_all(pool).await?)
}
