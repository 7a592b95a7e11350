//! The `kreisgeo` command line: one module per command; `serve` is the library's
//! [`kreisgeo::server`].

mod aed;
mod catalog;
pub mod config;
mod datasets;
mod db;
mod generate;
mod ingest;
mod keys;
mod publishers;
mod solar;
mod sources;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use kreisgeo::db::embedded::EmbeddedPostgres;
use kreisgeo::db::Database;
use kreisgeo::logging::LogFormat;

#[derive(Parser)]
#[command(
    name = "kreisgeo",
    version,
    about = "Geodata and open-data portal backend for German counties"
)]
pub struct Cli {
    /// Settings file (kreisgeo.toml): every option of every command; flags and environment
    /// variables win over it.
    #[arg(long, env = "KREISGEO_CONFIG", global = true)]
    config: Option<PathBuf>,

    /// The file named by --config, as read.
    #[arg(skip)]
    config_file: Option<config::ConfigFile>,

    /// PostgreSQL/PostGIS to use. Without it, kreisgeo runs its own PostgreSQL in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,

    /// A file holding the database URL (a container or systemd secret), so that the password
    /// is in no process environment.
    #[arg(
        long,
        env = "DATABASE_URL_FILE",
        global = true,
        conflicts_with = "database_url"
    )]
    database_url_file: Option<PathBuf>,

    /// Directory of the embedded PostgreSQL [default: /var/lib/kreisgeo for root,
    /// ~/.local/share/kreisgeo otherwise]
    #[arg(long, env = "KREISGEO_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,

    /// Archive the embedded PostgreSQL's WAL into this directory, with base backups beside it,
    /// for point-in-time restores (`kreisgeo db restore --to`). Turning it on restarts the
    /// embedded PostgreSQL once; leave it set for every command.
    #[arg(long, env = "KREISGEO_WAL_ARCHIVE", global = true)]
    wal_archive: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(
        long,
        value_enum,
        env = "KREISGEO_LOG_FORMAT",
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API (OGC API Features, vector tiles, OpenAPI).
    Serve(Box<kreisgeo::server::Settings>),
    /// Load a file as a new version of a dataset and serve it: GeoJSON, GeoJSONSeq,
    /// FlatGeobuf, CSV (coordinates or WKT), GeoPackage, Shapefile (.shp or zipped) or an
    /// Overpass API JSON answer.
    Ingest(Box<ingest::IngestArgs>),
    /// List datasets and their versions; switch back to an older version.
    Datasets {
        #[command(subcommand)]
        action: datasets::DatasetsAction,
    },
    /// Bulk downloads: build the files every served version lacks, now (a running server
    /// builds them in the background too).
    Downloads {
        #[command(subcommand)]
        action: datasets::DownloadsAction,
    },
    /// The open-data catalog: the county as publisher.
    Catalog {
        #[command(subcommand)]
        action: catalog::CatalogAction,
    },
    /// Further publishers (the municipalities the portal is run for) and which one a dataset
    /// belongs to.
    Publishers {
        #[command(subcommand)]
        action: publishers::PublishersAction,
    },
    /// Create, list and revoke API keys of the admin API.
    Keys {
        #[command(subcommand)]
        action: keys::KeysAction,
    },
    /// Manage the embedded PostgreSQL.
    Db {
        #[command(subcommand)]
        action: db::DbAction,
    },
    /// The settings file: what is in effect, and an annotated example.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate deterministic parcels, solar roofs or AEDs inside Landkreis Lüneburg.
    Generate(generate::GenerateArgs),
    /// Datasets fed from other servers: OGC API Features collections, files by URL.
    Sources {
        #[command(subcommand)]
        action: sources::SourcesAction,
    },
    /// Defibrillators: the county's coverage on foot.
    Aed {
        #[command(subcommand)]
        action: aed::AedAction,
    },
    /// The solar cadastre computed from LoD2 roofs and a typical meteorological year.
    Solar {
        #[command(subcommand)]
        action: solar::SolarAction,
    },
}

#[derive(Subcommand)]
pub enum ConfigAction {
    /// Print the settings in effect for `serve` and the global options (and any command the
    /// file sets), each with where it came from; passwords are masked. Fails on an unknown key.
    Check,
    /// Print an annotated kreisgeo.toml with every setting at its default.
    Example,
}

/// Parses the command line over the settings file's defaults; exits with clap's message on a
/// bad command line and with the file's line on a bad file.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let file = match config::path_from(&args).map(|p| config::ConfigFile::read(&p)) {
        Some(Ok(file)) => Some(file),
        Some(Err(e)) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
        None => None,
    };
    let mut cmd = Cli::command();
    if let Some(file) = &file {
        cmd = match file.apply(cmd) {
            Ok(cmd) => cmd,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::exit(2);
            }
        };
    }
    let matches = cmd.get_matches_from(&args);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The two ways of naming the database exclude each other, but clap does not hold file
    // values (defaults to it) against a given one: the given one wins.
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
        )
    };
    if given("database_url_file") && !given("database_url") {
        cli.database_url = None;
    } else if given("database_url") && !given("database_url_file") {
        cli.database_url_file = None;
    } else if cli.database_url.is_some() && cli.database_url_file.is_some() {
        eprintln!("error: the settings file sets both database_url and database_url_file");
        std::process::exit(2);
    }
    cli.config_file = file;
    cli
}

/// `kreisgeo config check`: the effective settings of the global options and of `serve`
/// (and of every other command the file names), as `serve` would see them started now.
fn config_check(file: Option<&config::ConfigFile>) -> anyhow::Result<String> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    if let Some(file) = file {
        cmd = file.apply(cmd)?;
    }
    cmd.build();
    let mut out = match file {
        Some(f) => format!("# configuration file: {}\n", f.path.display()),
        None => "# no configuration file (--config, KREISGEO_CONFIG)\n".to_string(),
    };
    out.push_str("# in effect: command line > environment > file > default\n");
    let mut commands: Vec<Vec<String>> = vec![vec!["serve".to_string()]];
    for s in file.iter().flat_map(|f| &f.settings) {
        if !s.command.is_empty() && !commands.contains(&s.command) {
            commands.push(s.command.clone());
        }
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let root = cmd.clone().try_get_matches_from(&args)?;
    config::describe(&cmd, &root, &[], file, &mut out);
    for path in commands {
        let mut argv = vec!["kreisgeo".to_string()];
        argv.extend(path.iter().cloned());
        let mut sub = &cmd;
        for name in &path {
            sub = sub
                .find_subcommand(name)
                .ok_or_else(|| anyhow::anyhow!("no command {name}"))?;
        }
        out.push_str(&format!("\n[{}]\n", path.join(".")));
        let matches = match cmd.clone().try_get_matches_from(&argv) {
            Ok(m) => m,
            // What a command needs on each run (a FILE, --dataset) is no setting: its values
            // are shown as the file has them and checked when the command runs.
            Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
                for s in file.iter().flat_map(|f| &f.settings) {
                    if s.command == path {
                        out.push_str(&format!(
                            "{} = {}  # line {}, checked when the command runs\n",
                            s.key,
                            s.shown(),
                            s.line
                        ));
                    }
                }
                continue;
            }
            Err(e) => anyhow::bail!("[{}]: {e}", path.join(".")),
        };
        let mut found = &matches;
        for name in &path {
            match found.subcommand_matches(name) {
                Some(m) => found = m,
                None => break,
            }
        }
        config::describe(sub, found, &path, file, &mut out);
    }
    Ok(out)
}

/// Runs the command line's command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &cli.wal_archive {
        kreisgeo::db::archive::set_wal_archive(dir.clone());
    }
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(EmbeddedPostgres::default_data_dir);
    let from_file = match &cli.database_url_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the database URL from {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let url = cli
        .database_url
        .as_deref()
        .or(from_file.as_deref())
        .filter(|u| !u.is_empty());
    match cli.command {
        Command::Serve(settings) => {
            kreisgeo::server::run(url, &data_dir, *settings).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(args) => ingest::run(url, &data_dir, *args).await,
        Command::Datasets { action } => datasets::run(url, &data_dir, action).await,
        Command::Solar { action } => solar::run(url, &data_dir, action).await,
        Command::Aed { action } => aed::run(url, &data_dir, action).await,
        Command::Sources { action } => Box::pin(sources::run(url, &data_dir, action)).await,
        Command::Keys { action } => keys::run(url, &data_dir, action).await,
        Command::Catalog { action } => catalog::run(url, &data_dir, action).await,
        Command::Publishers { action } => publishers::run(url, &data_dir, action).await,
        Command::Downloads {
            action: datasets::DownloadsAction::Build,
        } => datasets::build_downloads(url, &data_dir).await,
        Command::Db { action } => db::run(action, url, &data_dir).await,
        Command::Config {
            action: ConfigAction::Check,
        } => {
            print!("{}", config_check(cli.config_file.as_ref())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            action: ConfigAction::Example,
        } => {
            use clap::CommandFactory;
            print!("{}", config::example(&Cli::command()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi { out } => {
            let text = kreisgeo::api::openapi::openapi_json();
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate(args) => {
            generate::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the database, runs `f` on its pool, and closes it again (stopping an embedded server
/// this process started) whatever `f` returned.
pub(crate) async fn with_db<T, F, Fut>(
    url: Option<&str>,
    data_dir: &Path,
    f: F,
) -> anyhow::Result<T>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = kreisgeo::Result<T>>,
{
    let db = Database::open(url, data_dir).await?;
    let result = f(db.pool.clone()).await;
    db.close().await?;
    Ok(result?)
}

/// A JSON document from a file; the error names the file and where in it.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(file: &Path) -> kreisgeo::Result<T> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        kreisgeo::Error::invalid("file", format!("cannot read {}: {e}", file.display()))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| kreisgeo::Error::invalid("file", format!("{}: {e}", file.display())))
}

pub(crate) fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
