//! The extent of a loaded table: in its own CRS for validation, in CRS84 for the catalog.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::validate::GlobeTest;
use crate::crs::WGS84_SRID;
use crate::db::ident::QualifiedTable;
use crate::error::Result;

/// Segments per side when the extent is densified before its transformation, so that the
/// curved image of its edges is followed closely.
const DENSIFY_SEGMENTS: f64 = 64.0;

/// The extent of every geometry of `table`, in the table's CRS; `None` when it has none.
pub async fn of_table(conn: &mut PgConnection, table: &QualifiedTable) -> Result<Option<[f64; 4]>> {
    let row: (Option<f64>, Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(&format!(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) \
         FROM (SELECT ST_Extent(geom) AS e FROM {table}) s"
    ))
    .fetch_one(conn)
    .await?;
    Ok(match row {
        (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
        _ => None,
    })
}

pub fn is_lon_lat(srid: i32) -> bool {
    matches!(srid, 4326 | 4258)
}

/// How validation must look for features off the globe. For a projected CRS one transformation
/// of the densified extent usually shows that every feature is on it, which spares transforming
/// each of them.
pub async fn globe_test(
    conn: &mut PgConnection,
    srid: i32,
    extent: Option<[f64; 4]>,
) -> Result<GlobeTest> {
    if is_lon_lat(srid) {
        return Ok(GlobeTest::Done);
    }
    let Some(e) = extent else {
        return Ok(GlobeTest::Done);
    };
    let mut qb = QueryBuilder::new("SELECT catalog.on_globe(");
    push_densified(&mut qb, e, srid);
    qb.push(")");
    let on_globe: bool = qb.build_query_scalar().fetch_one(conn).await?;
    Ok(if on_globe {
        GlobeTest::Done
    } else {
        GlobeTest::EachFeature
    })
}

/// The extent in CRS84 (lon/lat), for the catalog and the collection documents: the bounds of
/// the densified extent transformed, which contain every feature.
pub async fn to_crs84(
    conn: &mut PgConnection,
    srid: i32,
    extent: Option<[f64; 4]>,
) -> Result<Option<[f64; 4]>> {
    let Some(e) = extent else { return Ok(None) };
    if srid == WGS84_SRID {
        return Ok(Some(e));
    }
    let mut qb = QueryBuilder::new(
        "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT ST_Transform(",
    );
    push_densified(&mut qb, e, srid);
    qb.push(format!(", {WGS84_SRID}) AS g) s"));
    let row: (f64, f64, f64, f64) = qb.build_query_as().fetch_one(conn).await?;
    Ok(Some([row.0, row.1, row.2, row.3]))
}

/// The extent `e` of CRS `srid` as a polygon whose sides are densified.
fn push_densified(qb: &mut QueryBuilder<'_, Postgres>, e: [f64; 4], srid: i32) {
    qb.push("ST_Segmentize(ST_MakeEnvelope(");
    {
        let mut args = qb.separated(", ");
        for v in e {
            args.push_bind(v);
        }
    }
    qb.push(format!(", {srid}), "));
    qb.push_bind(step(e));
    qb.push(")");
}

fn step(e: [f64; 4]) -> f64 {
    ((e[2] - e[0]).max(e[3] - e[1]) / DENSIFY_SEGMENTS).max(1e-9)
}
