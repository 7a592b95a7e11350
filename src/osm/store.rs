//! The SQL of an OSM version: its two tables (the features and the walking network), filled by
//! binary COPY, repaired, indexed and switched to in the ingest's transaction.

use bytes::Bytes;
use sqlx::PgConnection;
use tokio::sync::mpsc::Receiver;

use crate::catalog::{Column, ColumnType};
use crate::db::ident::{Ident, QualifiedTable};
use crate::error::Result;
use crate::ingest::copy::COPY_OPTIONS;

/// The walking network's columns after `fid`, before `geom`.
pub const WALK_COLUMNS: &[(&str, ColumnType)] = &[
    ("source", ColumnType::Integer),
    ("target", ColumnType::Integer),
    ("length_m", ColumnType::Float),
    ("highway", ColumnType::Text),
    ("name", ColumnType::Text),
    ("osm_id", ColumnType::Integer),
    ("piece_edges", ColumnType::Integer),
];

/// The ingest's transaction, with memory for the index builds.
pub async fn begin(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Creates the feature table (mixed geometries in WGS 84, as OSM has them) and the walking
/// network's table (lines).
pub async fn create_tables(
    conn: &mut PgConnection,
    features: &QualifiedTable,
    columns: &[Column],
    walk: &QualifiedTable,
    walk_columns: &[Column],
) -> Result<()> {
    let mut sql = format!("CREATE TABLE {features} (fid bigint NOT NULL");
    for c in columns {
        sql.push_str(&format!(", {} {}", c.ident(), c.ty.sql_type()));
    }
    sql.push_str(", geom geometry(Geometry, 4326))");
    sqlx::query(&sql).execute(&mut *conn).await?;
    let mut sql = format!("CREATE TABLE {walk} (fid bigint NOT NULL");
    for c in walk_columns {
        sql.push_str(&format!(", {} {}", c.ident(), c.ty.sql_type()));
    }
    sql.push_str(", geom geometry(LineString, 4326))");
    sqlx::query(&sql).execute(&mut *conn).await?;
    Ok(())
}

/// Copies the binary COPY chunks of `rx` into `table` (`fid`, `columns`, `geom`).
pub async fn copy_in(
    conn: &mut PgConnection,
    table: &QualifiedTable,
    columns: &[&str],
    mut rx: Receiver<Bytes>,
) -> Result<()> {
    let mut target = format!("COPY {table} (fid");
    for c in columns {
        target.push_str(&format!(", {}", Ident::new(*c)));
    }
    target.push_str(&format!(", geom) FROM STDIN {COPY_OPTIONS}"));
    let mut copy = conn.copy_in_raw(&target).await?;
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = copy.send(chunk).await {
            let _ = copy.abort("kreisgeo: database rejected a row").await;
            return Err(e.into());
        }
    }
    copy.finish().await?;
    Ok(())
}

/// Repairs invalid areas (self-touching rings of hand-drawn landuse), adds keys and indexes,
/// and returns how many areas were repaired and the extent (CRS84).
pub async fn finish(
    conn: &mut PgConnection,
    features: &QualifiedTable,
    features_name: &str,
    walk: &QualifiedTable,
    walk_name: &str,
) -> Result<(u64, Option<[f64; 4]>)> {
    let repaired = sqlx::query(&format!(
        "UPDATE {features} SET geom = ST_CollectionExtract(ST_MakeValid(geom), 3) \
         WHERE ST_Dimension(geom) = 2 AND NOT ST_IsValid(geom)"
    ))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // An area that repair leaves empty draws nothing.
    sqlx::query(&format!("DELETE FROM {features} WHERE ST_IsEmpty(geom)"))
        .execute(&mut *conn)
        .await?;
    let statements = [
        format!("ALTER TABLE {features} ADD PRIMARY KEY (fid)"),
        format!(
            "CREATE INDEX {} ON {features} USING gist (geom)",
            Ident::new(format!("{features_name}_geom_idx"))
        ),
        format!(
            "CREATE INDEX {} ON {features} (layer, class)",
            Ident::new(format!("{features_name}_layer_idx"))
        ),
        format!("ALTER TABLE {walk} ADD PRIMARY KEY (fid)"),
        format!(
            "CREATE INDEX {} ON {walk} USING gist (geom)",
            Ident::new(format!("{walk_name}_geom_idx"))
        ),
        format!(
            "CREATE INDEX {} ON {walk} (source)",
            Ident::new(format!("{walk_name}_source_idx"))
        ),
        format!(
            "CREATE INDEX {} ON {walk} (target)",
            Ident::new(format!("{walk_name}_target_idx"))
        ),
        format!("ANALYZE {features}"),
        format!("ANALYZE {walk}"),
    ];
    for statement in statements {
        sqlx::query(&statement).execute(&mut *conn).await?;
    }
    let extent: Option<(f64, f64, f64, f64)> = sqlx::query_as(&format!(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) \
         FROM (SELECT ST_Extent(geom) AS e FROM {features}) x WHERE e IS NOT NULL"
    ))
    .fetch_optional(&mut *conn)
    .await?;
    Ok((repaired, extent.map(|(a, b, c, d)| [a, b, c, d])))
}

/// Features in the table now (after repair).
pub async fn count(conn: &mut PgConnection, features: &QualifiedTable) -> Result<i64> {
    Ok(
        sqlx::query_scalar(&format!("SELECT count(*) FROM {features}"))
            .fetch_one(conn)
            .await?,
    )
}

/// Every feature of `version` as (GeoJSON geometry in WGS 84, properties by served name), in
/// feature order: what an OsmChange file is applied to.
pub async fn features_as_geojson(
    pool: &sqlx::PgPool,
    version: &crate::catalog::Version,
) -> Result<Vec<super::change::Feature>> {
    type Row = (
        String,
        sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
    );
    let table = version.table();
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT ST_AsGeoJSON(ST_Transform(t.geom, 4326), 9), to_jsonb(t) - 'geom' - 'fid' \
         FROM {table} t WHERE t.geom IS NOT NULL ORDER BY t.fid"
    ))
    .fetch_all(pool)
    .await?;
    let served: std::collections::HashMap<&str, &str> = version
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.original.as_str()))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(geometry, props)| {
            let props = props
                .0
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (served.get(k.as_str()).map_or(k, |s| (*s).to_string()), v))
                .collect();
            (geometry, props)
        })
        .collect())
}
