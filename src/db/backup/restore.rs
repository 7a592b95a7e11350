//! Restoring a backup into an empty database, in one transaction: it is there whole or not at
//! all.

use std::path::Path;
use std::process::Stdio;

use sqlx::{Connection, PgConnection};

use super::manifest::{self, Manifest};
use super::tools::{Target, Tools};
use super::{census, verify, BackupError, Result};

/// Loads `archive` into the database at `url`, which must hold no tables. With the manifest
/// beside the archive, the file is checked before anything is loaded and the rows after.
/// Returns the manifest (None when there was none). Migrations are the caller's: a newer
/// kreisgeo migrates the restored database forward when it opens it.
pub async fn restore(archive: &Path, url: &str) -> Result<Option<Manifest>> {
    let manifest_path = manifest::path_of(archive);
    let manifest = if manifest_path.exists() {
        let manifest = Manifest::read(&manifest_path)?;
        let path = archive.to_path_buf();
        let expected = manifest.clone();
        tokio::task::spawn_blocking(move || expected.check_archive(&path))
            .await
            .map_err(|e| BackupError::Tools(e.to_string()))??;
        Some(manifest)
    } else if archive.is_file() {
        tracing::warn!(
            manifest = %manifest_path.display(),
            "the backup has no manifest: restoring without checking it"
        );
        None
    } else {
        return Err(BackupError::Io {
            path: archive.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such backup file"),
        });
    };

    let target = Target::parse(url)?;
    let mut conn = PgConnection::connect(url).await?;
    let result = load(&mut conn, &target, archive, manifest.as_ref()).await;
    let _ = conn.close().await;
    result?;
    Ok(manifest)
}

async fn load(
    conn: &mut PgConnection,
    target: &Target,
    archive: &Path,
    manifest: Option<&Manifest>,
) -> Result<()> {
    if let (tables @ 1.., example) = census::occupied(conn).await? {
        return Err(BackupError::TargetNotEmpty {
            tables,
            example: example.unwrap_or_default(),
        });
    }
    let tools = Tools::for_server(census::server_major(conn).await?)?;
    let out = tools
        .command("pg_restore", Some(target))
        .arg("--exit-on-error")
        .arg("--single-transaction")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--no-password")
        .arg(format!("--dbname={}", target.url))
        .arg(archive)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| BackupError::Tools(format!("cannot run pg_restore: {e}")))?;
    if !out.status.success() {
        return Err(BackupError::Tool {
            tool: "pg_restore".into(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    if let Some(manifest) = manifest {
        let found = census::count(conn).await?;
        verify::compare(&manifest.tables, &found).map_err(BackupError::Incomplete)?;
    }
    Ok(())
}
