//! The rows of every table kreisgeo stores, counted inside one snapshot: what a complete copy
//! must hold.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use super::{BackupError, Result};

/// Tables a dump carries in full: every ordinary table outside PostgreSQL's own schemas, less
/// the tables of extensions (PostGIS's `spatial_ref_sys`, of which pg_dump keeps only rows a
/// user added). Names as `quote_ident(schema).quote_ident(table)`, as pg_dump writes them.
const TABLES: &str = "\
    SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, n.nspname, c.relname \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE c.relkind = 'r' \
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
      AND n.nspname NOT LIKE 'pg\\_%' \
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                      AND d.objid = c.oid AND d.deptype = 'e')";

/// Rows per table, counted in the connection's current transaction (a snapshot when that is
/// REPEATABLE READ). The statements are formed by PostgreSQL's own `format('%I')` from the
/// catalog's names.
pub async fn count(conn: &mut PgConnection) -> Result<BTreeMap<String, i64>> {
    let sql = format!(
        "SELECT t.name, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', \
         t.nspname, t.relname), false, true, '')))[1]::text::bigint AS rows FROM ({TABLES}) t"
    );
    let rows: Vec<(String, i64)> = sqlx::query_as(&sql).fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

/// How many tables (and one of them) a database holds that a restore would collide with.
pub async fn occupied(conn: &mut PgConnection) -> Result<(i64, Option<String>)> {
    let sql = format!("SELECT count(*), min(name) FROM ({TABLES}) t");
    Ok(sqlx::query_as(&sql).fetch_one(conn).await?)
}

/// The server's major version (`server_version_num` 150008 → 15).
pub async fn server_major(conn: &mut PgConnection) -> Result<u32> {
    let num: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(conn)
        .await?;
    num.trim()
        .parse::<u32>()
        .map(|n| n / 10_000)
        .map_err(|_| BackupError::Tools(format!("unreadable server_version_num {num:?}")))
}

/// The newest migration applied, 0 on a database kreisgeo never opened.
pub async fn migration(conn: &mut PgConnection) -> Result<i64> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        return Ok(0);
    }
    Ok(sqlx::query_scalar(
        "SELECT coalesce(max(version), 0) FROM public._sqlx_migrations WHERE success",
    )
    .fetch_one(conn)
    .await?)
}

/// Opens a snapshot on `conn` and exports it for pg_dump; the transaction must stay open until
/// pg_dump has taken it.
pub async fn export_snapshot(conn: &mut PgConnection) -> Result<String> {
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(conn)
        .await?)
}

/// Ends the snapshot's transaction.
pub async fn release_snapshot(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("COMMIT").execute(conn).await?;
    Ok(())
}

/// Session-level advisory lock that lets one node of several take the scheduled backup.
pub async fn try_lock_schedule(conn: &mut PgConnection) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('kreisgeo.backup'))")
            .fetch_one(conn)
            .await?,
    )
}

pub async fn unlock_schedule(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_unlock(hashtext('kreisgeo.backup'))")
        .execute(conn)
        .await?;
    Ok(())
}
