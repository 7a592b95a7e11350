//! The SQL of the AED coverage apart from routing: the addresses it is computed for, the gap
//! areas around the addresses beyond the threshold, and the recorded computations that a new
//! version of an input repeats.

use sqlx::PgPool;

use crate::catalog::{DatasetKind, Version};
use crate::error::Result;

/// One address the coverage is computed for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Address {
    pub fid: i64,
    pub lon: f64,
    pub lat: f64,
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub postcode: Option<String>,
    pub locality: Option<String>,
}

/// The layer of an OSM table that holds its addresses.
pub const OSM_ADDRESSES: &str = "address";

/// Every address of `version` (an addresses dataset; the `address` layer of an OSM dataset;
/// any other dataset's features with what of street, number, postcode and place it has), in
/// lon/lat, by fid.
pub async fn addresses(
    pool: &PgPool,
    version: &Version,
    kind: DatasetKind,
) -> Result<Vec<Address>> {
    let column = |names: &[&str]| {
        names.iter().find_map(|n| {
            version
                .columns
                .iter()
                .find(|c| c.name == *n)
                .map(|c| format!("{}::text", c.ident()))
        })
    };
    let text = |names: &[&str]| column(names).unwrap_or_else(|| "NULL::text".into());
    let number = match (
        column(&["house_number", "housenumber"]),
        column(&["house_number_suffix"]),
    ) {
        (Some(n), Some(s)) => format!("nullif(concat({n}, {s}), '')"),
        (Some(n), None) => n,
        (None, _) => "NULL::text".into(),
    };
    let only = if kind == DatasetKind::Osm {
        " AND layer = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT fid, ST_X(p) AS lon, ST_Y(p) AS lat, {street} AS street, {number} AS house_number, \
           {postcode} AS postcode, {locality} AS locality \
         FROM (SELECT *, ST_Transform(ST_PointOnSurface(geom), 4326) AS p FROM {table} \
               WHERE geom IS NOT NULL{only}) a ORDER BY fid",
        street = text(&["street"]),
        postcode = text(&["postcode"]),
        locality = text(&["locality", "city"]),
        table = version.table(),
    );
    let mut query = sqlx::query_as(&sql);
    if kind == DatasetKind::Osm {
        query = query.bind(OSM_ADDRESSES);
    }
    Ok(query.fetch_all(pool).await?)
}

/// One connected area around addresses beyond the threshold.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Gap {
    /// GeoJSON (lon/lat).
    pub geometry: String,
    pub addresses: i64,
    /// The longest walk of its addresses, minutes; `None` when one of them no walk reaches.
    pub max_minutes: Option<f64>,
    pub unreachable: i64,
    pub area_m2: f64,
}

/// The union of the circles of `radius_m` around the points (lon, lat, minutes or `None` for
/// no walk at all), as its connected parts, each with its addresses counted. Buffered in
/// ETRS89 / UTM 32N, whose scale is within 0.1 % over the German counties the zone serves and
/// within 0.4 % at the eastern border.
pub async fn gaps(
    pool: &PgPool,
    points: &[(f64, f64, Option<f64>)],
    radius_m: f64,
) -> Result<Vec<Gap>> {
    if points.is_empty() {
        return Ok(Vec::new());
    }
    let lon: Vec<f64> = points.iter().map(|p| p.0).collect();
    let lat: Vec<f64> = points.iter().map(|p| p.1).collect();
    let minutes: Vec<Option<f64>> = points.iter().map(|p| p.2).collect();
    Ok(sqlx::query_as(
        "WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 4326), 25832) AS g, m \
                    FROM unnest($1::float8[], $2::float8[], $3::float8[]) AS t(x, y, m)), \
              a AS (SELECT row_number() OVER () AS n, d.geom FROM \
                    (SELECT (ST_Dump(ST_Union(ST_Buffer(g, $4, 8)))).geom FROM p) d) \
         SELECT ST_AsGeoJSON(ST_Transform(a.geom, 4326), 7) AS geometry, \
                count(*) AS addresses, \
                CASE WHEN bool_and(p.m IS NOT NULL) THEN max(p.m) END AS max_minutes, \
                count(*) FILTER (WHERE p.m IS NULL) AS unreachable, \
                ST_Area(a.geom) AS area_m2 \
         FROM a JOIN p ON ST_Intersects(a.geom, p.g) \
         GROUP BY a.n, a.geom ORDER BY a.n",
    )
    .bind(&lon)
    .bind(&lat)
    .bind(&minutes)
    .bind(radius_m)
    .fetch_all(pool)
    .await?)
}

/// A computation as recorded: what `aed coverage` computed a dataset from.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Recorded {
    pub dataset_id: String,
    pub aed: String,
    pub network: String,
    pub addresses: String,
    pub threshold_min: f64,
    pub speed_kmh: f64,
    pub snap_max_m: f64,
    /// `YYYY-MM-DDThh:mm`, German local time.
    pub at: Option<String>,
}

/// Records (or replaces) how `dataset_id` is computed.
pub async fn record(pool: &PgPool, r: &Recorded) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog.coverage \
           (dataset_id, aed, network, addresses, threshold_min, speed_kmh, snap_max_m, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (dataset_id) DO UPDATE SET aed = $2, network = $3, addresses = $4, \
           threshold_min = $5, speed_kmh = $6, snap_max_m = $7, at = $8, updated_at = now()",
    )
    .bind(&r.dataset_id)
    .bind(&r.aed)
    .bind(&r.network)
    .bind(&r.addresses)
    .bind(r.threshold_min)
    .bind(r.speed_kmh)
    .bind(r.snap_max_m)
    .bind(&r.at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The recorded computations that read `dataset_id`.
pub async fn reading(pool: &PgPool, dataset_id: &str) -> Result<Vec<Recorded>> {
    Ok(sqlx::query_as(
        "SELECT dataset_id, aed, network, addresses, threshold_min, speed_kmh, snap_max_m, at \
         FROM catalog.coverage \
         WHERE $1 IN (aed, network, addresses) AND dataset_id <> $1 ORDER BY dataset_id",
    )
    .bind(dataset_id)
    .fetch_all(pool)
    .await?)
}

/// Who may use each defibrillator of `version` and when: fid, `access`, `opening_hours`
/// (NULL where the dataset lacks the column).
pub async fn aed_rules(
    pool: &PgPool,
    version: &Version,
) -> Result<Vec<(i64, Option<String>, Option<String>)>> {
    let column = |name: &str| {
        version.columns.iter().find(|c| c.name == name).map_or_else(
            || "NULL::text".to_string(),
            |c| format!("{}::text", c.ident()),
        )
    };
    Ok(sqlx::query_as(&format!(
        "SELECT fid, {access}, {hours} FROM {table} WHERE geom IS NOT NULL ORDER BY fid",
        access = column("access"),
        hours = column("opening_hours"),
        table = version.table(),
    ))
    .fetch_all(pool)
    .await?)
}
