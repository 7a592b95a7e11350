//! `kreisgeo db`: the embedded PostgreSQL.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use anyhow::bail;

use kreisgeo::db::embedded::{self, EmbeddedPostgres};

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
}

pub async fn run(action: DbAction, data_dir: &Path) -> anyhow::Result<ExitCode> {
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
    }
    Ok(ExitCode::SUCCESS)
}
