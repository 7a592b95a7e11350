//! Taking a backup: pg_dump in custom format from a snapshot whose rows are counted first.

use std::path::Path;
use std::process::Stdio;

use sqlx::{Connection, PgConnection};

use super::manifest::{self, Manifest};
use super::tools::{Target, Tools};
use super::{census, io_err, BackupError, Result};

/// Writes a backup of the database at `url` to `file` and its manifest beside it. Until both
/// are complete, `file` does not exist (pg_dump writes `FILE.partial`); an existing `file` is
/// replaced only by a complete backup.
pub async fn backup(url: &str, file: &Path) -> Result<Manifest> {
    let target = Target::parse(url)?;
    let mut conn = PgConnection::connect(url).await?;
    let result = dump_in_snapshot(&mut conn, &target, file).await;
    let _ = conn.close().await;
    let manifest = result?;
    tracing::info!(
        file = %file.display(),
        bytes = manifest.bytes,
        tables = manifest.tables.len(),
        rows = manifest.tables.values().sum::<i64>(),
        "backup written"
    );
    Ok(manifest)
}

async fn dump_in_snapshot(
    conn: &mut PgConnection,
    target: &Target,
    file: &Path,
) -> Result<Manifest> {
    let server_major = census::server_major(conn).await?;
    let tools = Tools::for_server(server_major)?;
    let migration = census::migration(conn).await?;
    let created = crate::time::now_rfc3339();
    let snapshot = census::export_snapshot(conn).await?;
    let tables = census::count(conn).await?;

    let partial = manifest::partial_path(file);
    // pg_dump opens the file without changing its mode: private from the first byte.
    drop(manifest::create_private(&partial)?);
    let out = tools
        .command("pg_dump", Some(target))
        .arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--no-password")
        .arg(format!("--file={}", partial.display()))
        .arg(format!("--dbname={}", target.url))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| BackupError::Tools(format!("cannot run pg_dump: {e}")))?;
    // The snapshot served its purpose once pg_dump is done (it imported it at its start).
    census::release_snapshot(conn).await?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Tool {
            tool: "pg_dump".into(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io_err(&partial))?;
    let (bytes, sha256) = manifest::digest(&partial)?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        kreisgeo: env!("CARGO_PKG_VERSION").to_string(),
        created,
        server_major,
        migration,
        bytes,
        sha256,
        tables,
    };
    // An older archive under this name loses its manifest first, so that a crash below never
    // pairs it with the new one's; then the new manifest, then the archive: an archive under
    // its final name has its own manifest or none.
    let manifest_path = manifest::path_of(file);
    if file.exists() && manifest_path.exists() {
        std::fs::remove_file(&manifest_path).map_err(io_err(&manifest_path))?;
    }
    manifest.write(&manifest_path)?;
    manifest::publish(&partial, file)?;
    Ok(manifest)
}
