//! The basemap's vector tiles: one MVT layer per basemap layer of the OSM table, each with the
//! classes and the smallest areas its zoom shows (OpenMapTiles' generalisation, cut down), so
//! that a z10 tile of a Kreis carries its main roads and towns, not its 100,000 houses.

use std::fmt::Write as _;

use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::catalog::Version;
use crate::error::Result;
use crate::tiles::mvt::{BUFFER, EXTENT};
use crate::tiles::tms::{TileCoord, TileMatrixSet, WEB_MERCATOR_QUAD};

/// Most features a layer of one tile carries; the largest are kept. A z13 tile of a town
/// has about 4,000 buildings.
const MAX_FEATURES: u32 = 8_000;

/// Areas smaller than this many screen pixels are left out.
const MIN_PIXELS: f64 = 2.0;

/// One basemap layer at one zoom: its features' filter and the attributes the style reads.
struct Rule {
    name: &'static str,
    /// The value of the table's `layer` column.
    source: &'static str,
    select: &'static str,
    /// A condition on the row, from constants and the zoom only.
    filter: String,
    /// Areas are thinned by size.
    area: bool,
    /// Drawn as the outline of the stored area (boundaries).
    outline: bool,
}

/// Road classes shown at zoom `z`.
fn road_classes(z: u8) -> &'static str {
    match z {
        0..=7 => "'motorway','trunk'",
        8..=9 => "'motorway','trunk','primary'",
        10 => "'motorway','trunk','primary','secondary'",
        11 => "'motorway','trunk','primary','secondary','tertiary'",
        12 => "'motorway','trunk','primary','secondary','tertiary','minor'",
        13 => {
            "'motorway','trunk','primary','secondary','tertiary','minor','service','track','pedestrian'"
        }
        _ => {
            "'motorway','trunk','primary','secondary','tertiary','minor','service','track','pedestrian','path'"
        }
    }
}

/// The rules of zoom `z`, bottom layer first.
fn rules(z: u8) -> Vec<Rule> {
    let rule = |name, source, select, filter: String, area, outline| Rule {
        name,
        source,
        select,
        filter,
        area,
        outline,
    };
    let mut out = Vec::new();
    if z >= 9 {
        out.push(rule(
            "landuse",
            "landuse",
            "class, subclass",
            "true".into(),
            true,
            false,
        ));
    }
    if z >= 6 {
        out.push(rule("water", "water", "class", "true".into(), true, false));
    }
    if z >= 9 {
        let filter = if z >= 12 {
            "true".to_string()
        } else {
            "class IN ('river','canal')".to_string()
        };
        out.push(rule(
            "waterway",
            "waterway",
            "class, coalesce(name_de, name) AS name",
            filter,
            false,
            false,
        ));
    }
    if z >= 13 {
        out.push(rule(
            "building",
            "building",
            "class",
            "true".into(),
            true,
            false,
        ));
    }
    if z >= 5 {
        let level = match z {
            0..=7 => 4,
            8..=9 => 6,
            10..=11 => 8,
            _ => 10,
        };
        out.push(rule(
            "boundary",
            "boundary",
            "admin_level",
            format!("admin_level <= {level}"),
            false,
            true,
        ));
    }
    if z >= 5 {
        out.push(rule(
            "road",
            "road",
            "class, subclass, coalesce(name_de, name) AS name, ref, brunnel, osm_layer AS layer",
            format!("class IN ({})", road_classes(z)),
            false,
            false,
        ));
    }
    if z >= 9 {
        let filter = if z >= 13 {
            "true".to_string()
        } else {
            "class = 'rail' AND subclass IS NULL".to_string()
        };
        out.push(rule(
            "railway",
            "railway",
            "class, subclass, brunnel",
            filter,
            false,
            false,
        ));
    }
    let rank = match z {
        0..=7 => 1,
        8..=9 => 2,
        10..=11 => 3,
        12 => 4,
        13 => 5,
        _ => 7,
    };
    out.push(rule(
        "place",
        "place",
        "class, rank, coalesce(name_de, name) AS name",
        format!("rank <= {rank}"),
        false,
        false,
    ));
    if z >= 16 {
        out.push(rule(
            "housenumber",
            "address",
            "housenumber, street",
            "true".into(),
            false,
            false,
        ));
    }
    out
}

/// The layers a basemap tile may hold, for TileJSON and the style.
pub const LAYERS: &[&str] = &[
    "landuse",
    "water",
    "waterway",
    "building",
    "boundary",
    "road",
    "railway",
    "place",
    "housenumber",
];

/// Renders basemap tile `t` (WebMercatorQuad) of the OSM version `version`.
pub async fn tile(pool: &PgPool, version: &Version, t: TileCoord) -> Result<Vec<u8>> {
    let tms = TileMatrixSet::find(WEB_MERCATOR_QUAD)?;
    let margin = f64::from(BUFFER) / f64::from(EXTENT);
    let Some(window) = crate::db::spatial::window(t.lon_lat_bounds(margin), version.bbox)
        .into_iter()
        .next()
    else {
        return Ok(Vec::new());
    };
    let bounds = t.lon_lat_bounds(0.0);
    let cos_lat = f64::midpoint(bounds.min_y, bounds.max_y).to_radians().cos();
    // Half a tile unit in degrees of latitude: below what the tile's grid can show.
    let tolerance = tms.tile_size(t.z) / f64::from(EXTENT) / 2.0 * cos_lat / 111_320.0;
    let pixel_m = tms.tile_size(t.z) / 256.0 * cos_lat;
    let min_area = pixel_m * pixel_m * MIN_PIXELS;
    let table = version.table().to_string();

    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT ");
    for (i, r) in rules(t.z).iter().enumerate() {
        if i > 0 {
            qb.push(" || ");
        }
        let mut sql = format!(
            "coalesce((SELECT ST_AsMVT(q, '{}', {EXTENT}, 'geom') FROM (SELECT {}, \
             ST_AsMVTGeom(ST_Transform(ST_Simplify({}, ",
            r.name,
            r.select,
            if r.outline {
                "ST_Boundary(geom)"
            } else {
                "geom"
            },
        );
        qb.push(std::mem::take(&mut sql));
        qb.push_bind(tolerance);
        let _ = write!(
            sql,
            ", true), 3857), ST_TileEnvelope({}, {}, {}), {EXTENT}, {BUFFER}, true) AS geom \
             FROM {table} WHERE layer = '{}' AND ({}) AND geom && ",
            t.z, t.x, t.y, r.source, r.filter
        );
        qb.push(sql);
        crate::db::spatial::push_envelope(&mut qb, window, 4326);
        if r.area {
            qb.push(" AND area_m2 >= ");
            qb.push_bind(min_area);
            qb.push(format!(" ORDER BY area_m2 DESC LIMIT {MAX_FEATURES}"));
        }
        qb.push(") q WHERE q.geom IS NOT NULL), ''::bytea)");
    }
    qb.push(format!(" WHERE {}", crate::db::SERIAL_PLAN));
    let blob: Option<Vec<u8>> = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(blob.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_zooms_show_the_main_roads_only_and_houses_come_last() {
        let names = |z| rules(z).iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(names(4), vec!["place"]);
        assert!(!names(12).contains(&"building"));
        assert!(names(14).contains(&"building"));
        assert!(!names(15).contains(&"housenumber"));
        assert!(names(16).contains(&"housenumber"));
        assert!(!road_classes(11).contains("minor"));
        assert!(road_classes(14).contains("path"));
        for z in 0..=22 {
            assert!(rules(z).iter().all(|r| LAYERS.contains(&r.name)));
        }
    }
}
