//! Scheduled backups of a running server (`serve --backup-dir DIR --backup-every 24h
//! --backup-keep N`): taken beside serving at lower priority, verified, and only then are the
//! oldest beyond N removed. Of several nodes, one takes each backup (an advisory lock).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sqlx::{Connection, PgConnection};

use super::manifest::{self, Manifest};
use super::{census, dump, io_err, verify, Result};

const PREFIX: &str = "kreisgeo-";
const SUFFIX: &str = ".pgdump";

/// When and where backups are taken.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// Runs the schedule until the process ends. The first backup is due `every` after the newest
/// one in the directory (at once when there is none).
pub fn spawn(url: String, schedule: Schedule) {
    tokio::spawn(async move {
        loop {
            let wait = match newest(&schedule.dir) {
                Ok(Some((_, taken))) => taken
                    .checked_add(schedule.every)
                    .and_then(|due| due.duration_since(SystemTime::now()).ok())
                    .unwrap_or_default(),
                Ok(None) => Duration::ZERO,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the backup directory");
                    schedule.every.min(Duration::from_secs(3600))
                }
            };
            tokio::time::sleep(wait).await;
            match run_once(&url, &schedule).await {
                Ok(Some(path)) => {
                    tracing::info!(file = %path.display(), "scheduled backup verified");
                }
                Ok(None) => {
                    // Another node takes it; unless none has for long (a lock stuck on a
                    // pooled connection behind PgBouncer, say).
                    let overdue = newest(&schedule.dir)
                        .ok()
                        .flatten()
                        .is_none_or(|(_, taken)| {
                            taken.elapsed().unwrap_or_default() > schedule.every.saturating_mul(2)
                        });
                    if overdue {
                        tracing::warn!(dir = %schedule.dir.display(), "another node holds the backup lock, but no backup is newer than twice --backup-every");
                    } else {
                        tracing::info!("another node holds the backup lock; skipping");
                    }
                    tokio::time::sleep(schedule.every).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, dir = %schedule.dir.display(), "scheduled backup failed; older backups are kept");
                    tokio::time::sleep(schedule.every.min(Duration::from_secs(3600))).await;
                }
            }
        }
    });
}

/// Takes, verifies and prunes once; None when another node holds the lock.
pub async fn run_once(url: &str, schedule: &Schedule) -> Result<Option<PathBuf>> {
    if !schedule.dir.exists() {
        // Backups hold everything, key hashes and the audit log included: for kreisgeo only.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&schedule.dir)
            .map_err(io_err(&schedule.dir))?;
    }
    let mut lock = PgConnection::connect(url).await?;
    if !census::try_lock_schedule(&mut lock).await? {
        let _ = lock.close().await;
        return Ok(None);
    }
    let result = take(url, schedule).await;
    let _ = census::unlock_schedule(&mut lock).await;
    let _ = lock.close().await;
    result.map(Some)
}

async fn take(url: &str, schedule: &Schedule) -> Result<PathBuf> {
    // Partial files are what a killed backup left; no one else writes here while we hold the
    // lock.
    for stale in files(&schedule.dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "partial"))
    {
        tracing::warn!(file = %stale.display(), "removing what an interrupted backup left");
        std::fs::remove_file(&stale).map_err(io_err(&stale))?;
    }
    let name = format!(
        "{PREFIX}{}{SUFFIX}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let path = schedule.dir.join(name);
    let started = std::time::Instant::now();
    let manifest = dump::backup(url, &path).await?;
    if let Err(e) = verify::verify(&path, &manifest).await {
        // A backup that cannot be read back does not count and displaces nothing.
        let _ = std::fs::remove_file(manifest::path_of(&path));
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    tracing::info!(
        file = %path.display(),
        bytes = manifest.bytes,
        seconds = started.elapsed().as_secs_f64(),
        "backup taken and read back"
    );
    prune(&schedule.dir, schedule.keep, &path)?;
    Ok(path)
}

/// Complete scheduled backups in `dir` (`kreisgeo-<UTC time>.pgdump` with its manifest),
/// newest first. Other files there, such as a backup taken by hand, are neither counted nor
/// pruned.
pub fn complete(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<(chrono::NaiveDateTime, PathBuf)> = files(dir)?
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let time = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
            let taken = chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%SZ").ok()?;
            manifest::path_of(&p).is_file().then_some((taken, p))
        })
        .collect();
    found.sort();
    found.reverse();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The newest complete backup and when it was taken.
fn newest(dir: &Path) -> Result<Option<(PathBuf, SystemTime)>> {
    if !dir.exists() {
        return Ok(None);
    }
    let Some(path) = complete(dir)?.into_iter().next() else {
        return Ok(None);
    };
    let taken = Manifest::read(&manifest::path_of(&path))
        .ok()
        .and_then(|m| humantime::parse_rfc3339(&m.created).ok())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(Some((path, taken)))
}

/// Removes the complete backups beyond the newest `keep`, never `fresh` (the one just
/// verified, whatever the clock did).
fn prune(dir: &Path, keep: usize, fresh: &Path) -> Result<()> {
    let others = complete(dir)?.into_iter().filter(|p| p != fresh);
    for old in others.skip(keep.max(1) - 1) {
        let manifest = manifest::path_of(&old);
        std::fs::remove_file(&old).map_err(io_err(&old))?;
        std::fs::remove_file(&manifest).map_err(io_err(&manifest))?;
        tracing::info!(file = %old.display(), "old backup removed");
    }
    Ok(())
}

fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
    Ok(entries.flatten().map(|e| e.path()).collect())
}
