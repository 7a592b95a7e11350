//! SQL for the features endpoints. Identifiers come from the catalog through `Ident`; every
//! request value is a bind parameter.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::params::{Bbox, ItemsQuery};
use crate::catalog::{ColumnType, Version};
use crate::crs::{ApiCrs, STORAGE_SRID};
use crate::error::{Error, Result};
use crate::value::{FeatureRow, Value};

/// `SELECT fid, <columns>, geom` of a version table, jsonb columns as text, the geometry in the
/// requested CRS and axis order.
fn push_select(qb: &mut QueryBuilder<'_, Postgres>, version: &Version, crs: &ApiCrs) {
    qb.push("SELECT fid");
    for c in &version.columns {
        qb.push(", ");
        qb.push(c.ty.select_expr(&c.ident()));
    }
    // The SRID is one of the served CRSs (a whitelisted integer), never request text.
    let mut geometry = if crs.srid == STORAGE_SRID {
        "geom".to_string()
    } else {
        format!("ST_Transform(geom, {})", crs.srid)
    };
    if crs.lat_lon {
        geometry = format!("ST_FlipCoordinates({geometry})");
    }
    qb.push(format!(", ST_AsEWKB({geometry}) AS geom FROM "));
    qb.push(version.table().to_string());
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, bbox: Option<Bbox>) {
    qb.push(" WHERE true");
    if let Some(b) = bbox {
        // && uses the GiST index; ST_Intersects makes the answer exact.
        qb.push(" AND geom && ");
        push_bbox(qb, b);
        qb.push(" AND ST_Intersects(geom, ");
        push_bbox(qb, b);
        qb.push(")");
    }
}

/// The box as a polygon in the storage CRS. A box in a projected CRS is densified first, so
/// that its edges stay where they are after the transformation.
fn push_bbox(qb: &mut QueryBuilder<'_, Postgres>, b: Bbox) {
    let transform = b.srid != STORAGE_SRID;
    if transform {
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
        qb.push_bind(((b.max_x - b.min_x).max(b.max_y - b.min_y) / 64.0).max(1e-9));
        qb.push(format!("), {STORAGE_SRID})"));
    }
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
    })
}

/// Number of features matching the filter; the catalog's count when there is none.
pub async fn count(pool: &PgPool, version: &Version, bbox: Option<Bbox>) -> Result<i64> {
    if bbox.is_none() {
        return Ok(version.feature_count);
    }
    let mut qb = QueryBuilder::new("SELECT count(*) FROM ");
    qb.push(version.table().to_string());
    push_filter(&mut qb, bbox);
    Ok(qb.build_query_scalar().fetch_one(pool).await?)
}

/// One page in key order, plus one extra row when a further page exists.
pub fn page(
    pool: PgPool,
    version: Version,
    q: ItemsQuery,
) -> BoxStream<'static, Result<FeatureRow>> {
    async_stream::try_stream! {
        let mut qb = QueryBuilder::new("");
        push_select(&mut qb, &version, &q.crs);
        push_filter(&mut qb, q.bbox);
        if let Some(cursor) = q.cursor {
            // Keyset paging: any depth costs one index probe, unlike OFFSET.
            qb.push(" AND fid > ");
            qb.push_bind(cursor.after);
        }
        qb.push(" ORDER BY fid LIMIT ");
        qb.push_bind(i64::from(q.limit) + 1);
        let mut rows = qb.build().fetch(&pool).map_err(Error::from);
        while let Some(row) = rows.next().await {
            yield decode(&row?, &version)?;
        }
    }
    .boxed()
}

/// When a page is followed by another, the id of its last feature (for the `next` cursor of
/// formats that must send their links before the rows, such as CSV's `Link` header).
pub async fn next_cursor(pool: &PgPool, version: &Version, q: &ItemsQuery) -> Result<Option<i64>> {
    let mut qb = QueryBuilder::new("SELECT fid, count(*) OVER () FROM (SELECT fid FROM ");
    qb.push(version.table().to_string());
    push_filter(&mut qb, q.bbox);
    if let Some(cursor) = q.cursor {
        qb.push(" AND fid > ");
        qb.push_bind(cursor.after);
    }
    qb.push(" ORDER BY fid LIMIT ");
    qb.push_bind(i64::from(q.limit) + 1);
    qb.push(") page ORDER BY fid DESC LIMIT 2");
    // The window counts the page before LIMIT 2 applies: limit + 1 rows mean another page.
    let last_two: Vec<(i64, i64)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(match last_two.as_slice() {
        [_, (last_of_page, rows)] if *rows > i64::from(q.limit) => Some(*last_of_page),
        _ => None,
    })
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
