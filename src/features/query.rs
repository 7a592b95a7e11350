//! SQL for the features endpoints. Identifiers come from the catalog through `Ident`; every
//! request value is a bind parameter.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::filter::Predicate;
use super::params::{Bbox, ItemsQuery, SortKey};
use crate::catalog::{ColumnType, Version};
use crate::crs::{ApiCrs, Point, WGS84_SRID};
use crate::db::spatial;
use crate::error::{Error, Result};
use crate::features::encode::PageRow;
use crate::value::{FeatureRow, Value};

/// `SELECT fid, <columns>, geom` of a version table, jsonb columns as text, the geometry in the
/// requested CRS and axis order.
fn push_select(qb: &mut QueryBuilder<'_, Postgres>, version: &Version, crs: &ApiCrs) {
    push_columns(qb, version, crs);
    qb.push(" FROM ");
    qb.push(version.table().to_string());
}

/// The select list of [`push_select`], for queries with their own FROM.
fn push_columns(qb: &mut QueryBuilder<'_, Postgres>, version: &Version, crs: &ApiCrs) {
    qb.push("SELECT fid");
    for c in &version.columns {
        qb.push(", ");
        qb.push(c.ty.select_expr(&c.ident()));
    }
    // The SRID is one of the served CRSs (a whitelisted integer), never request text.
    let mut geometry = version.geometry_in(crs.srid);
    if crs.lat_lon {
        geometry = format!("ST_FlipCoordinates({geometry})");
    }
    qb.push(format!(", ST_AsEWKB({geometry}) AS geom"));
}

fn push_filter(
    qb: &mut QueryBuilder<'_, Postgres>,
    version: &Version,
    bbox: Option<Bbox>,
    predicate: Option<&Predicate>,
) {
    qb.push(" WHERE true");
    if let Some(p) = predicate {
        qb.push(" AND ");
        p.push(qb, version.source_crs, version.bbox);
    }
    let Some(b) = bbox else { return };
    let parts = spatial::window(b, version.bbox);
    if parts.is_empty() {
        qb.push(" AND false");
        return;
    }
    qb.push(" AND (");
    for (i, w) in parts.into_iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        // && uses the GiST index; ST_Intersects makes the answer exact.
        qb.push("(geom && ");
        spatial::push_envelope(qb, w, version.source_crs);
        qb.push(" AND ST_Intersects(geom, ");
        spatial::push_envelope(qb, w, version.source_crs);
        qb.push("))");
    }
    qb.push(")");
}

/// Decodes a row of [`push_select`] by the catalog's column types.
fn decode(row: &PgRow, version: &Version) -> Result<FeatureRow> {
    let mut values = Vec::with_capacity(version.columns.len());
    for (i, c) in version.columns.iter().enumerate() {
        let idx = i + 1;
        let v = match c.ty {
            ColumnType::Integer => row.try_get::<Option<i64>, _>(idx)?.map(Value::Int),
            ColumnType::Float => row.try_get::<Option<f64>, _>(idx)?.map(Value::Float),
            ColumnType::Boolean => row.try_get::<Option<bool>, _>(idx)?.map(Value::Bool),
            ColumnType::Text
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::TimestampTz => row.try_get::<Option<String>, _>(idx)?.map(Value::Text),
            ColumnType::Json => row.try_get::<Option<String>, _>(idx)?.map(Value::Json),
        };
        values.push(v);
    }
    Ok(FeatureRow {
        fid: row.try_get(0)?,
        values,
        geometry: row.try_get("geom")?,
        extra: Vec::new(),
    })
}

/// Matches beyond this many are not counted: counting them would cost about as much as
/// harvesting them. `numberMatched` is then left out.
pub const COUNT_LIMIT: i64 = 100_000;

/// The count column of a counted page; `#` never occurs in a catalog column's name.
const MATCHED: &str = "#matched";

/// One page in key order, plus one extra row when a further page exists. With `count`, the
/// first page of a filtered request also counts every match in the same query (a window count
/// over the filtered rows, capped at [`COUNT_LIMIT`]): the filter runs once for both. Beyond
/// the cap the rows of that query are not the first ones, so the page is queried again without
/// counting.
pub fn page(
    pool: PgPool,
    version: Version,
    q: ItemsQuery,
    count: bool,
) -> BoxStream<'static, Result<PageRow>> {
    let count = count && q.cursor.is_none() && (q.bbox.is_some() || q.predicate.is_some());
    async_stream::try_stream! {
        let mut uncounted = true;
        if count {
            let mut qb = QueryBuilder::new("");
            push_counted_page(&mut qb, &version, &q);
            let mut rows = qb.build().fetch(&pool).map_err(Error::from);
            uncounted = false;
            while let Some(row) = rows.next().await {
                let row = row?;
                let matched: i64 = row.try_get(MATCHED)?;
                if matched > COUNT_LIMIT {
                    uncounted = true;
                    break;
                }
                yield PageRow { feature: decode(&row, &version)?, matched: Some(matched) };
            }
        }
        if uncounted {
            let mut qb = QueryBuilder::new("");
            push_select(&mut qb, &version, &q.crs);
            push_page(&mut qb, &version, &q);
            let mut rows = qb.build().fetch(&pool).map_err(Error::from);
            while let Some(row) = rows.next().await {
                yield PageRow { feature: decode(&row?, &version)?, matched: None };
            }
        }
    }
    .boxed()
}

/// Every feature of a version in key order, geometries in `crs` (a whole-file download).
pub fn all(pool: PgPool, version: Version, crs: ApiCrs) -> BoxStream<'static, Result<FeatureRow>> {
    async_stream::try_stream! {
        let mut qb = QueryBuilder::new("");
        push_select(&mut qb, &version, &crs);
        qb.push(" ORDER BY fid");
        let mut rows = qb.build().fetch(&pool).map_err(Error::from);
        while let Some(row) = rows.next().await {
            yield decode(&row?, &version)?;
        }
    }
    .boxed()
}

/// The WHERE, ORDER BY and LIMIT of a page: the filters, the rows after the cursor, and one row
/// more than the page holds (it tells that another page follows).
fn push_page(qb: &mut QueryBuilder<'_, Postgres>, version: &Version, q: &ItemsQuery) {
    push_filter(qb, version, q.bbox, q.predicate.as_ref());
    if let Some(cursor) = q.cursor {
        qb.push(" AND ");
        push_after(qb, version, &q.sort, cursor.after);
    }
    push_order_limit(qb, q);
}

/// A first page whose rows carry the number of matches (up to one more than [`COUNT_LIMIT`]).
/// Geometries are transformed and encoded in the outer query, for the page's rows only.
fn push_counted_page(qb: &mut QueryBuilder<'_, Postgres>, version: &Version, q: &ItemsQuery) {
    push_columns(qb, version, &q.crs);
    qb.push(format!(
        ", \"{MATCHED}\" FROM (SELECT *, count(*) OVER () AS \"{MATCHED}\" FROM (SELECT * FROM "
    ));
    qb.push(version.table().to_string());
    push_filter(qb, version, q.bbox, q.predicate.as_ref());
    qb.push(" LIMIT ");
    qb.push_bind(COUNT_LIMIT + 1);
    qb.push(") matches");
    push_order_limit(qb, q);
    qb.push(") page");
    push_order(qb, q);
}

fn push_order_limit(qb: &mut QueryBuilder<'_, Postgres>, q: &ItemsQuery) {
    push_order(qb, q);
    qb.push(" LIMIT ");
    qb.push_bind(i64::from(q.limit) + 1);
}

fn push_order(qb: &mut QueryBuilder<'_, Postgres>, q: &ItemsQuery) {
    qb.push(" ORDER BY ");
    for key in &q.sort {
        qb.push(format!(
            "{} {}, ",
            key.column.ident(),
            if key.descending {
                "DESC NULLS FIRST"
            } else {
                "ASC NULLS LAST"
            }
        ));
    }
    qb.push("fid");
}

/// Keyset paging: the rows that come after feature `after` in the sort order. A version never
/// changes, so the cursor needs only that feature's id: its sort values are looked up (once,
/// as an init plan). NULL sorts as the greatest value in both directions (ASC NULLS LAST, DESC
/// NULLS FIRST). Without `sortby` this is `fid > after`: one index probe at any depth.
fn push_after(
    qb: &mut QueryBuilder<'_, Postgres>,
    version: &Version,
    sort: &[SortKey],
    after: i64,
) {
    let Some((key, rest)) = sort.split_first() else {
        qb.push("fid > ");
        qb.push_bind(after);
        return;
    };
    let column = key.column.ident();
    let last = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(format!(
            "(SELECT {column} FROM {} WHERE fid = ",
            version.table()
        ));
        qb.push_bind(after);
        qb.push(")");
    };
    qb.push("((");
    if key.descending {
        qb.push("(");
        last(qb);
        qb.push(format!(" IS NULL AND {column} IS NOT NULL) OR {column} < "));
        last(qb);
    } else {
        last(qb);
        qb.push(format!(" IS NOT NULL AND ({column} > "));
        last(qb);
        qb.push(format!(" OR {column} IS NULL)"));
    }
    qb.push(format!(") OR ({column} IS NOT DISTINCT FROM "));
    last(qb);
    qb.push(" AND ");
    push_after(qb, version, rest, after);
    qb.push("))");
}

/// When a page is followed by another, the id of its last feature (for the `next` cursor of
/// formats that must send their links before the rows, such as CSV's `Link` header).
pub async fn next_cursor(pool: &PgPool, version: &Version, q: &ItemsQuery) -> Result<Option<i64>> {
    let mut qb = QueryBuilder::new("SELECT fid FROM ");
    qb.push(version.table().to_string());
    push_page(&mut qb, version, q);
    let fids: Vec<i64> = qb.build_query_scalar().fetch_all(pool).await?;
    let limit = q.limit as usize;
    Ok((fids.len() > limit).then(|| fids[limit - 1]))
}

/// The `limit` features nearest to `point`, nearest first, with their distance in metres
/// on the WGS 84 ellipsoid, geometries in `crs`. The spatial index (KNN `<->`, planar in the
/// table's CRS) picks candidates; because planar distance is not geodesic distance (in lon/lat
/// degrees of longitude are shorter than degrees of latitude), it picks several times more than
/// asked and the exact geodesic distance orders them. `exclude` drops features whose text column
/// has one of the values (an AED's `access=private`).
pub async fn nearest(
    pool: &PgPool,
    version: &Version,
    point: Point,
    limit: u32,
    exclude: Option<(&crate::catalog::Column, &[&str])>,
    crs: &ApiCrs,
) -> Result<Vec<FeatureRow>> {
    let mut qb = QueryBuilder::new("");
    push_columns(&mut qb, version, crs);
    qb.push(format!(
        ", ST_Distance({}::geography, ",
        version.geometry_in(WGS84_SRID)
    ));
    spatial::push_point(&mut qb, point, WGS84_SRID);
    qb.push("::geography) AS distance_m FROM (SELECT * FROM ");
    qb.push(version.table().to_string());
    qb.push(" WHERE geom IS NOT NULL");
    if let Some((column, values)) = exclude {
        qb.push(format!(
            " AND coalesce(lower({}), '') <> ALL(",
            column.ident()
        ));
        qb.push_bind(values.iter().map(ToString::to_string).collect::<Vec<_>>());
        qb.push(")");
    }
    qb.push(" ORDER BY geom <-> ");
    spatial::push_point(&mut qb, point, version.source_crs);
    qb.push(" LIMIT ");
    qb.push_bind(i64::from(limit) * 4 + 16);
    qb.push(") candidates ORDER BY distance_m, fid LIMIT ");
    qb.push_bind(i64::from(limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            let mut feature = decode(row, version)?;
            let distance: f64 = row.try_get("distance_m")?;
            feature.extra.push((
                "distance_m",
                Some(Value::Float((distance * 10.0).round() / 10.0)),
            ));
            Ok(feature)
        })
        .collect()
}

/// The features `fids` with their `distance_m` from `point` as [`nearest`] gives it, in fid
/// order; those `exclude` drops and those not there are missing.
pub async fn with_distance(
    pool: &PgPool,
    version: &Version,
    point: Point,
    fids: &[i64],
    exclude: Option<(&crate::catalog::Column, &[&str])>,
    crs: &ApiCrs,
) -> Result<Vec<FeatureRow>> {
    let mut qb = QueryBuilder::new("");
    push_columns(&mut qb, version, crs);
    qb.push(format!(
        ", ST_Distance({}::geography, ",
        version.geometry_in(WGS84_SRID)
    ));
    spatial::push_point(&mut qb, point, WGS84_SRID);
    qb.push("::geography) AS distance_m FROM ");
    qb.push(version.table().to_string());
    qb.push(" WHERE geom IS NOT NULL AND fid = ANY(");
    qb.push_bind(fids.to_vec());
    qb.push(")");
    if let Some((column, values)) = exclude {
        qb.push(format!(
            " AND coalesce(lower({}), '') <> ALL(",
            column.ident()
        ));
        qb.push_bind(values.iter().map(ToString::to_string).collect::<Vec<_>>());
        qb.push(")");
    }
    qb.push(" ORDER BY fid");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            let mut feature = decode(row, version)?;
            let distance: f64 = row.try_get("distance_m")?;
            feature.extra.push((
                "distance_m",
                Some(Value::Float((distance * 10.0).round() / 10.0)),
            ));
            Ok(feature)
        })
        .collect()
}

/// The features whose geometry contains `point` (or has it on its boundary), in id order, at
/// most `limit`: the roof under a click, the parcel under a house.
pub async fn at(
    pool: &PgPool,
    version: &Version,
    point: Point,
    limit: u32,
    crs: &ApiCrs,
) -> Result<Vec<FeatureRow>> {
    let mut qb = QueryBuilder::new("");
    push_select(&mut qb, version, crs);
    qb.push(" WHERE ST_Intersects(geom, ");
    spatial::push_point(&mut qb, point, version.source_crs);
    qb.push(") ORDER BY fid LIMIT ");
    qb.push_bind(i64::from(limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(|row| decode(row, version)).collect()
}

/// One feature by its id.
pub async fn feature(
    pool: &PgPool,
    version: &Version,
    fid: i64,
    crs: &ApiCrs,
) -> Result<Option<FeatureRow>> {
    let mut qb = QueryBuilder::new("");
    push_select(&mut qb, version, crs);
    qb.push(" WHERE fid = ");
    qb.push_bind(fid);
    let row = qb.build().fetch_optional(pool).await?;
    row.as_ref().map(|r| decode(r, version)).transpose()
}
