//! `FILE.manifest.json`: what a backup holds, written when the archive is complete, so that a
//! restore (and the scheduled pruning) can tell a whole backup from a damaged or partial one.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{io_err, BackupError, Result};

/// Version of the manifest's own layout.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// The kreisgeo release that wrote it.
    pub kreisgeo: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created: String,
    /// PostgreSQL major version of the server dumped.
    pub server_major: u32,
    /// The newest kreisgeo migration in the dump; a newer kreisgeo migrates forward after a
    /// restore.
    pub migration: i64,
    /// Size and SHA-256 of the archive file.
    pub bytes: u64,
    pub sha256: String,
    /// Rows per table in the snapshot.
    pub tables: BTreeMap<String, i64>,
}

impl Manifest {
    /// Rows of `table`, 0 when the dump has no such table.
    pub fn rows(&self, table: &str) -> i64 {
        self.tables.get(table).copied().unwrap_or(0)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let manifest: Self = serde_json::from_str(&text).map_err(|e| BackupError::Manifest {
            path: path.to_path_buf(),
            reason: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if manifest.format != FORMAT {
            return Err(BackupError::Manifest {
                path: path.to_path_buf(),
                reason: format!(
                    "manifest format {} is not {FORMAT}; a newer kreisgeo wrote it",
                    manifest.format
                ),
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest durably (temporary file, fsync, rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| BackupError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_durably(path, text.as_bytes())
    }

    /// Whether `archive` is the file this manifest describes (size and SHA-256).
    pub fn check_archive(&self, archive: &Path) -> Result<()> {
        let (bytes, sha256) = digest(archive)?;
        if bytes != self.bytes || sha256 != self.sha256 {
            return Err(BackupError::Damaged {
                path: archive.to_path_buf(),
                reason: format!(
                    "{bytes} bytes with SHA-256 {sha256}, but its manifest says {} bytes with {}",
                    self.bytes, self.sha256
                ),
            });
        }
        Ok(())
    }
}

/// Where the manifest of `archive` is kept: beside it.
pub fn path_of(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

/// Size and SHA-256 (hex) of a file, read in blocks.
pub fn digest(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Writes `content` to `path` through a temporary file that is synced and renamed, and syncs
/// the directory, so that after a crash `path` is either the old file or the whole new one.
pub fn write_durably(path: &Path, content: &[u8]) -> Result<()> {
    let tmp = partial_path(path);
    let mut file = create_private(&tmp)?;
    file.write_all(content).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    publish(&tmp, path)
}

/// Creates (or truncates) `path` readable by its owner only: a backup holds everything.
pub fn create_private(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    // An existing file keeps its mode through open(): set it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(io_err(path))?;
    Ok(file)
}

/// Renames a finished `tmp` to `path` and syncs the directory.
pub fn publish(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(io_err(path))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The name a file has while it is written.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}
