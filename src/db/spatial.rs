//! Spatial SQL fragments shared by the feature and tile queries: rectangles from requests,
//! turned into polygons in the CRS of the version table they filter.

use sqlx::{Postgres, QueryBuilder};

use crate::crs::{Bbox, Point};

/// Degrees added around a dataset's extent before clipping to it, so that rounding in the
/// transformed extent can never cut off a feature at its edge.
const EXTENT_MARGIN_DEG: f64 = 0.01;

/// Segments per side when a rectangle is densified before a transformation.
const DENSIFY_SEGMENTS: f64 = 64.0;

/// The parts of `b` that can hold features of a dataset whose CRS84 extent is `extent`: none
/// when nothing can match. Boxes that have a lon/lat form are clipped to the extent: outside it
/// nothing matches, and a clipped box transforms safely into the table's CRS even when the
/// request spans the globe (a world box has no image in a UTM zone). A lon/lat box whose west
/// edge lies east of its east edge crosses the antimeridian and is two boxes.
pub fn window(b: Bbox, extent: Option<[f64; 4]>) -> Vec<Bbox> {
    let Some(extent) = extent else {
        return Vec::new();
    };
    let padded = [
        extent[0] - EXTENT_MARGIN_DEG,
        extent[1] - EXTENT_MARGIN_DEG,
        extent[2] + EXTENT_MARGIN_DEG,
        extent[3] + EXTENT_MARGIN_DEG,
    ];
    match b.to_lon_lat() {
        Some(ll) if ll.min_x > ll.max_x => [
            Bbox { max_x: 180.0, ..ll },
            Bbox {
                min_x: -180.0,
                ..ll
            },
        ]
        .into_iter()
        .filter_map(|part| part.intersection(padded))
        .collect(),
        Some(ll) => ll.intersection(padded).into_iter().collect(),
        None => vec![b],
    }
}

/// `b` as a polygon in `target_srid`. A box in another CRS is densified first, so that its
/// edges stay where they are after the transformation. Both SRIDs are integers from the served
/// list or the catalog, never request text; the coordinates are bind parameters.
pub fn push_envelope(qb: &mut QueryBuilder<'_, Postgres>, b: Bbox, target_srid: i32) {
    let transform = b.srid != target_srid;
    if transform {
        // Inline: a plan made for the query's values (`Plans::PerQuery`) folds it into one
        // constant polygon at planning time. Callers whose plan is reused wrap it in a
        // scalar subquery (`tiles::mvt`).
        qb.push("ST_Transform(ST_Segmentize(");
    }
    qb.push("ST_MakeEnvelope(");
    {
        let mut args = qb.separated(", ");
        args.push_bind(b.min_x);
        args.push_bind(b.min_y);
        args.push_bind(b.max_x);
        args.push_bind(b.max_y);
        args.push(b.srid.to_string());
    }
    qb.push(")");
    if transform {
        qb.push(", ");
        qb.push_bind(((b.max_x - b.min_x).max(b.max_y - b.min_y) / DENSIFY_SEGMENTS).max(1e-9));
        qb.push(format!("), {target_srid})"));
    }
}

/// The OGC WKT definition of a CRS, as PostGIS knows it (for files that carry their CRS).
pub async fn srs_wkt(pool: &sqlx::PgPool, srid: i32) -> crate::error::Result<String> {
    let wkt: Option<String> =
        sqlx::query_scalar("SELECT srtext FROM spatial_ref_sys WHERE srid = $1")
            .bind(srid)
            .fetch_optional(pool)
            .await?;
    wkt.ok_or_else(|| {
        crate::error::Error::Internal(format!("EPSG:{srid} is not in spatial_ref_sys"))
    })
}

/// `p` as a point geometry in `target_srid`.
pub fn push_point(qb: &mut QueryBuilder<'_, Postgres>, p: Point, target_srid: i32) {
    let transform = p.srid != target_srid;
    if transform {
        qb.push("ST_Transform(");
    }
    qb.push("ST_SetSRID(ST_MakePoint(");
    qb.push_bind(p.x);
    qb.push(", ");
    qb.push_bind(p.y);
    qb.push(format!("), {})", p.srid));
    if transform {
        qb.push(format!(", {target_srid})"));
    }
}

/// `extent` (CRS84: west, south, east, north) as a box in `srid`, its edges densified first so
/// that the box holds the whole transformed area.
pub async fn transform_extent(
    pool: &sqlx::PgPool,
    extent: [f64; 4],
    srid: i32,
) -> crate::error::Result<[f64; 4]> {
    let (x0, y0, x1, y1): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM ST_Transform( \
           ST_Segmentize(ST_MakeEnvelope($1, $2, $3, $4, 4326), 0.01), $5) AS g",
    )
    .bind(extent[0])
    .bind(extent[1])
    .bind(extent[2])
    .bind(extent[3])
    .bind(srid)
    .fetch_one(pool)
    .await?;
    Ok([x0, y0, x1, y1])
}

/// A point of EPSG:`srid` as longitude and latitude (WGS 84), by PostGIS.
pub async fn to_lon_lat(
    pool: &sqlx::PgPool,
    srid: i32,
    x: f64,
    y: f64,
) -> crate::Result<(f64, f64)> {
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), $3), 4326) p",
    )
    .bind(x)
    .bind(y)
    .bind(srid)
    .fetch_one(pool)
    .await?;
    Ok((lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_boxes_are_clipped_to_the_data() {
        let lueneburg = [10.0, 53.0, 11.0, 53.4];
        let world = Bbox::lon_lat(-180.0, -90.0, 180.0, 90.0);
        let w = window(world, Some(lueneburg));
        assert_eq!(
            [w[0].min_x, w[0].min_y, w[0].max_x, w[0].max_y],
            [9.99, 52.99, 11.01, 53.41]
        );
        assert_eq!(
            window(Bbox::lon_lat(0.0, 0.0, 1.0, 1.0), Some(lueneburg)),
            []
        );
        assert_eq!(window(world, None), []);
        // Across the antimeridian: 170°E eastwards to 11°E, the long way round, holds Lüneburg.
        let across = window(Bbox::lon_lat(170.0, 50.0, 11.0, 60.0), Some(lueneburg));
        assert_eq!(across.len(), 1);
        assert_eq!((across[0].min_x, across[0].max_x), (9.99, 11.0));
        let across_pacific = Bbox::lon_lat(170.0, -10.0, -170.0, 10.0);
        assert_eq!(
            window(across_pacific, Some([-180.0, -90.0, 180.0, 90.0])).len(),
            2
        );
        // Web Mercator's whole square is the whole globe.
        let r = 20_037_508.342_789_244;
        let merc = Bbox {
            min_x: -r,
            min_y: -r,
            max_x: r,
            max_y: r,
            srid: 3857,
        };
        let ll = merc.to_lon_lat().unwrap();
        assert!((ll.min_x + 180.0).abs() < 1e-9 && (ll.max_y - 85.051_128_78).abs() < 1e-6);
        // Projected boxes pass unclipped: PostGIS transforms them.
        let utm = Bbox {
            min_x: 5e5,
            min_y: 5.8e6,
            max_x: 6e5,
            max_y: 5.9e6,
            srid: 25832,
        };
        assert_eq!(window(utm, Some(lueneburg)), [utm]);
    }
}
