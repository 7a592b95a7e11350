//! Point-in-time recovery for the embedded PostgreSQL: continuous WAL archiving into a
//! directory, base backups beside it, and a restore that replays the archive up to a moment.
//!
//! Layout of an archive directory `A` (one setting: `--wal-archive A`), per cluster (its
//! PostgreSQL system identifier `S`: a cluster created anew after a lost disk or a restore
//! from a dump never mixes its WAL with the old one's, whose segments have the same names):
//! - `A/S/wal/`             WAL segments, copied by PostgreSQL's `archive_command` as they fill
//! - `A/S/base/<UTC time>/` base backups (`base.tar.gz` from pg_basebackup, the cluster's
//!   `credentials`, and `backup.json` saying when it ended)
//!
//! For a DATABASE_URL server the provider's tooling (pgBackRest, Barman, a managed service's
//! PITR) does this; see the README.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};

use super::embedded::{EmbeddedError, EmbeddedPostgres};

type Result<T> = std::result::Result<T, EmbeddedError>;

static WAL_ARCHIVE: OnceLock<PathBuf> = OnceLock::new();

/// Sets the archive directory for this process (the global `--wal-archive`); every start of
/// the embedded PostgreSQL then makes sure it archives there.
pub fn set_wal_archive(dir: PathBuf) {
    let _ = WAL_ARCHIVE.set(dir);
}

pub fn wal_archive() -> Option<&'static Path> {
    WAL_ARCHIVE.get().map(PathBuf::as_path)
}

fn failed(what: &str, detail: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Command {
        command: what.to_string(),
        detail: detail.to_string(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `archive_command` for `wal`: a segment appears under its name only when complete and on
/// disk; one already archived is never overwritten, and archiving it again succeeds when it is
/// the same (after a crash between the copy and PostgreSQL noting it), so the archiver never
/// stalls on it.
fn archive_command(wal: &Path) -> String {
    let w = wal.display();
    format!(
        "if test -f '{w}/%f'; then cmp -s '%p' '{w}/%f'; \
         else cp '%p' '{w}/%f.tmp' && sync '{w}/%f.tmp' && mv '{w}/%f.tmp' '{w}/%f'; fi"
    )
}

/// The running cluster's own directory in the archive `A/S`.
async fn cluster_dir(conn: &mut PgConnection, archive: &Path) -> Result<PathBuf> {
    let system: String =
        sqlx::query_scalar("SELECT system_identifier::text FROM pg_control_system()")
            .fetch_one(conn)
            .await
            .map_err(|e| failed("reading the system identifier", e))?;
    Ok(archive.join(system))
}

/// Paths end up inside single-quoted shell words and PostgreSQL settings.
fn check_path(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // The path as PostgreSQL will see it (symbolic links resolved) is what gets quoted.
    let dir = dir.canonicalize().map_err(io(dir))?;
    match dir.to_str() {
        Some(text) if !text.contains(['\'', '%', '"', '\\', '\n']) => Ok(dir),
        _ => Err(failed(
            "--wal-archive",
            format!(
                "{}: the path must be UTF-8 without quotes, backslashes, % or newlines",
                dir.display()
            ),
        )),
    }
}

/// Makes the running cluster archive into `dir` (restarting it once when the setting
/// changes) and takes the first base backup when there is none.
pub(crate) async fn ensure_archiving(pg: &EmbeddedPostgres, dir: &Path) -> Result<()> {
    let archive = check_path(dir)?;
    let mut conn = PgConnection::connect(&pg.url("postgres"))
        .await
        .map_err(|e| EmbeddedError::Connect(e.to_string()))?;
    let dir = cluster_dir(&mut conn, &archive).await?;
    let (wal, base) = (dir.join("wal"), dir.join("base"));
    // The directories PostgreSQL writes to are its own; the chosen directory itself (perhaps
    // /var/backups) keeps its owner and mode.
    for d in [&dir, &wal, &base] {
        std::fs::create_dir_all(d).map_err(io(d))?;
        pg.give_to_postgres(d)?;
    }
    let wanted = archive_command(&wal);
    let current: (String, String, String) = sqlx::query_as(
        "SELECT current_setting('archive_mode'), current_setting('archive_command'), \
         current_setting('wal_level')",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| failed("reading the archive settings", e))?;
    let archiving = current == ("on".into(), wanted.clone(), "replica".into());
    if archiving {
        let _ = conn.close().await;
    } else if !pg.started_here() {
        // Not under a server another process runs (a `kreisgeo serve`): that one restarts it.
        let _ = conn.close().await;
        return Err(failed(
            "--wal-archive",
            "the running embedded PostgreSQL was started without this archive; stop it \
             (`kreisgeo db stop`) and start it again with --wal-archive",
        ));
    } else {
        for (name, value) in [
            ("wal_level", "replica"),
            ("archive_mode", "on"),
            ("archive_command", wanted.as_str()),
            ("max_wal_senders", "4"),
            // A quiet portal still archives its last changes within this.
            ("archive_timeout", "5min"),
        ] {
            // ALTER SYSTEM takes no parameters; the value is a literal quoted by PostgreSQL.
            let literal: String = sqlx::query_scalar("SELECT quote_literal($1)")
                .bind(value)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| failed("ALTER SYSTEM", e))?;
            sqlx::query(&format!("ALTER SYSTEM SET {name} = {literal}"))
                .execute(&mut conn)
                .await
                .map_err(|e| failed("ALTER SYSTEM", e))?;
        }
        let _ = conn.close().await;
        tracing::info!(archive = %wal.display(), "turning on WAL archiving (PostgreSQL restarts once)");
        pg.restart().await?;
    }
    if base_backups(&dir)?.is_empty() {
        base_backup(pg, &archive).await?;
    }
    Ok(())
}

/// What `backup.json` of a base backup says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseBackup {
    /// When pg_basebackup finished: the backup is consistent from about then.
    pub finished: String,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Base backups of one cluster (`A/S`), oldest first.
pub fn base_backups(cluster: &Path) -> Result<Vec<BaseBackup>> {
    let base = cluster.join("base");
    let mut found = Vec::new();
    if !base.exists() {
        return Ok(found);
    }
    for entry in std::fs::read_dir(&base).map_err(io(&base))?.flatten() {
        let dir = entry.path();
        let Ok(text) = std::fs::read_to_string(dir.join("backup.json")) else {
            continue; // an unfinished one
        };
        if let Ok(mut b) = serde_json::from_str::<BaseBackup>(&text) {
            b.dir = dir;
            found.push(b);
        }
    }
    found.sort_by(|a, b| a.finished.cmp(&b.finished));
    Ok(found)
}

/// Takes a base backup of the running cluster into `archive/S/base/<UTC time>/`.
pub async fn base_backup(pg: &EmbeddedPostgres, archive: &Path) -> Result<BaseBackup> {
    let archive = check_path(archive)?;
    let mut conn = PgConnection::connect(&pg.url("postgres"))
        .await
        .map_err(|e| EmbeddedError::Connect(e.to_string()))?;
    let cluster = cluster_dir(&mut conn, &archive).await;
    let _ = conn.close().await;
    let base = cluster?.join("base");
    std::fs::create_dir_all(&base).map_err(io(&base))?;
    let name = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    // Its own working name: two processes taking one in the same second do not meet.
    let partial = base.join(format!("{name}.{}.partial", std::process::id()));
    let done = base.join(&name);
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    pg.give_to_postgres(&partial)?;
    pg.pg_basebackup(&partial).await?;
    std::fs::copy(pg.credentials_file(), partial.join("credentials")).map_err(io(&partial))?;
    let backup = BaseBackup {
        finished: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        dir: done.clone(),
    };
    let text = serde_json::to_string_pretty(&backup).map_err(|e| failed("backup.json", e))?;
    std::fs::write(partial.join("backup.json"), text).map_err(io(&partial))?;
    std::fs::rename(&partial, &done).map_err(io(&done))?;
    tracing::info!(dir = %done.display(), "base backup taken");
    Ok(backup)
}

/// Recovers a cluster in the empty `data_dir` from `archive`: the newest base backup that
/// ended before `to` (the newest of all without it), replayed up to `to` (to the end of the
/// archive without it), then opened for writing.
pub async fn restore_to(data_dir: &Path, archive: &Path, to: Option<SystemTime>) -> Result<()> {
    let archive = check_path(archive)?;
    let pgdata = data_dir.join("pgdata");
    if pgdata.exists() {
        return Err(failed(
            "restore",
            format!(
                "{} exists; a point-in-time restore goes into an empty data directory",
                pgdata.display()
            ),
        ));
    }
    // Every cluster's base backups: the one lost is one of them, its identifier unknown here.
    let mut backups = Vec::new();
    for entry in std::fs::read_dir(&archive).map_err(io(&archive))?.flatten() {
        backups.extend(base_backups(&entry.path())?);
    }
    backups.sort_by(|a, b| a.finished.cmp(&b.finished));
    let chosen = match to {
        Some(to) => backups
            .iter()
            .rev()
            .find(|b| humantime::parse_rfc3339(&b.finished).is_ok_and(|f| f <= to)),
        None => backups.last(),
    };
    let Some(chosen) = chosen else {
        return Err(failed(
            "restore",
            format!(
                "no base backup in {} ended before that moment (the first ended {})",
                archive.display(),
                backups.first().map_or("never", |b| b.finished.as_str())
            ),
        ));
    };
    tracing::info!(base = %chosen.dir.display(), "restoring from base backup");
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let credentials = data_dir.join("credentials");
    std::fs::copy(chosen.dir.join("credentials"), &credentials).map_err(io(&credentials))?;
    EmbeddedPostgres::unpack_base_backup(data_dir, &chosen.dir.join("base.tar.gz")).await?;

    // The WAL of the cluster the base backup is of: A/S/base/<time> → A/S/wal.
    let wal = chosen
        .dir
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| archive.join("wal"), |cluster| cluster.join("wal"));
    let mut recovery = format!(
        "\n# kreisgeo point-in-time restore (removed once recovered)\n\
         restore_command = 'cp ''{w}/%f'' ''%p'''\n\
         recovery_target_action = 'promote'\n",
        w = wal.display()
    );
    if let Some(to) = to {
        let at = humantime::format_rfc3339_seconds(to).to_string();
        recovery.push_str(&format!(
            "recovery_target_time = '{}'\n",
            at.replace('T', " ").replace('Z', "+00")
        ));
    }
    let auto = pgdata.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
    text.push_str(&recovery);
    std::fs::write(&auto, text).map_err(io(&auto))?;
    std::fs::write(pgdata.join("recovery.signal"), "").map_err(io(&pgdata))?;
    Ok(())
}

/// After a point-in-time restore: waits until recovery is over and drops its settings.
pub async fn finish_recovery(pg: &EmbeddedPostgres) -> Result<()> {
    let mut conn = PgConnection::connect(&pg.url("postgres"))
        .await
        .map_err(|e| EmbeddedError::Connect(e.to_string()))?;
    let started = std::time::Instant::now();
    let mut told = started;
    loop {
        let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| failed("recovery", e))?;
        if !recovering {
            break;
        }
        if told.elapsed().as_secs() >= 30 {
            told = std::time::Instant::now();
            tracing::info!(
                seconds = started.elapsed().as_secs(),
                "replaying the WAL archive"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for name in [
        "restore_command",
        "recovery_target_time",
        "recovery_target_action",
    ] {
        sqlx::query(&format!("ALTER SYSTEM RESET {name}"))
            .execute(&mut conn)
            .await
            .map_err(|e| failed("ALTER SYSTEM", e))?;
    }
    sqlx::query("SELECT pg_reload_conf()")
        .execute(&mut conn)
        .await
        .map_err(|e| failed("reload", e))?;
    let _ = conn.close().await;
    tracing::info!("point-in-time restore complete; the database is open for writing");
    Ok(())
}
