//! Backups of everything kreisgeo stores (catalog, every kept version, downloads, keys, audit
//! log): one `pg_dump` archive in PostgreSQL's custom format, taken from one snapshot, with a
//! manifest beside it that says what a complete restore must hold.
//!
//! - [`dump::backup`] writes `FILE` and `FILE.manifest.json`;
//! - [`verify::verify`] reads the whole archive back through `pg_restore` and checks it against
//!   the manifest, without a database;
//! - [`restore::restore`] loads it into an empty database and checks the rows again;
//! - [`schedule`] runs them from `kreisgeo serve` and prunes only after a verified backup.
//!
//! PostgreSQL's own tools do the work, so an archive is also restorable by hand with
//! `pg_restore` alone.

pub mod census;
pub mod dump;
pub mod manifest;
pub mod restore;
pub mod schedule;
pub mod tools;
pub mod verify;

use std::path::PathBuf;

/// What went wrong with a backup or a restore; each names the file or the tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error("{0}")]
    Tools(String),

    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: String,
        status: String,
        stderr: String,
    },

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("database: {0}")]
    Database(#[from] sqlx::Error),

    #[error("the database URL cannot be read: {0}")]
    Url(String),

    #[error("{path}: {reason}")]
    Manifest { path: PathBuf, reason: String },

    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },

    #[error(
        "the target database is not empty ({tables} tables, e.g. {example}); a restore only goes \
         into an empty database or data directory, so that nothing there is overwritten"
    )]
    TargetNotEmpty { tables: i64, example: String },

    #[error(
        "the restored database differs from the backup's manifest ({0}); it was loaded all the \
         same: drop it (or remove the data directory) before restoring another backup"
    )]
    Incomplete(String),
}

pub type Result<T> = std::result::Result<T, BackupError>;

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}
