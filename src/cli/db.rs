//! `kreisgeo db`: the embedded PostgreSQL, and backups of whichever database kreisgeo uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use anyhow::{bail, Context};

use kreisgeo::db::archive;
use kreisgeo::db::backup::{self, manifest::Manifest};
use kreisgeo::db::embedded::{self, EmbeddedPostgres};
use kreisgeo::db::Database;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StopMode {
    Smart,
    Fast,
    Immediate,
}

#[derive(Subcommand)]
pub enum DbAction {
    /// Start the embedded PostgreSQL and leave it running; prints its URL.
    Start,
    /// Stop the embedded PostgreSQL.
    Stop {
        /// smart waits up to 15 s for clients to leave, then goes fast; fast disconnects them
        /// at once (what a service restart does); immediate stops without a checkpoint, as a
        /// crash would (recovery replays the WAL at the next start).
        #[arg(long, value_enum, default_value = "smart")]
        mode: StopMode,
    },
    /// Print the URL of the running embedded PostgreSQL.
    Url,
    /// Back up everything kreisgeo stores (catalog, every kept version, downloads, keys, audit
    /// log) from one snapshot into FILE (pg_dump's custom format), with FILE.manifest.json
    /// beside it; the archive is read back and checked before the command succeeds. Serving
    /// goes on meanwhile.
    Backup {
        /// The archive to write; replaced only by a complete backup.
        file: PathBuf,
        /// Skip reading the archive back (it is still checksummed in its manifest).
        #[arg(long)]
        no_verify: bool,
    },
    /// Restore a backup into an empty data directory (the embedded PostgreSQL) or an empty
    /// DATABASE_URL database, in one transaction, then migrate it to this release. Without
    /// FILE, with --wal-archive: a point-in-time restore of the embedded PostgreSQL from its
    /// WAL archive, to --to or to the end of the archive.
    Restore {
        /// An archive written by `kreisgeo db backup` (its manifest beside it is checked when
        /// present).
        file: Option<PathBuf>,
        /// Replay the WAL archive up to this moment (RFC 3339, e.g. 2026-12-06T08:30:00Z);
        /// what was committed after it is not restored.
        #[arg(long, conflicts_with = "file", value_parser = moment)]
        to: Option<std::time::SystemTime>,
    },
    /// Check a backup against its manifest: size, checksum, and every table's rows as
    /// pg_restore reads the archive (no database needed).
    Verify { file: PathBuf },
    /// Take a base backup into the WAL archive now (--wal-archive); the restore starts from
    /// the newest one before its moment. Serving goes on.
    BaseBackup,
}

pub async fn run(action: DbAction, url: Option<&str>, data_dir: &Path) -> anyhow::Result<ExitCode> {
    match action {
        DbAction::Start => {
            let pg = EmbeddedPostgres::ensure_running(data_dir).await?;
            println!("{}", pg.url(embedded::DATABASE));
        }
        DbAction::Url => match EmbeddedPostgres::attach(data_dir).await? {
            Some(pg) => println!("{}", pg.url(embedded::DATABASE)),
            None => bail!(
                "no embedded PostgreSQL is running in {}",
                data_dir.display()
            ),
        },
        DbAction::Stop { mode } => match EmbeddedPostgres::attach(data_dir).await? {
            Some(pg) => match mode {
                StopMode::Smart => pg.force_stop().await?,
                StopMode::Fast => pg.stop_now(false).await?,
                StopMode::Immediate => pg.stop_now(true).await?,
            },
            None => eprintln!(
                "no embedded PostgreSQL is running in {}",
                data_dir.display()
            ),
        },
        DbAction::Backup { file, no_verify } => {
            let archive = file.clone();
            let manifest = on_database(url, data_dir, |url| async move {
                let manifest = backup::dump::backup(&url, &archive).await?;
                if !no_verify {
                    backup::verify::verify(&archive, &manifest).await?;
                }
                Ok(manifest)
            })
            .await?;
            println!(
                "{}: {} bytes; {}{}",
                file.display(),
                manifest.bytes,
                summary(&manifest),
                if no_verify {
                    ""
                } else {
                    "; read back and checked"
                }
            );
        }
        DbAction::Verify { file } => {
            let manifest = Manifest::read(&backup::manifest::path_of(&file))?;
            backup::verify::verify(&file, &manifest).await?;
            println!(
                "{}: whole; taken {}; {}",
                file.display(),
                manifest.created,
                summary(&manifest)
            );
        }
        DbAction::BaseBackup => {
            let Some(archive) = archive::wal_archive() else {
                bail!("base backups go into the WAL archive: set --wal-archive");
            };
            if url.is_some() {
                bail!("base backups are for the embedded PostgreSQL; for a DATABASE_URL server use its own tooling (pgBackRest, the provider's PITR)");
            }
            let pg = EmbeddedPostgres::ensure_running(data_dir).await?;
            let result = archive::base_backup(&pg, archive).await;
            pg.stop().await?;
            println!("{}", result?.dir.display());
        }
        DbAction::Restore { file: None, to } => {
            let Some(archive) = archive::wal_archive() else {
                bail!("restore what? give a backup FILE, or --wal-archive for a point-in-time restore");
            };
            if url.is_some() {
                bail!("a point-in-time restore is for the embedded PostgreSQL; for a DATABASE_URL server use its own tooling (pgBackRest, the provider's PITR)");
            }
            archive::restore_to(data_dir, archive, to).await?;
            let pg = EmbeddedPostgres::ensure_running(data_dir).await?;
            // The restored database lives on in a new timeline, which starts with its own
            // base backup.
            let result = match archive::finish_recovery(&pg).await {
                Ok(()) => archive::base_backup(&pg, archive).await.map(|_| ()),
                Err(e) => Err(e),
            };
            pg.stop().await?;
            result?;
            // Opening it archives again and applies the migrations of this release.
            Database::open(url, data_dir).await?.close().await?;
            match to {
                Some(to) => println!(
                    "restored to {}; migrated",
                    humantime::format_rfc3339_seconds(to)
                ),
                None => println!("restored to the end of the WAL archive; migrated"),
            }
        }
        DbAction::Restore {
            file: Some(file), ..
        } => {
            if url.is_none() {
                refuse_a_used_data_directory(data_dir).await?;
            }
            let manifest = on_database(url, data_dir, |url| async move {
                backup::restore::restore(&file, &url).await
            })
            .await
            .context("restore")?;
            // Opening it applies the migrations of this release.
            Database::open(url, data_dir).await?.close().await?;
            match manifest {
                Some(m) => println!("restored from {}: {}; migrated", m.created, summary(&m)),
                None => println!("restored (no manifest to check it against); migrated"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `f` with the URL of DATABASE_URL or of the embedded PostgreSQL (started for it and
/// stopped again if this process started it), without migrating anything.
async fn on_database<T, F, Fut>(url: Option<&str>, data_dir: &Path, f: F) -> anyhow::Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = backup::Result<T>>,
{
    if let Some(url) = url {
        return Ok(f(url.to_string()).await?);
    }
    let pg = EmbeddedPostgres::ensure_running(data_dir).await?;
    let result = f(pg.url(embedded::DATABASE)).await;
    pg.stop().await?;
    Ok(result?)
}

/// A restore goes into a data directory without a cluster, or one whose database is still
/// empty (checked again on the database itself).
async fn refuse_a_used_data_directory(data_dir: &Path) -> anyhow::Result<()> {
    if data_dir.join("pgdata").exists() && !data_dir.join("pgdata/PG_VERSION").exists() {
        bail!(
            "{} holds an incomplete PostgreSQL data directory; move it aside first",
            data_dir.join("pgdata").display()
        );
    }
    Ok(())
}

/// A moment with its offset (`Z` or `+01:00`): a local time without one would be read as UTC
/// and replay an hour or two too far.
fn moment(text: &str) -> Result<std::time::SystemTime, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(std::time::SystemTime::from)
        .map_err(|e| {
            format!("{e}: give the moment with its offset, e.g. 2026-12-06T08:30:00+01:00 or …Z")
        })
}

fn summary(m: &Manifest) -> String {
    format!(
        "{} datasets, {} versions, {} downloads, {} API keys, {} audit entries, {} rows in {} tables",
        m.rows("catalog.datasets"),
        m.rows("catalog.versions"),
        m.rows("catalog.downloads"),
        m.rows("catalog.api_keys"),
        m.rows("catalog.audit_log"),
        m.tables.values().sum::<i64>(),
        m.tables.len()
    )
}
