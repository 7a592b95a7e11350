//! The SQL of harvesting: the sources of datasets, what their last run learnt, and which are
//! due.

use serde::Serialize;
use sqlx::PgPool;

use super::fetch::Validators;
use crate::error::Result;

/// A source as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SourceRow {
    #[schema(example = 3)]
    pub id: i64,
    pub dataset_id: String,
    pub kind: String,
    pub url: String,
    pub dataset_kind: String,
    pub crs: Option<i32>,
    pub interval_s: i32,
    /// `[canonical attribute, source column]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub mapping: sqlx::types::Json<Vec<(String, String)>>,
    pub page_size: i32,
    /// An Overpass source's query.
    pub query: Option<String>,
    /// Where its credentials are read from at each run: `env:NAME` or `file:/path`.
    pub credentials: Option<String>,
    /// Of several sources of a dataset, whose attributes win (lower first; then the one
    /// added first).
    #[schema(example = 100)]
    pub priority: i32,
    #[serde(skip)]
    pub etag: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
    pub last_run_at: Option<String>,
    pub last_ok_at: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_version: Option<i64>,
}

const COLUMNS: &str = "id, dataset_id, kind, url, dataset_kind, crs, interval_s, mapping, \
    page_size, query, credentials, priority, etag, last_modified, \
    to_char(last_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_run_at, \
    to_char(last_ok_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_ok_at, \
    last_status, last_error, last_version";

/// A source to add.
#[derive(Debug, Clone)]
pub struct NewSource<'a> {
    pub dataset_id: &'a str,
    pub kind: &'a str,
    pub url: &'a str,
    pub dataset_kind: &'a str,
    pub crs: Option<i32>,
    pub interval_s: i32,
    pub mapping: &'a [(String, String)],
    pub page_size: i32,
    pub query: Option<&'a str>,
    pub credentials: Option<&'a str>,
    pub priority: i32,
}

/// Adds a source; `None` when the dataset already has one with that URL.
pub async fn add(pool: &PgPool, s: &NewSource<'_>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO catalog.sources \
           (dataset_id, kind, url, dataset_kind, crs, interval_s, mapping, page_size, query, \
            credentials, priority) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (dataset_id, url) DO NOTHING RETURNING id",
    )
    .bind(s.dataset_id)
    .bind(s.kind)
    .bind(s.url)
    .bind(s.dataset_kind)
    .bind(s.crs)
    .bind(s.interval_s)
    .bind(sqlx::types::Json(s.mapping))
    .bind(s.page_size)
    .bind(s.query)
    .bind(s.credentials)
    .bind(s.priority)
    .fetch_optional(pool)
    .await?)
}

/// Every source, of one dataset if given, by id.
pub async fn list(pool: &PgPool, dataset: Option<&str>) -> Result<Vec<SourceRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM catalog.sources WHERE $1::text IS NULL OR dataset_id = $1 ORDER BY id"
    ))
    .bind(dataset)
    .fetch_all(pool)
    .await?)
}

/// One source.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<SourceRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM catalog.sources WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Removes a source; whether it was there. The dataset keeps its versions.
pub async fn remove(pool: &PgPool, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM catalog.sources WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
        > 0)
}

/// A source whose last run failed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Failing {
    #[schema(example = 3)]
    pub id: i64,
    #[schema(example = "aed-nachbarkreis")]
    pub dataset: String,
    #[schema(
        example = "https://geoportal.nachbarkreis.de/collections/aed/items?limit=1000: HTTP 503"
    )]
    pub error: Option<String>,
    /// The last successful run (ISO 8601 UTC), if any: what the dataset serves is that old.
    pub last_ok_at: Option<String>,
}

/// The sources whose last run failed, by id.
pub async fn failing(pool: &PgPool) -> Result<Vec<Failing>> {
    Ok(sqlx::query_as(
        "SELECT id, dataset_id AS dataset, last_error AS error, \
           to_char(last_ok_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_ok_at \
         FROM catalog.sources WHERE last_status = 'failed' ORDER BY id",
    )
    .fetch_all(pool)
    .await?)
}

/// Sources whose interval has passed since their last run (or that never ran), oldest first.
pub async fn due(pool: &PgPool) -> Result<Vec<SourceRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM catalog.sources \
         WHERE last_run_at IS NULL OR last_run_at + make_interval(secs => interval_s) <= now() \
         ORDER BY last_run_at NULLS FIRST, id"
    ))
    .fetch_all(pool)
    .await?)
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Ran<'a> {
    NewVersion(i64, &'a Validators),
    Unchanged(Option<&'a Validators>),
    Failed(&'a str),
}

/// Records a run's end (and, after a success, the validators for the next request).
pub async fn record(pool: &PgPool, id: i64, ran: &Ran<'_>) -> Result<()> {
    let query = match ran {
        Ran::NewVersion(version, v) => sqlx::query(
            "UPDATE catalog.sources SET last_run_at = now(), last_ok_at = now(), \
               last_status = 'new-version', last_error = NULL, last_version = $2, \
               etag = $3, last_modified = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(version)
        .bind(&v.etag)
        .bind(&v.last_modified),
        Ran::Unchanged(Some(v)) => sqlx::query(
            "UPDATE catalog.sources SET last_run_at = now(), last_ok_at = now(), \
               last_status = 'unchanged', last_error = NULL, etag = $2, last_modified = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(&v.etag)
        .bind(&v.last_modified),
        Ran::Unchanged(None) => sqlx::query(
            "UPDATE catalog.sources SET last_run_at = now(), last_ok_at = now(), \
               last_status = 'unchanged', last_error = NULL WHERE id = $1",
        )
        .bind(id),
        Ran::Failed(error) => sqlx::query(
            "UPDATE catalog.sources SET last_run_at = now(), last_status = 'failed', \
               last_error = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(*error),
    };
    query.execute(pool).await?;
    Ok(())
}

/// Runs `f` holding the source's advisory lock, so that of several nodes one runs it; `None`
/// when another holds it.
pub async fn exclusively<T, F>(pool: &PgPool, id: i64, f: F) -> Result<Option<T>>
where
    F: std::future::Future<Output = T>,
{
    let mut conn = pool.acquire().await?;
    // The key's first half names kreisgeo's harvest, the second the source.
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(7121, $1::int)")
        .bind(id as i32)
        .fetch_one(&mut *conn)
        .await?;
    if !got {
        return Ok(None);
    }
    let out = f.await;
    sqlx::query("SELECT pg_advisory_unlock(7121, $1::int)")
        .bind(id as i32)
        .execute(&mut *conn)
        .await?;
    Ok(Some(out))
}

/// Writes a harvest run's line in the audit log (no key: the server's own schedule or the CLI).
pub async fn audit(pool: &PgPool, dataset: &str, outcome: &str, detail: &str) {
    let written = sqlx::query(
        "INSERT INTO catalog.audit_log (key_id, action, dataset_id, outcome, detail) \
         VALUES (NULL, 'harvest', $1, $2, $3)",
    )
    .bind(dataset)
    .bind(outcome)
    .bind(detail)
    .execute(pool)
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, dataset, "cannot write the audit log");
    }
}

/// Keeps what `source` answered as its part of its dataset's register; whether it differs from
/// what it answered before (when it does not, its time stays that of its last change).
pub async fn stage(
    pool: &PgPool,
    source: i64,
    srid: i32,
    features: &[super::register::Staged],
) -> Result<bool> {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new();
    digest.update(srid.to_le_bytes());
    for f in features {
        digest.update(f.remote_id.as_bytes());
        digest.update([0]);
        digest.update(&f.wkb);
        digest.update(serde_json::to_vec(&f.attrs).unwrap_or_default());
        digest.update([0]);
    }
    let sha256 = hex::encode(digest.finalize());
    let mut tx = pool.begin().await?;
    let old: Option<String> =
        sqlx::query_scalar("SELECT staged_sha256 FROM catalog.sources WHERE id = $1 FOR UPDATE")
            .bind(source)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    if old.as_deref() == Some(sha256.as_str()) {
        return Ok(false);
    }
    sqlx::query("DELETE FROM catalog.source_features WHERE source_id = $1")
        .bind(source)
        .execute(&mut *tx)
        .await?;
    for chunk in features.chunks(5_000) {
        let ids: Vec<&str> = chunk.iter().map(|c| c.remote_id.as_str()).collect();
        let wkb: Vec<&[u8]> = chunk.iter().map(|c| c.wkb.as_slice()).collect();
        let attrs: Vec<sqlx::types::Json<&serde_json::Map<String, serde_json::Value>>> =
            chunk.iter().map(|c| sqlx::types::Json(&c.attrs)).collect();
        // Invalid rings are repaired as the ingest repairs them.
        sqlx::query(
            "INSERT INTO catalog.source_features (source_id, remote_id, geom, attrs) \
             SELECT $1, f.id, ST_Transform(CASE WHEN ST_IsValid(g) THEN g ELSE ST_MakeValid(g) END, 4326), f.attrs \
             FROM unnest($2::text[], $3::bytea[], $4::jsonb[]) AS f (id, wkb, attrs), \
                  LATERAL (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromEWKB(f.wkb)), $5) AS g) AS t",
        )
        .bind(source)
        .bind(&ids)
        .bind(&wkb)
        .bind(&attrs)
        .bind(srid)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE catalog.sources SET staged_sha256 = $2, staged_at = now() WHERE id = $1")
        .bind(source)
        .bind(&sha256)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// What every source of `dataset` gave last, as merge candidates: priority by the sources'
/// `priority` (then the order they were added), time by when each one's answer last changed.
pub async fn staged(pool: &PgPool, dataset: &str) -> Result<Vec<super::merge::Candidate>> {
    type Row = (
        i64,
        i64,
        i64,
        String,
        f64,
        f64,
        Option<String>,
        sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.id, s.rank, s.at, f.remote_id, ST_X(p), ST_Y(p), \
                CASE WHEN GeometryType(f.geom) <> 'POINT' THEN ST_AsGeoJSON(f.geom, 9) END, \
                f.attrs \
         FROM (SELECT id, rank() OVER (ORDER BY priority, id) AS rank, \
                      coalesce(extract(epoch FROM staged_at), 0)::bigint AS at \
               FROM catalog.sources WHERE dataset_id = $1) s \
         JOIN catalog.source_features f ON f.source_id = s.id, \
         LATERAL (SELECT CASE WHEN GeometryType(f.geom) = 'POINT' THEN f.geom \
                              ELSE ST_PointOnSurface(f.geom) END AS p) AS q \
         WHERE NOT ST_IsEmpty(f.geom)",
    )
    .bind(dataset)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(source, rank, fetched, remote_id, lon, lat, geometry, attrs)| {
                super::merge::Candidate {
                    source,
                    priority: u32::try_from(rank).unwrap_or(u32::MAX),
                    fetched,
                    remote_id,
                    lon,
                    lat,
                    geometry,
                    attrs: attrs.0,
                }
            },
        )
        .collect())
}

/// Runs `f` holding the dataset's merge lock (waiting for it): one merge of a register at a
/// time, on every node.
pub async fn merging<T, F>(pool: &PgPool, dataset: &str, f: F) -> Result<T>
where
    F: std::future::Future<Output = T>,
{
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(7122, hashtext($1))")
        .bind(dataset)
        .execute(&mut *conn)
        .await?;
    let out = f.await;
    sqlx::query("SELECT pg_advisory_unlock(7122, hashtext($1))")
        .bind(dataset)
        .execute(&mut *conn)
        .await?;
    Ok(out)
}

/// Makes every source of `dataset` fetch in full on its next run (a source was added or
/// removed: the register needs what each one gives).
pub async fn refetch_all(pool: &PgPool, dataset: &str) -> Result<()> {
    sqlx::query(
        "UPDATE catalog.sources SET etag = NULL, last_modified = NULL, last_run_at = NULL, \
           staged_sha256 = NULL \
         WHERE dataset_id = $1",
    )
    .bind(dataset)
    .execute(pool)
    .await?;
    Ok(())
}
