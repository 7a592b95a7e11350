//! SQL over the fixed catalog tables (`catalog.datasets`, `catalog.versions`).

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::{Collection, Column, DatasetKind, TileSettings, Version};
use crate::error::{Error, Result};

const VERSION_COLUMNS: &str =
    "v.id, v.dataset_id, v.table_name, v.columns, v.has_z, v.source_sha256, \
     v.feature_count, v.bbox, v.source_crs, v.tile_sizes, v.tile_table, \
     to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at";

fn version_from_row(row: &PgRow) -> Result<Version> {
    let columns: sqlx::types::Json<Vec<Column>> = row.try_get("columns")?;
    let bbox: Option<Vec<f64>> = row.try_get("bbox")?;
    Ok(Version {
        id: row.try_get("id")?,
        dataset_id: row.try_get("dataset_id")?,
        table_name: row.try_get("table_name")?,
        columns: columns.0,
        has_z: row.try_get("has_z")?,
        feature_count: row.try_get("feature_count")?,
        bbox: bbox.and_then(|b| <[f64; 4]>::try_from(b).ok()),
        source_crs: row.try_get("source_crs")?,
        source_sha256: row.try_get("source_sha256")?,
        tile_sizes: row.try_get("tile_sizes")?,
        tile_table: row.try_get("tile_table")?,
        created_at: row.try_get("created_at")?,
    })
}

fn collection_from_row(row: &PgRow) -> Result<Collection> {
    let kind: String = row.try_get("kind")?;
    Ok(Collection {
        id: row.try_get("dataset_id")?,
        kind: DatasetKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("unknown dataset kind '{kind}' in catalog")))?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        version: version_from_row(row)?,
        tiles: row
            .try_get::<sqlx::types::Json<TileSettings>, _>("tiles")?
            .0,
    })
}

/// Every dataset that has an active version, ordered by id.
pub async fn list_collections(pool: &PgPool) -> Result<Vec<Collection>> {
    let sql = format!(
        "SELECT d.kind, d.title, d.description, d.tiles, {VERSION_COLUMNS} \
         FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version \
         ORDER BY d.id"
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(collection_from_row).collect()
}

/// One dataset with its active version, or `None`.
pub async fn find_collection(pool: &PgPool, id: &str) -> Result<Option<Collection>> {
    let sql = format!(
        "SELECT d.kind, d.title, d.description, d.tiles, {VERSION_COLUMNS} \
         FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version \
         WHERE d.id = $1"
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(collection_from_row).transpose()
}

/// One dataset with its active version, or `NotFound`.
pub async fn require_collection(pool: &PgPool, id: &str) -> Result<Collection> {
    find_collection(pool, id)
        .await?
        .ok_or_else(|| Error::not_found("collection", id))
}

/// A dataset with a specific (possibly no longer active) version, or `None` if either is gone.
pub async fn find_collection_at(
    pool: &PgPool,
    id: &str,
    version_id: i64,
) -> Result<Option<Collection>> {
    let sql = format!(
        "SELECT d.kind, d.title, d.description, d.tiles, {VERSION_COLUMNS} \
         FROM catalog.datasets d JOIN catalog.versions v ON v.dataset_id = d.id \
         WHERE d.id = $1 AND v.id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(version_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(collection_from_row).transpose()
}

/// A version by id (kept or active), or `None`.
pub async fn find_version(pool: &PgPool, version_id: i64) -> Result<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM catalog.versions v WHERE v.id = $1");
    let row = sqlx::query(&sql)
        .bind(version_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(version_from_row).transpose()
}

/// Active versions with geometries that tiles transform and no Web Mercator copy yet
/// ([`crate::tiles::mercator`]), oldest first.
pub async fn versions_without_tile_table(pool: &PgPool) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT v.id FROM catalog.versions v JOIN catalog.datasets d ON d.active_version = v.id \
         WHERE v.tile_table IS NULL AND v.source_crs <> 3857 AND v.bbox IS NOT NULL \
           AND EXISTS (SELECT 1 FROM pg_attribute a \
                       WHERE a.attrelid = to_regclass(format('data.%I', v.table_name)) \
                         AND a.attname = 'geom' AND NOT a.attisdropped) \
         ORDER BY v.id",
    )
    .fetch_all(pool)
    .await?)
}

/// The version, while it is active and has no Web Mercator copy, locked for adding one: its row
/// against pruning and deletion, which wait and then see the copy among the companions they
/// drop. The dataset's row stays free (a rollback, an index update, a deletion's first steps
/// do not wait for a copy). `None` when another transaction holds the version's row: a node
/// building the copy, an ingest pruning, a deletion.
pub async fn lock_for_tile_table(
    conn: &mut PgConnection,
    version_id: i64,
) -> Result<Option<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM catalog.versions v \
         JOIN catalog.datasets d ON d.active_version = v.id \
         WHERE v.id = $1 AND v.tile_table IS NULL \
         FOR NO KEY UPDATE OF v SKIP LOCKED"
    );
    let row = sqlx::query(&sql)
        .bind(version_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(version_from_row).transpose()
}

/// Versions no longer served whose dataset has not changed for `settled_seconds` and that still
/// have a Web Mercator copy: kept, they would hold the disk for a rollback that may never come.
pub async fn versions_with_idle_tile_table(
    pool: &PgPool,
    settled_seconds: f64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT v.id FROM catalog.versions v JOIN catalog.datasets d ON d.id = v.dataset_id \
         WHERE v.tile_table IS NOT NULL AND d.active_version IS DISTINCT FROM v.id \
           AND d.updated_at < now() - make_interval(secs => $1) ORDER BY v.id",
    )
    .bind(settled_seconds)
    .fetch_all(pool)
    .await?)
}

/// Takes an inactive version's Web Mercator copy off it and drops it, locked against a
/// concurrent build, prune or deletion (`None` when one holds it, or the version is served
/// again): the copy's name.
pub async fn drop_tile_table(conn: &mut PgConnection, version_id: i64) -> Result<Option<String>> {
    let taken: Option<String> = sqlx::query_scalar(
        "WITH locked AS (SELECT v.id, v.tile_table FROM catalog.versions v \
           JOIN catalog.datasets d ON d.id = v.dataset_id \
           WHERE v.id = $1 AND v.tile_table IS NOT NULL AND d.active_version IS DISTINCT FROM v.id \
           FOR NO KEY UPDATE OF v SKIP LOCKED) \
         UPDATE catalog.versions v SET tile_table = NULL, \
           companions = array_remove(v.companions, locked.tile_table) \
         FROM locked WHERE v.id = locked.id RETURNING locked.tile_table",
    )
    .bind(version_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(table) = &taken {
        drop_tables(conn, vec![table.clone()]).await?;
    }
    Ok(taken)
}

/// Records the version's Web Mercator copy, as a companion that goes with it.
pub async fn set_tile_table(conn: &mut PgConnection, version_id: i64, table: &str) -> Result<()> {
    sqlx::query(
        "UPDATE catalog.versions SET tile_table = $2, companions = array_append(companions, $2) \
         WHERE id = $1",
    )
    .bind(version_id)
    .bind(table)
    .execute(conn)
    .await?;
    Ok(())
}

/// Announces a change of the dataset that no trigger announces (a version's row changed),
/// at commit, to every process's catalog cache.
pub async fn announce(conn: &mut PgConnection, dataset_id: &str) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(super::cache::CHANNEL)
        .bind(dataset_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Reserves the id of the next version (its table is named after it).
pub async fn next_version_id(conn: &mut PgConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT nextval('catalog.versions_id_seq')")
            .fetch_one(conn)
            .await?,
    )
}

/// Creates the dataset or updates its kind (and title, when one is given).
pub async fn upsert_dataset(
    conn: &mut PgConnection,
    id: &str,
    kind: DatasetKind,
    title: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog.datasets (id, kind, title) VALUES ($1, $2, COALESCE($3, $1)) \
         ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, \
           title = COALESCE($3, catalog.datasets.title), deleted_at = NULL, updated_at = now()",
    )
    .bind(id)
    .bind(kind.as_str())
    .bind(title)
    .execute(conn)
    .await?;
    Ok(())
}

/// What an ingest records about the version it loaded.
#[derive(Debug)]
pub struct NewVersion<'a> {
    pub id: i64,
    pub dataset_id: &'a str,
    pub table_name: &'a str,
    /// Further tables the version owns (dropped with it).
    pub companions: &'a [String],
    pub source_name: &'a str,
    pub source_format: &'a str,
    pub source_sha256: &'a str,
    pub source_crs: i32,
    pub columns: &'a [Column],
    pub has_z: bool,
    /// The table has the `tile_size` column (see [`Version::tile_sizes`]).
    pub tile_sizes: bool,
    pub feature_count: i64,
    pub bbox: Option<[f64; 4]>,
    /// The ingest report, stored with the version.
    pub report: &'a serde_json::Value,
}

/// Records a loaded version and makes it the dataset's active one. Call inside the ingest's
/// transaction so that readers switch in one step.
pub async fn insert_and_activate(conn: &mut PgConnection, v: &NewVersion<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog.versions (id, dataset_id, table_name, source_name, source_format, \
           source_sha256, source_crs, columns, has_z, feature_count, bbox, report, companions, \
           tile_sizes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(v.id)
    .bind(v.dataset_id)
    .bind(v.table_name)
    .bind(v.source_name)
    .bind(v.source_format)
    .bind(v.source_sha256)
    .bind(v.source_crs)
    .bind(sqlx::types::Json(v.columns))
    .bind(v.has_z)
    .bind(v.feature_count)
    .bind(v.bbox.map(|b| b.to_vec()))
    .bind(v.report)
    .bind(v.companions)
    .bind(v.tile_sizes)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE catalog.datasets SET active_version = $2, updated_at = now() WHERE id = $1",
    )
    .bind(v.dataset_id)
    .bind(v.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes all but the newest `keep` versions of a dataset (never the active one) and drops
/// their tables.
pub async fn prune_and_drop(conn: &mut PgConnection, dataset_id: &str, keep: i64) -> Result<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM catalog.versions v WHERE v.dataset_id = $1 \
           AND v.id NOT IN (SELECT id FROM catalog.versions WHERE dataset_id = $1 \
                            ORDER BY id DESC LIMIT $2) \
           AND v.id <> (SELECT active_version FROM catalog.datasets WHERE id = $1) \
         RETURNING v.table_name, v.companions) \
         SELECT t FROM gone, unnest(array_prepend(gone.table_name, gone.companions)) t",
    )
    .bind(dataset_id)
    .bind(keep)
    .fetch_all(&mut *conn)
    .await?;
    drop_tables(conn, tables).await
}

async fn drop_tables(conn: &mut PgConnection, tables: Vec<String>) -> Result<()> {
    for table in tables {
        let table = crate::db::ident::QualifiedTable::data(table);
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A dataset with its versions, for listings.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct DatasetSummary {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub active_version: Option<i64>,
    pub versions: i64,
}

/// Every dataset, with the number of versions kept.
pub async fn list_datasets(pool: &PgPool) -> Result<Vec<DatasetSummary>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.kind, d.title, d.active_version, \
           (SELECT count(*) FROM catalog.versions v WHERE v.dataset_id = d.id) AS versions \
         FROM catalog.datasets d WHERE d.deleted_at IS NULL ORDER BY d.id",
    )
    .fetch_all(pool)
    .await?)
}

/// One kept version of a dataset, for listings.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct VersionSummary {
    pub id: i64,
    pub active: bool,
    pub created_at: String,
    pub feature_count: i64,
    pub source_name: String,
    pub source_sha256: String,
}

/// The kept versions of a dataset, newest first; `None` if there is no such dataset.
pub async fn list_versions(pool: &PgPool, dataset_id: &str) -> Result<Option<Vec<VersionSummary>>> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM catalog.datasets WHERE id = $1 AND deleted_at IS NULL)",
    )
    .bind(dataset_id)
    .fetch_one(pool)
    .await?;
    if !exists {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_as(
            "SELECT v.id, v.id = d.active_version AS active, \
               to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, \
               v.feature_count, v.source_name, v.source_sha256 \
             FROM catalog.versions v JOIN catalog.datasets d ON d.id = v.dataset_id \
             WHERE v.dataset_id = $1 ORDER BY v.id DESC",
        )
        .bind(dataset_id)
        .fetch_all(pool)
        .await?,
    ))
}

/// Makes an older kept version the active one, in one statement: `to`, or else the newest
/// version older than the active one. Returns (previous, now active).
pub async fn rollback(pool: &PgPool, dataset_id: &str, to: Option<i64>) -> Result<(i64, i64)> {
    let mut tx = pool.begin().await?;
    let active: Option<Option<i64>> =
        sqlx::query_scalar("SELECT active_version FROM catalog.datasets WHERE id = $1 FOR UPDATE")
            .bind(dataset_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(Some(active)) = active else {
        return Err(Error::not_found("dataset", dataset_id));
    };
    let target: Option<i64> = match to {
        Some(v) => {
            sqlx::query_scalar("SELECT id FROM catalog.versions WHERE dataset_id = $1 AND id = $2")
                .bind(dataset_id)
                .bind(v)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT id FROM catalog.versions WHERE dataset_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(dataset_id)
            .bind(active)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    let Some(target) = target else {
        return Err(match to {
            Some(v) => Error::invalid("version", format!("'{dataset_id}' has no kept version {v}")),
            None => Error::invalid(
                "version",
                format!("'{dataset_id}' has no older kept version than {active}"),
            ),
        });
    };
    sqlx::query(
        "UPDATE catalog.datasets SET active_version = $2, updated_at = now() WHERE id = $1",
    )
    .bind(dataset_id)
    .bind(target)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        dataset = dataset_id,
        from = active,
        to = target,
        "rolled back"
    );
    Ok((active, target))
}

/// Sets how a dataset's tiles are cut; `false` when there is no such dataset.
pub async fn set_tile_settings(pool: &PgPool, id: &str, settings: &TileSettings) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE catalog.datasets SET tiles = $2, updated_at = now() \
             WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(sqlx::types::Json(settings))
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// A dataset as the open-data catalog lists it: its active version, its metadata document, and
/// when it was first published and last changed (data or metadata), as ISO 8601 UTC.
pub struct CatalogRow<M> {
    pub collection: Collection,
    pub metadata: M,
    /// The publisher it belongs to; `None`: the portal's own.
    pub publisher: Option<String>,
    pub issued: String,
    pub modified: String,
}

const ISO_UTC: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

/// Datasets with an active version changed at or after `modified_since` (an RFC 3339 time,
/// checked by the caller; all without it), by id, or just `only`; of one publisher
/// (`publisher`: its id, `""` for the portal's own); `limit` and `offset` page them. Also
/// returns how many there are in all.
pub async fn catalog_rows<M: serde::de::DeserializeOwned>(
    pool: &PgPool,
    modified_since: Option<&str>,
    only: Option<&str>,
    hvd: Option<&HvdFilter>,
    publisher: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CatalogRow<M>>, i64)> {
    let sql = format!(
        "SELECT d.kind, d.title, d.description, d.tiles, {VERSION_COLUMNS}, d.metadata, d.publisher_id, \
           to_char(d.created_at AT TIME ZONE 'UTC', {ISO_UTC}) AS issued, \
           to_char(m.modified AT TIME ZONE 'UTC', {ISO_UTC}) AS modified, \
           count(*) OVER () AS total \
         FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version \
         CROSS JOIN LATERAL (SELECT greatest(v.created_at, d.metadata_modified) AS modified) m \
         WHERE ($1::text IS NULL OR m.modified >= $1::timestamptz) AND ($2::text IS NULL OR d.id = $2) \
           AND {} AND ($6::text IS NULL OR coalesce(d.publisher_id, '') = $6) \
         ORDER BY d.id LIMIT $3 OFFSET $4",
        hvd_only(5)
    );
    let rows = sqlx::query(&sql)
        .bind(modified_since)
        .bind(only)
        .bind(limit)
        .bind(offset)
        .bind(hvd.map(|h| &h.kinds))
        .bind(publisher)
        .fetch_all(pool)
        .await?;
    let total = match rows.first() {
        Some(r) => r.try_get("total")?,
        None if offset > 0 => catalog_count(pool, modified_since, hvd, publisher).await?,
        None => 0,
    };
    let rows = rows.iter().map(catalog_row).collect::<Result<Vec<_>>>()?;
    Ok((rows, total))
}

fn catalog_row<M: serde::de::DeserializeOwned>(
    row: &sqlx::postgres::PgRow,
) -> Result<CatalogRow<M>> {
    let metadata: sqlx::types::Json<M> = row.try_get("metadata")?;
    Ok(CatalogRow {
        collection: collection_from_row(row)?,
        metadata: metadata.0,
        publisher: row.try_get("publisher_id")?,
        issued: row.try_get("issued")?,
        modified: row.try_get("modified")?,
    })
}

/// The catalog rows of the datasets `ids` (those with an active version), by id.
pub async fn catalog_rows_of<M: serde::de::DeserializeOwned>(
    pool: &PgPool,
    ids: &[String],
) -> Result<Vec<CatalogRow<M>>> {
    let sql = format!(
        "SELECT d.kind, d.title, d.description, d.tiles, {VERSION_COLUMNS}, d.metadata, d.publisher_id, \
           to_char(d.created_at AT TIME ZONE 'UTC', {ISO_UTC}) AS issued, \
           to_char(greatest(v.created_at, d.metadata_modified) AT TIME ZONE 'UTC', {ISO_UTC}) AS modified \
         FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version \
         WHERE d.id = ANY($1) AND d.deleted_at IS NULL ORDER BY d.id"
    );
    let rows = sqlx::query(&sql).bind(ids).fetch_all(pool).await?;
    rows.iter().map(catalog_row).collect()
}

async fn catalog_count(
    pool: &PgPool,
    modified_since: Option<&str>,
    hvd: Option<&HvdFilter>,
    publisher: Option<&str>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT count(*) FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version \
         WHERE ($1::text IS NULL OR greatest(v.created_at, d.metadata_modified) >= $1::timestamptz) \
           AND {} AND ($3::text IS NULL OR coalesce(d.publisher_id, '') = $3)",
        hvd_only(2)
    ))
    .bind(modified_since)
    .bind(hvd.map(|h| &h.kinds))
    .bind(publisher)
    .fetch_one(pool)
    .await?)
}

/// Only the high-value datasets: those whose metadata names HVD categories, and those of the
/// kinds that are HVD by default (`kinds`) whose metadata says nothing about it.
#[derive(Debug, Clone)]
pub struct HvdFilter {
    pub kinds: Vec<String>,
}

/// The HVD condition on `d` (catalog.datasets) with the kinds as parameter `$n` (NULL: every
/// dataset).
fn hvd_only(n: u8) -> String {
    format!(
        "(${n}::text[] IS NULL OR CASE WHEN d.metadata ? 'hvdCategories' \
         THEN jsonb_array_length(d.metadata->'hvdCategories') > 0 ELSE d.kind = ANY(${n}) END)"
    )
}

/// Replaces a dataset's metadata document; `false` when there is no such dataset.
pub async fn set_metadata<M: serde::Serialize>(
    pool: &PgPool,
    id: &str,
    metadata: &M,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE catalog.datasets SET metadata = $2, metadata_modified = now(), updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(sqlx::types::Json(metadata))
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// A dataset's metadata document, `None` when there is no such dataset.
pub async fn metadata<M: serde::de::DeserializeOwned + Send + Unpin + 'static>(
    pool: &PgPool,
    id: &str,
) -> Result<Option<M>> {
    let found: Option<sqlx::types::Json<M>> = sqlx::query_scalar(
        "SELECT metadata FROM catalog.datasets WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|m| m.0))
}

/// The publisher profile, if one was entered.
pub async fn publisher<P: serde::de::DeserializeOwned + Send + Unpin + 'static>(
    pool: &PgPool,
) -> Result<Option<P>> {
    let found: Option<sqlx::types::Json<P>> =
        sqlx::query_scalar("SELECT profile FROM catalog.publisher")
            .fetch_optional(pool)
            .await?;
    Ok(found.map(|p| p.0))
}

/// The further publishers (the portal's own is [`publisher`]) by id.
pub async fn publishers<P: serde::de::DeserializeOwned + Send + Unpin + 'static>(
    pool: &PgPool,
) -> Result<Vec<(String, P)>> {
    let rows: Vec<(String, sqlx::types::Json<P>)> =
        sqlx::query_as("SELECT id, profile FROM catalog.publishers ORDER BY id")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(id, p)| (id, p.0)).collect())
}

/// Enters or replaces publisher `id`; true when it is new.
pub async fn put_publisher<P: serde::Serialize>(
    pool: &PgPool,
    id: &str,
    profile: &P,
) -> Result<bool> {
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO catalog.publishers (id, profile) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now() \
         RETURNING xmax = 0",
    )
    .bind(id)
    .bind(sqlx::types::Json(profile))
    .fetch_one(pool)
    .await?;
    Ok(inserted)
}

/// Removes publisher `id`; `false` when there is none, `Conflict` while live datasets or
/// active keys are its. Deleted datasets and revoked keys let go of it.
pub async fn delete_publisher(pool: &PgPool, id: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM catalog.publishers WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Ok(false);
    }
    let (datasets, keys): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM catalog.datasets \
                 WHERE publisher_id = $1 AND deleted_at IS NULL), \
                (SELECT count(*) FROM catalog.api_keys \
                 WHERE publisher_id = $1 AND revoked_at IS NULL)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if datasets + keys > 0 {
        return Err(crate::error::Error::Conflict(format!(
            "publisher '{id}' still has {datasets} dataset(s) and {keys} active API key(s); \
             give the datasets to another publisher and revoke the keys first"
        )));
    }
    for statement in [
        "UPDATE catalog.datasets SET publisher_id = NULL \
         WHERE publisher_id = $1 AND deleted_at IS NOT NULL",
        "UPDATE catalog.api_keys SET publisher_id = NULL \
         WHERE publisher_id = $1 AND revoked_at IS NOT NULL",
        "DELETE FROM catalog.publishers WHERE id = $1",
    ] {
        sqlx::query(statement).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The publisher dataset `id` belongs to (`Some(None)`: the portal's own); `None` when there is
/// no such dataset (deleted ones included: their id is taken).
pub async fn dataset_publisher(pool: &PgPool, id: &str) -> Result<Option<Option<String>>> {
    Ok(
        sqlx::query_scalar("SELECT publisher_id FROM catalog.datasets WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Gives dataset `id` to `publisher` (`None`: the portal's own); `false` when there is no such
/// dataset. An unknown publisher is a 400 naming it.
pub async fn set_dataset_publisher(
    pool: &PgPool,
    id: &str,
    publisher: Option<&str>,
) -> Result<bool> {
    if let Some(p) = publisher {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM catalog.publishers WHERE id = $1)")
                .bind(p)
                .fetch_one(pool)
                .await?;
        if !known {
            return Err(crate::error::Error::invalid(
                "publisher",
                format!("there is no publisher '{p}'"),
            ));
        }
    }
    let done = sqlx::query(
        "UPDATE catalog.datasets SET publisher_id = $2, metadata_modified = now() \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(publisher)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives dataset `id` to `publisher` unless it has one already (a dataset a key bound to a
/// publisher created).
pub async fn claim_dataset(pool: &PgPool, id: &str, publisher: &str) -> Result<()> {
    sqlx::query(
        "UPDATE catalog.datasets SET publisher_id = $2 WHERE id = $1 AND publisher_id IS NULL",
    )
    .bind(id)
    .bind(publisher)
    .execute(pool)
    .await?;
    Ok(())
}

/// Enters or replaces the publisher profile.
pub async fn set_publisher<P: serde::Serialize>(pool: &PgPool, profile: &P) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog.publisher (id, profile) VALUES (true, $1) \
         ON CONFLICT (id) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()",
    )
    .bind(sqlx::types::Json(profile))
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes a dataset: its versions, their tables and downloads go in one transaction; the
/// dataset's row stays as a tombstone (see [`tombstones`]). `false` when there is no such
/// (live) dataset.
pub async fn delete_dataset(pool: &PgPool, id: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let live: Option<String> = sqlx::query_scalar(
        "SELECT id FROM catalog.datasets WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if live.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE catalog.datasets SET active_version = NULL, deleted_at = now(), updated_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // The tables as the rows are deleted: a version whose Web Mercator copy is being built is
    // deleted once the copy is there, with it among its companions.
    let tables: Vec<String> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM catalog.versions v WHERE v.dataset_id = $1 \
           RETURNING v.table_name, v.companions) \
         SELECT t FROM gone, unnest(array_prepend(gone.table_name, gone.companions)) t",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    // A computed dataset, deleted, is no longer recomputed when its inputs change.
    sqlx::query("DELETE FROM catalog.coverage WHERE dataset_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    // An OSM extract's kept file goes with the last version read from it.
    crate::osm::store::drop_unused_extracts(&mut tx).await?;
    drop_tables(&mut tx, tables).await?;
    tx.commit().await?;
    Ok(true)
}

/// A deleted dataset still listed as deleted.
pub struct Tombstone<M> {
    pub id: String,
    pub kind: DatasetKind,
    pub title: String,
    pub metadata: M,
    /// The publisher it belonged to; `None`: the portal's own.
    pub publisher: Option<String>,
    pub issued: String,
    /// When it was deleted (ISO 8601 UTC).
    pub deleted: String,
}

/// Datasets deleted at or after `modified_since` (all without it), by id.
pub async fn tombstones<M: serde::de::DeserializeOwned>(
    pool: &PgPool,
    modified_since: Option<&str>,
) -> Result<Vec<Tombstone<M>>> {
    tombstones_where(pool, modified_since, None).await
}

/// The tombstones of the datasets `ids`.
pub async fn tombstones_of<M: serde::de::DeserializeOwned>(
    pool: &PgPool,
    ids: &[String],
) -> Result<Vec<Tombstone<M>>> {
    tombstones_where(pool, None, Some(ids)).await
}

async fn tombstones_where<M: serde::de::DeserializeOwned>(
    pool: &PgPool,
    modified_since: Option<&str>,
    ids: Option<&[String]>,
) -> Result<Vec<Tombstone<M>>> {
    let sql = format!(
        "SELECT id, kind, title, metadata, publisher_id, \
           to_char(created_at AT TIME ZONE 'UTC', {ISO_UTC}) AS issued, \
           to_char(deleted_at AT TIME ZONE 'UTC', {ISO_UTC}) AS deleted \
         FROM catalog.datasets \
         WHERE deleted_at IS NOT NULL AND ($1::text IS NULL OR deleted_at >= $1::timestamptz) \
           AND ($2::text[] IS NULL OR id = ANY($2)) \
         ORDER BY id"
    );
    let rows = sqlx::query(&sql)
        .bind(modified_since)
        .bind(ids)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let metadata: sqlx::types::Json<M> = row.try_get("metadata")?;
            Ok(Tombstone {
                id: row.try_get("id")?,
                kind: DatasetKind::parse(&kind)
                    .ok_or_else(|| Error::Internal(format!("unknown dataset kind '{kind}'")))?,
                title: row.try_get("title")?,
                metadata: metadata.0,
                publisher: row.try_get("publisher_id")?,
                issued: row.try_get("issued")?,
                deleted: row.try_get("deleted")?,
            })
        })
        .collect()
}

/// Forgets datasets deleted more than `days` ago; returns how many.
pub async fn purge_tombstones(pool: &PgPool, days: u32) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM catalog.datasets WHERE deleted_at < now() - make_interval(days => $1)",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
