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
        "SELECT ST_AsGeoJSON(ST_Transform(t.geom, 4326), 9), to_jsonb(t) - 'geom' - 'fid' - 'tile_size' \
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

/// Bytes per kept chunk of an extract's file.
const CHUNK: usize = 8 << 20;

/// Keeps the extract file `path` (by its SHA-256) unless it is kept already.
pub async fn keep_extract(
    conn: &mut PgConnection,
    sha256: &str,
    path: &std::path::Path,
) -> Result<()> {
    use tokio::io::AsyncReadExt;
    // An update of a kept file's row locks it against a concurrent removal of unused files.
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO catalog.osm_extracts (sha256, bytes) VALUES ($1, 0) \
         ON CONFLICT (sha256) DO UPDATE SET kept_at = now() RETURNING xmax = 0",
    )
    .bind(sha256)
    .fetch_one(&mut *conn)
    .await?;
    if !inserted {
        return Ok(());
    }
    let io = |e| crate::ingest::IngestError::io(path, e);
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let (mut seq, mut bytes) = (0i32, 0i64);
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        (&mut file)
            .take(CHUNK as u64)
            .read_to_end(&mut chunk)
            .await
            .map_err(io)?;
        if chunk.is_empty() {
            break;
        }
        bytes += chunk.len() as i64;
        sqlx::query(
            "INSERT INTO catalog.osm_extract_chunks (sha256, seq, data) VALUES ($1, $2, $3)",
        )
        .bind(sha256)
        .bind(seq)
        .bind(chunk)
        .execute(&mut *conn)
        .await?;
        seq += 1;
    }
    sqlx::query("UPDATE catalog.osm_extracts SET bytes = $2 WHERE sha256 = $1")
        .bind(sha256)
        .bind(bytes)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the kept extract file `sha256` to `out`, chunk by chunk; false if it is not kept.
pub async fn write_extract(
    pool: &sqlx::PgPool,
    sha256: &str,
    out: &mut tokio::fs::File,
) -> Result<bool> {
    use tokio::io::AsyncWriteExt;
    let scratch =
        |e| crate::error::Error::Internal(format!("writing a kept extract to scratch space: {e}"));
    let chunks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM catalog.osm_extract_chunks WHERE sha256 = $1")
            .bind(sha256)
            .fetch_one(pool)
            .await?;
    if chunks == 0 {
        return Ok(false);
    }
    for seq in 0..chunks {
        let data: Vec<u8> = sqlx::query_scalar(
            "SELECT data FROM catalog.osm_extract_chunks WHERE sha256 = $1 AND seq = $2",
        )
        .bind(sha256)
        .bind(seq as i32)
        .fetch_one(pool)
        .await?;
        out.write_all(&data).await.map_err(scratch)?;
    }
    out.flush().await.map_err(scratch)?;
    Ok(true)
}

/// What a version of an extract was read from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Lineage {
    pub extract_sha256: String,
    /// The applied changes as a gzipped OsmChange document; `None` for the file as loaded.
    pub overlay: Option<Vec<u8>>,
    /// Change files applied since the extract was loaded.
    pub changes_applied: i32,
}

/// Records what `version` was read from.
pub async fn insert_lineage(
    conn: &mut PgConnection,
    version: i64,
    lineage: &Lineage,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog.osm_lineage (version_id, extract_sha256, overlay, changes_applied) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(version)
    .bind(&lineage.extract_sha256)
    .bind(&lineage.overlay)
    .bind(lineage.changes_applied)
    .execute(conn)
    .await?;
    Ok(())
}

/// What `version` was read from; `None` for a version loaded before extracts were kept.
pub async fn lineage(pool: &sqlx::PgPool, version: i64) -> Result<Option<Lineage>> {
    Ok(sqlx::query_as(
        "SELECT extract_sha256, overlay, changes_applied FROM catalog.osm_lineage \
         WHERE version_id = $1",
    )
    .bind(version)
    .fetch_optional(pool)
    .await?)
}

/// The active version of `dataset`, its row locked until the transaction ends.
pub async fn lock_active(conn: &mut PgConnection, dataset: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT active_version FROM catalog.datasets WHERE id = $1 FOR UPDATE")
            .bind(dataset)
            .fetch_optional(conn)
            .await?
            .flatten(),
    )
}

/// Removes the kept extract files no kept version is read from.
pub async fn drop_unused_extracts(conn: &mut PgConnection) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM catalog.osm_extracts e WHERE NOT EXISTS \
         (SELECT 1 FROM catalog.osm_lineage l WHERE l.extract_sha256 = e.sha256)",
    )
    .execute(conn)
    .await?
    .rows_affected())
}
