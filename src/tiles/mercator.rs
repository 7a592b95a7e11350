//! Web Mercator copies of versions for tiles. A version keeps its source CRS (features are
//! served in the coordinates counties delivered), so every Web Mercator tile transformed each
//! of its features: a fifth of a dense tile's time in PostgreSQL (a z14 tile of 1,900 parcels:
//! 15.0 ms, 12.0 ms from the copy). The copy holds every row with its geometry also in
//! EPSG:3857 ([`GEOM_3857`]), computed by the same `ST_Transform`, so the tiles drawn from it
//! are byte for byte the tiles drawn from the version.
//!
//! The copy is built in the background once a version is active, not during the ingest: it
//! would make the load a third slower (2.7 s more per million features), and a version serves
//! tiles meanwhile the slower way.

use std::time::Instant;

use sqlx::PgPool;

use crate::catalog::{repo, Version};
use crate::db::ident::QualifiedTable;
use crate::error::Result;

/// The copy's column with the geometry in EPSG:3857.
pub const GEOM_3857: &str = "geom_3857";

/// PostgreSQL's longest identifier, in bytes.
const MAX_IDENTIFIER: usize = 63;

/// The copy's table name: the version's with `_3857`, or the version id's when that is too
/// long (PostgreSQL would cut the name).
fn copy_name(version: &Version) -> String {
    let name = format!("{}_3857", version.table_name);
    if name.len() <= MAX_IDENTIFIER {
        name
    } else {
        format!("v{}_3857", version.id)
    }
}

/// How long a version whose copy failed waits for the next try: a copy that failed once (a
/// geometry PROJ cannot take to Web Mercator, a full disk) is seconds of work per million
/// features, and would most likely fail again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// How long after its dataset's last switch an inactive version keeps its copy: requests
/// already under way for it (a node that has not yet heard of the switch) still find it.
const IDLE_SECONDS: f64 = 300.0;

/// How long dropping an idle copy waits for the tiles still reading it before trying later.
const DROP_LOCK_TIMEOUT: &str = "200ms";

/// Builds the copies versions lack, and remembers the versions whose copy failed (a geometry
/// PROJ cannot take to Web Mercator, a full disk): tried again after [`RETRY_AFTER`], not at
/// every poll.
#[derive(Debug, Default)]
pub struct Builder {
    failed: std::collections::HashMap<i64, Instant>,
}

impl Builder {
    /// Builds the copy of every active version that lacks one; returns how many it built.
    /// Copies another node is building are left to it.
    pub async fn build_missing(&mut self, pool: &PgPool) -> Result<usize> {
        let mut built = 0;
        self.failed.retain(|_, at| at.elapsed() < RETRY_AFTER);
        for version_id in repo::versions_without_tile_table(pool).await? {
            if self.failed.contains_key(&version_id) {
                continue;
            }
            match build(pool, version_id).await {
                Ok(true) => built += 1,
                Ok(false) => {}
                Err(e) => {
                    self.failed.insert(version_id, Instant::now());
                    tracing::warn!(
                        version = version_id,
                        error = %e,
                        "Web Mercator tile table not built; its tiles transform each feature"
                    );
                }
            }
        }
        Ok(built)
    }

    /// Versions whose copy failed since the last [`RETRY_AFTER`].
    pub fn failed(&self) -> usize {
        self.failed.len()
    }

    /// Drops the copies of versions no longer served (after [`IDLE_SECONDS`]): one per dataset
    /// is kept, the served version's. A rollback builds the copy again. Returns how many went.
    pub async fn drop_idle(&self, pool: &PgPool) -> Result<usize> {
        let mut dropped = 0;
        for version_id in repo::versions_with_idle_tile_table(pool, IDLE_SECONDS).await? {
            match drop_copy(pool, version_id).await {
                Ok(true) => dropped += 1,
                Ok(false) => {}
                // Tiles still reading it (the lock timeout), or the database away: next time.
                Err(e) => {
                    tracing::debug!(version = version_id, error = %e, "tile table not dropped yet");
                }
            }
        }
        Ok(dropped)
    }
}

/// Drops an inactive version's copy, in one transaction with its entry in the catalog.
async fn drop_copy(pool: &PgPool, version_id: i64) -> Result<bool> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
        .execute(&mut *tx)
        .await?;
    let Some(name) = repo::drop_tile_table(&mut tx, version_id).await? else {
        return Ok(false);
    };
    tx.commit().await?;
    tracing::info!(version = version_id, table = %name, "tile table of a version no longer served dropped");
    Ok(true)
}

/// Builds one version's copy, in one transaction with its entry in the catalog: a copy is
/// there and known, or absent. `false` when the version is gone, inactive, already has one, or
/// another transaction holds it.
pub async fn build(pool: &PgPool, version_id: i64) -> Result<bool> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let Some(version) = repo::lock_for_tile_table(&mut tx, version_id).await? else {
        return Ok(false);
    };
    // An attribute of that name, in a version loaded before the name was reserved.
    if version.columns.iter().any(|c| c.name == GEOM_3857) {
        tracing::debug!(
            version = version.id,
            "no Web Mercator tile table: {GEOM_3857} is an attribute"
        );
        return Ok(false);
    }
    // A county's parcels take seconds; the pool's timeout is for requests.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    let name = copy_name(&version);
    let copy = QualifiedTable::data(&name);
    // In the source's order (no parallel scan interleaving it): neighbours in the file stay
    // neighbours on disk, as a tile reads them. `geom` stays: tiles choose and thin their
    // features by it exactly as from the version itself.
    sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE TABLE {copy} AS SELECT *, ST_Transform(geom, 3857) AS {GEOM_3857} FROM {}",
        version.table()
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!("CREATE INDEX ON {copy} USING gist (geom)"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("ANALYZE {copy}"))
        .execute(&mut *tx)
        .await?;
    repo::set_tile_table(&mut tx, version.id, &name).await?;
    repo::announce(&mut tx, &version.dataset_id).await?;
    tx.commit().await?;
    // Marks the rows visible to all: otherwise the first tiles to read each page write it.
    if let Err(e) = sqlx::query(&format!("VACUUM {copy}")).execute(pool).await {
        tracing::debug!(error = %e, table = %name, "tile table not vacuumed");
    }
    tracing::info!(
        dataset = %version.dataset_id,
        version = version.id,
        table = %name,
        features = version.feature_count,
        seconds = started.elapsed().as_secs_f64(),
        "Web Mercator tile table built"
    );
    Ok(true)
}
