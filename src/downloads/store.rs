//! SQL over `catalog.downloads` and `catalog.download_chunks`.

use futures::stream::BoxStream;
use futures::StreamExt;
use sqlx::{PgConnection, PgPool, Row};

use super::{FileKind, Format};
use crate::error::{Error, Result};

/// Bytes per stored chunk.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A stored file: its row, without the bytes.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: i64,
    pub version_id: i64,
    pub kind: FileKind,
    pub bytes: i64,
    pub sha256: String,
    pub features: i64,
    pub created_at: String,
}

const COLUMNS: &str = "d.id, d.version_id, d.format, d.srid, d.bytes, d.sha256, d.features, \
     to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at";

fn from_row(row: &sqlx::postgres::PgRow) -> Result<StoredFile> {
    let format: String = row.try_get("format")?;
    Ok(StoredFile {
        id: row.try_get("id")?,
        version_id: row.try_get("version_id")?,
        kind: FileKind {
            format: Format::from_code(&format)
                .ok_or_else(|| Error::Internal(format!("unknown download format '{format}'")))?,
            srid: row.try_get("srid")?,
        },
        bytes: row.try_get("bytes")?,
        sha256: row.try_get("sha256")?,
        features: row.try_get("features")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The files built for the given versions, in the order of [`super::FILES`] per version.
pub async fn files_of(pool: &PgPool, version_ids: &[i64]) -> Result<Vec<StoredFile>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM catalog.downloads d WHERE d.version_id = ANY($1) \
         ORDER BY d.version_id, d.format, d.srid"
    );
    let rows = sqlx::query(&sql).bind(version_ids).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// Active versions that lack some file, oldest first, with the kinds they lack.
pub async fn missing(pool: &PgPool) -> Result<Vec<(i64, Vec<FileKind>)>> {
    let rows = sqlx::query(
        "SELECT v.id, array_agg(d.format || ':' || d.srid) FILTER (WHERE d.id IS NOT NULL) AS have \
         FROM catalog.datasets s JOIN catalog.versions v ON v.id = s.active_version \
         LEFT JOIN catalog.downloads d ON d.version_id = v.id \
         GROUP BY v.id ORDER BY v.id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let have: Option<Vec<String>> = row.try_get("have")?;
        let have = have.unwrap_or_default();
        let lacking: Vec<FileKind> = super::FILES
            .into_iter()
            .filter(|k| !have.contains(&format!("{}:{}", k.format.code(), k.srid)))
            .collect();
        if !lacking.is_empty() {
            out.push((row.try_get("id")?, lacking));
        }
    }
    Ok(out)
}

/// Takes the right to build a version's file: a transaction-scoped advisory lock, so that of
/// several nodes one builds and the others go on. `false` when another holds it.
pub async fn lock_build(conn: &mut PgConnection, version_id: i64, kind: FileKind) -> Result<bool> {
    let key = format!(
        "kreisgeo-download-{version_id}-{}-{}",
        kind.format.code(),
        kind.srid
    );
    Ok(
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Whether the file exists already (built by another node meanwhile).
pub async fn exists(conn: &mut PgConnection, version_id: i64, kind: FileKind) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM catalog.downloads \
         WHERE version_id = $1 AND format = $2 AND srid = $3)",
    )
    .bind(version_id)
    .bind(kind.format.code())
    .bind(kind.srid)
    .fetch_one(&mut *conn)
    .await?)
}

/// The row of a file about to be stored; its chunks follow with [`insert_chunk`].
pub async fn insert_file(
    conn: &mut PgConnection,
    version_id: i64,
    kind: FileKind,
    bytes: i64,
    sha256: &str,
    features: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO catalog.downloads (version_id, format, srid, bytes, sha256, features) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(version_id)
    .bind(kind.format.code())
    .bind(kind.srid)
    .bind(bytes)
    .bind(sha256)
    .bind(features)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn insert_chunk(conn: &mut PgConnection, file: i64, seq: i32, data: &[u8]) -> Result<()> {
    sqlx::query("INSERT INTO catalog.download_chunks (download_id, seq, data) VALUES ($1, $2, $3)")
        .bind(file)
        .bind(seq)
        .bind(data)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Bytes `start..end` of a file, chunk by chunk; one query per chunk, so a long download holds
/// no connection between chunks and memory stays at one chunk.
pub fn read(
    pool: PgPool,
    file: i64,
    start: u64,
    end: u64,
) -> BoxStream<'static, Result<bytes::Bytes>> {
    async_stream::try_stream! {
        let chunk = CHUNK_BYTES as u64;
        let mut position = start;
        while position < end {
            let seq = position / chunk;
            let within = position % chunk;
            let take = (chunk - within).min(end - position);
            // substring on an uncompressed (EXTERNAL) bytea reads only the bytes asked for.
            let data: Vec<u8> = sqlx::query_scalar(
                "SELECT substring(data FROM $3::int + 1 FOR $4::int) FROM catalog.download_chunks \
                 WHERE download_id = $1 AND seq = $2",
            )
            .bind(file)
            .bind(i32::try_from(seq).map_err(|_| Error::Internal("download too large".into()))?)
            .bind(within as i32)
            .bind(take as i32)
            .fetch_optional(&pool)
            .await?
            .ok_or_else(|| Error::Internal(format!("download {file}: chunk {seq} is missing")))?;
            if data.len() as u64 != take {
                Err(Error::Internal(format!("download {file}: chunk {seq} is short")))?;
            }
            position += take;
            yield bytes::Bytes::from(data);
        }
    }
    .boxed()
}
