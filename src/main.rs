//! The `kreisgeo` command line: serve, ingest, manage the embedded database, generate data.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::db::embedded::{self, EmbeddedPostgres};
use kreisgeo::db::Database;
use kreisgeo::generate::{self, GenKind, OutputFormat};
use kreisgeo::ingest::formats::ReadOptions;
use kreisgeo::ingest::{self, IngestRequest, Progress};
use kreisgeo::logging::{self, LogFormat};
use kreisgeo::opendata::metadata::{DatasetMetadata, Publisher};

#[derive(Parser)]
#[command(
    name = "kreisgeo",
    version,
    about = "Geodata and open-data portal backend for German counties"
)]
struct Cli {
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

    /// Log format on stderr.
    #[arg(
        long,
        value_enum,
        env = "KREISGEO_LOG_FORMAT",
        default_value = "human",
        global = true
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (OGC API Features, vector tiles, OpenAPI).
    Serve(Box<ServeArgs>),
    /// Load a file as a new version of a dataset and serve it: GeoJSON, GeoJSONSeq,
    /// FlatGeobuf, CSV (coordinates or WKT), GeoPackage, Shapefile (.shp or zipped) or an
    /// Overpass API JSON answer.
    Ingest {
        /// The file to load (the format is detected from its content and name).
        file: PathBuf,
        /// Dataset id: a-z, 0-9, '_' and '-'; it becomes the collection id.
        #[arg(long)]
        dataset: String,
        /// What the dataset holds.
        #[arg(long, value_enum, default_value = "generic")]
        kind: DatasetKind,
        /// CRS of the coordinates (e.g. EPSG:25832); overrides what the file declares.
        #[arg(long)]
        crs: Option<String>,
        /// Human-readable title of the dataset.
        #[arg(long)]
        title: Option<String>,
        /// How many versions to keep (the served one included).
        #[arg(long, default_value_t = ingest::DEFAULT_KEEP_VERSIONS)]
        keep_versions: i64,
        /// Store the valid features and report the rejected ones, instead of failing.
        #[arg(long)]
        skip_invalid: bool,
        /// CSV: column with longitude/easting [detected: lon, longitude, x, rechtswert …].
        #[arg(long)]
        x_field: Option<String>,
        /// CSV: column with latitude/northing [detected: lat, latitude, y, hochwert …].
        #[arg(long)]
        y_field: Option<String>,
        /// CSV: column with WKT geometries [detected: wkt, geometry, geom …].
        #[arg(long)]
        wkt_field: Option<String>,
        /// CSV: field delimiter [detected from the header line].
        #[arg(long)]
        delimiter: Option<char>,
        /// GeoPackage: the feature table to read [the first].
        #[arg(long)]
        layer: Option<String>,
        /// Which source column holds a canonical attribute of the --kind profile, e.g.
        /// --map flurstueckskennzeichen=KENNZ (repeatable).
        #[arg(long = "map", value_name = "ATTRIBUTE=COLUMN", value_parser = parse_mapping)]
        mappings: Vec<(String, String)>,
        /// Print the ingest report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List datasets and their versions; switch back to an older version.
    Datasets {
        #[command(subcommand)]
        action: DatasetsAction,
    },
    /// Bulk downloads: build the files every served version lacks, now (a running server
    /// builds them in the background too).
    Downloads {
        #[command(subcommand)]
        action: DownloadsAction,
    },
    /// The open-data catalog: the county as publisher.
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// Create, list and revoke API keys of the admin API.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage the embedded PostgreSQL.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate deterministic parcels, solar roofs or AEDs inside Landkreis Lüneburg.
    Generate {
        #[arg(long, value_enum)]
        kind: GenKind,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file; the format follows the extension (.geojson, .fgb) unless --format says.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
    },
}

/// Options of `serve`; each has a safe default and a KREISGEO_* environment variable.
#[derive(clap::Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "KREISGEO_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Public base URL for links, when behind a proxy (e.g. https://geo.example.de).
    #[arg(long, env = "KREISGEO_PUBLIC_URL")]
    public_url: Option<String>,
    /// HTTP worker threads [default: one per core].
    #[arg(long, env = "KREISGEO_WORKERS")]
    workers: Option<usize>,
    /// Largest upload the admin API accepts, in bytes (streamed to disk, never held in memory).
    #[arg(long, env = "KREISGEO_MAX_UPLOAD_BYTES", default_value_t = kreisgeo::api::state::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: u64,
    /// Memory for rendered vector tiles, in bytes (both encodings of each tile count).
    #[arg(long, env = "KREISGEO_TILE_CACHE_BYTES", default_value_t = kreisgeo::tiles::cache::DEFAULT_CACHE_BYTES)]
    tile_cache_bytes: u64,
    /// Render WebMercatorQuad tiles up to this zoom (and AdV tiles to the same detail) into
    /// the cache in the background at start-up and after each admin ingest [default: on
    /// demand only].
    #[arg(long, env = "KREISGEO_SEED_MAX_ZOOM", value_parser = clap::value_parser!(u8).range(0..=20))]
    seed_max_zoom: Option<u8>,
    /// How long the catalog (DCAT and CKAN) lists a deleted dataset as deleted, in days.
    #[arg(long, env = "KREISGEO_DELETED_RETENTION_DAYS", default_value_t = 30)]
    deleted_retention_days: u32,
    /// A hard rate: requests a second one client may sustain on the public API [default:
    /// none; --requests-per-client refuses floods, and a client asking one request at a time
    /// is never refused].
    #[arg(long, env = "KREISGEO_RATE_LIMIT", default_value_t = 0)]
    rate_limit: u32,
    /// Requests one client may send at once after a quiet moment.
    #[arg(long, env = "KREISGEO_RATE_BURST", default_value_t = 400)]
    rate_burst: u32,
    /// Believe the client address, host and scheme in Forwarded/X-Forwarded-For/-Host/-Proto
    /// (rate limits, logs, links); only behind a proxy that sets them.
    #[arg(long, env = "KREISGEO_TRUST_FORWARDED")]
    trust_forwarded: bool,
    /// Origins browsers may read the API from (comma-separated) [default: any].
    #[arg(long, env = "KREISGEO_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// PostgreSQL cancels a public query running longer (e.g. 30s, 2m).
    #[arg(long, env = "KREISGEO_STATEMENT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    statement_timeout: std::time::Duration,
    /// How long a request waits for a database connection before it answers 503; also how
    /// long the first requests of a database outage take to say so.
    #[arg(long, env = "KREISGEO_DB_ACQUIRE_TIMEOUT", default_value = "750ms", value_parser = humantime::parse_duration)]
    db_acquire_timeout: std::time::Duration,
    /// Database connections of the public API.
    #[arg(long, env = "KREISGEO_DB_CONNECTIONS", default_value_t = 16)]
    db_connections: u32,
    /// Requests of one client (address) handled at once; eight times as many more wait for
    /// one of its own, further ones get 429 [default: a quarter of --db-connections, at
    /// least 2].
    #[arg(long, env = "KREISGEO_REQUESTS_PER_CLIENT")]
    requests_per_client: Option<usize>,
    /// An ingest job running longer is stopped and fails (the served version stays).
    #[arg(long, env = "KREISGEO_INGEST_TIME_LIMIT", default_value = "6h", value_parser = humantime::parse_duration)]
    ingest_time_limit: std::time::Duration,
    /// The Land whose public holidays opening hours (`PH`) follow: NI, BY, … or its key 03, 09
    /// [default: the Land of the publisher's district key; without one, nationwide holidays].
    #[arg(long, env = "KREISGEO_LAND", value_parser = parse_land)]
    land: Option<kreisgeo::hours::Land>,
    /// Uploads that may wait for an ingest slot; more are refused with 503.
    #[arg(long, env = "KREISGEO_MAX_QUEUED_INGESTS", default_value_t = 8)]
    max_queued_ingests: usize,
    /// Ingest jobs run at once; further uploads wait queued.
    #[arg(long, env = "KREISGEO_MAX_CONCURRENT_INGESTS", default_value_t = 1)]
    max_concurrent_ingests: usize,
    /// Tiles rendered at once (cache hits never wait).
    #[arg(long, env = "KREISGEO_MAX_CONCURRENT_RENDERS", default_value_t = kreisgeo::tiles::cache::DEFAULT_RENDERS)]
    max_concurrent_renders: usize,
    /// A client must send its request head within this time (slow-loris protection).
    #[arg(long, env = "KREISGEO_HEADER_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    header_timeout: std::time::Duration,
    /// Idle keep-alive connections close after this time.
    #[arg(long, env = "KREISGEO_KEEP_ALIVE", default_value = "15s", value_parser = humantime::parse_duration)]
    keep_alive: std::time::Duration,
    /// On SIGTERM/SIGINT, requests in flight get this long to finish.
    #[arg(long, env = "KREISGEO_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    shutdown_grace: std::time::Duration,
    /// A streaming replica of DATABASE_URL's server for public data reads (repeat, or
    /// comma-separated in the variable); the catalog and every write stay on the primary.
    #[arg(
        long = "replica-url",
        env = "KREISGEO_REPLICA_URLS",
        value_delimiter = ','
    )]
    replica_urls: Vec<String>,
    /// A direct connection to the primary for LISTEN (the catalog cache's announcements),
    /// when DATABASE_URL goes through PgBouncer in transaction mode [default: DATABASE_URL].
    #[arg(long, env = "KREISGEO_LISTEN_URL")]
    listen_url: Option<String>,
    /// How long a read waits for a replica to replay the version it needs before the primary
    /// answers it.
    #[arg(long, env = "KREISGEO_REPLICA_WAIT", default_value = "500ms", value_parser = humantime::parse_duration)]
    replica_wait: std::time::Duration,
}

#[derive(Subcommand)]
enum DatasetsAction {
    /// Every dataset with its active version.
    List,
    /// The kept versions of a dataset, newest first.
    Versions { id: String },
    /// Serve an older kept version again (the previous one, or --to VERSION), atomically.
    Rollback {
        id: String,
        #[arg(long)]
        to: Option<i64>,
    },
    /// Delete a dataset: its versions, tables and downloads go at once; the catalog lists it as
    /// deleted for the retention time of `serve --deleted-retention-days`.
    Delete { id: String },
    /// Print a dataset's open-data metadata (JSON), or replace it with --file.
    Metadata {
        id: String,
        /// A JSON document: title, description, keywords, themes, license,
        /// licenseAttributionByText, accrualPeriodicity, temporal, contact (all optional).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// How the dataset's vector tiles are cut; without options, back to the defaults.
    Tiles {
        id: String,
        /// Most features per tile (the largest are kept) [default: 4000].
        #[arg(long)]
        max_features: Option<u32>,
        /// First WebMercatorQuad zoom whose tiles carry attributes [default: 12].
        #[arg(long)]
        attributes_from_zoom: Option<u8>,
        /// Comma-separated attributes tiles carry [default: all].
        #[arg(long, value_delimiter = ',')]
        attributes: Option<Vec<String>>,
    },
}

#[derive(Subcommand)]
enum DownloadsAction {
    /// Build every missing file (GeoJSON, CSV, FlatGeobuf, GeoPackage) of the served versions.
    Build,
}

#[derive(Subcommand)]
enum CatalogAction {
    /// Print the publisher (JSON), or enter it with --file: name, uri, districtKey,
    /// contributorId, contact, license, licenseAttributionByText, catalogTitle,
    /// catalogDescription.
    Publisher {
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create a key and print it: it is shown this once, only its hash is stored.
    Create {
        /// Who or what uses the key, e.g. "GIS-Fachdienst".
        #[arg(long)]
        name: String,
        /// Comma-separated datasets the key may act on [default: every dataset, and the
        /// catalog-wide publisher].
        #[arg(long, value_delimiter = ',')]
        datasets: Option<Vec<String>>,
        /// Comma-separated actions the key may do: ingest, metadata, rollback, delete
        /// [default: all].
        #[arg(long, value_delimiter = ',', value_parser = parse_action)]
        actions: Option<Vec<kreisgeo::auth::Action>>,
    },
    /// Every key (without secrets).
    List,
    /// Revoke a key; it stops working at once.
    Revoke { id: i64 },
    /// The audit log of admin actions, newest first.
    Audit {
        /// Only this dataset's entries.
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn parse_action(s: &str) -> Result<kreisgeo::auth::Action, String> {
    kreisgeo::auth::Action::parse(s)
        .ok_or_else(|| format!("'{s}' is not one of ingest, metadata, rollback, delete"))
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StopMode {
    Smart,
    Fast,
    Immediate,
}

#[derive(Subcommand)]
enum DbAction {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    // An actix System over tokio's multi-threaded runtime: the HTTP workers then run on their
    // own arbiters, and a graceful shutdown waits for the connections still being answered
    // (on a bare tokio runtime actix-server counts them as idle and drops streaming responses).
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let system = actix_web::rt::System::with_tokio_rt(move || runtime);
    match system.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
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
        Command::Serve(args) => {
            serve(url, &data_dir, *args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            file,
            dataset,
            kind,
            crs,
            title,
            keep_versions,
            skip_invalid,
            x_field,
            y_field,
            wkt_field,
            delimiter,
            layer,
            mappings,
            json,
        } => {
            let delimiter = delimiter
                .map(|d| u8::try_from(d).context("--delimiter must be a single ASCII character"))
                .transpose()?;
            let crs = crs
                .map(|c| {
                    kreisgeo::crs::parse(&c)
                        .with_context(|| format!("--crs '{c}' is not a CRS such as EPSG:25832"))
                })
                .transpose()?;
            let request = IngestRequest {
                path: file,
                dataset,
                kind,
                crs,
                title,
                keep_versions,
                skip_invalid,
                read: ReadOptions {
                    x: x_field,
                    y: y_field,
                    wkt: wkt_field,
                    delimiter,
                    layer,
                },
                mappings,
            };
            run_ingest(url, &data_dir, request, json).await
        }
        Command::Datasets { action } => datasets_command(url, &data_dir, action).await,
        Command::Keys { action } => keys_command(url, &data_dir, action).await,
        Command::Catalog { action } => catalog_command(url, &data_dir, action).await,
        Command::Downloads {
            action: DownloadsAction::Build,
        } => {
            with_db(url, &data_dir, |pool| async move {
                let started = std::time::Instant::now();
                let built = kreisgeo::downloads::build::build_missing(&pool).await?;
                eprintln!(
                    "{built} download files built in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        Command::Db { action } => db_command(action, &data_dir).await,
        Command::Openapi { out } => {
            let text = kreisgeo::api::openapi::openapi_json();
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            kind,
            count,
            seed,
            out,
            format,
        } => {
            generate_file(kind, count, seed, &out, format)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(url: Option<&str>, data_dir: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let rate_limit = match (
        std::num::NonZeroU32::new(args.rate_limit),
        std::num::NonZeroU32::new(args.rate_burst),
    ) {
        (Some(per_second), burst) => Some(kreisgeo::api::ratelimit::RateLimitConfig {
            per_second,
            burst: burst.unwrap_or(per_second),
            trust_forwarded: args.trust_forwarded,
        }),
        (None, _) => None,
    };
    let config = ApiConfig {
        public_url: args.public_url,
        trust_forwarded: args.trust_forwarded,
        max_upload_bytes: args.max_upload_bytes,
        tile_cache_bytes: args.tile_cache_bytes,
        seed_max_zoom: args.seed_max_zoom,
        deleted_retention_days: args.deleted_retention_days,
        max_concurrent_ingests: args.max_concurrent_ingests,
        max_concurrent_renders: args.max_concurrent_renders,
        rate_limit,
        cors_origins: args.cors_origins,
        requests_per_client: args
            .requests_per_client
            .unwrap_or((args.db_connections as usize / 4).max(2))
            .max(1),
        // A request waits no longer than one of its client's own may take.
        client_wait: args.statement_timeout,
        ingest_time_limit: args.ingest_time_limit,
        max_queued_ingests: args.max_queued_ingests,
        land: args.land,
    };
    if let Some(url) = &config.public_url {
        kreisgeo::api::client::public_url(url).map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
    } else {
        tracing::warn!(
            trust_forwarded = config.trust_forwarded,
            "no --public-url: links and catalog IRIs are built from each request's Host header \
             (and from X-Forwarded-Host/-Proto only with --trust-forwarded); set --public-url \
             behind a proxy"
        );
    }
    let db = Database::open(url, data_dir).await?;
    let interrupted = kreisgeo::jobs::fail_interrupted(&db.pool).await?;
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "ingest jobs of a previous run were interrupted; marked failed"
        );
    }
    let public_settings = kreisgeo::db::PoolSettings {
        max_connections: args.db_connections.max(1),
        acquire_timeout: args.db_acquire_timeout,
        statement_timeout: Some(args.statement_timeout),
    };
    let public = db.pool_with(&public_settings).await?;
    // A replica that went away fails its reads within this, and the primary takes them.
    let replica_settings = kreisgeo::db::PoolSettings {
        acquire_timeout: args
            .db_acquire_timeout
            .min(std::time::Duration::from_millis(250)),
        ..public_settings.clone()
    };
    let mut replicas = Vec::new();
    for url in &args.replica_urls {
        let pool = kreisgeo::db::connect_lazy_with(url, &replica_settings)?;
        replicas.push((kreisgeo::db::server_name(url), pool));
    }
    let reads =
        kreisgeo::db::replicas::ReadRouter::new(public.clone(), replicas, args.replica_wait);
    reads.spawn_probe().await;
    if reads.has_replicas() {
        tracing::info!(replicas = ?reads.status(), "data reads go to the replicas");
    }
    let mut state = AppState::new(public, config)
        .with_write_pool(db.pool.clone())
        .with_reads(reads);
    let listen = match &args.listen_url {
        Some(url) => kreisgeo::db::connect_lazy_with(
            url,
            &kreisgeo::db::PoolSettings {
                max_connections: 2,
                ..public_settings.clone()
            },
        )?,
        None => state.pool.clone(),
    };
    state = match state.clone().with_catalog_cache_on(&listen).await {
        Ok(cached) => cached,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for catalog changes; serving without the catalog cache");
            state
        }
    };
    state.watch.heartbeat(&state.pool);
    kreisgeo::downloads::build::spawn(state.write_pool.clone(), state.downloads.clone());
    // Deleted datasets leave the catalog after the retention time; hourly is precise enough.
    let (pool, days) = (
        state.write_pool.clone(),
        state.config.deleted_retention_days,
    );
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            match kreisgeo::catalog::repo::purge_tombstones(&pool, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(datasets = n, days, "deleted datasets left the catalog"),
                Err(e) => tracing::warn!(error = %e, "cannot purge deleted datasets"),
            }
        }
    });
    if let Some(max_zoom) = state.config.seed_max_zoom {
        kreisgeo::tiles::seed::spawn(
            state.write_pool.clone(),
            state.tiles.clone(),
            None,
            max_zoom,
        );
    }
    if let Some(limit) = state.rate_limit.clone() {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                limit.forget_idle();
            }
        });
    }
    let bind = args.bind;
    let in_flight = state.in_flight.clone();
    let listen = kreisgeo::api::server::Listen {
        bind: bind.clone(),
        workers: args.workers,
        header_timeout: args.header_timeout,
        keep_alive: args.keep_alive,
        shutdown_grace: args.shutdown_grace,
    };
    let server = match kreisgeo::api::server::bind(state, &listen) {
        Ok((server, _)) => server,
        Err(e) => {
            db.close().await?;
            bail!("cannot listen on {bind}: {e}");
        }
    };
    tracing::info!(%bind, "kreisgeo serving on http://{bind}/");
    let handle = server.handle();
    let grace = args.shutdown_grace;
    tokio::spawn(async move {
        shutdown_signal().await;
        drain(handle, in_flight, grace).await;
    });
    let result = server.await;
    db.close().await?;
    result.context("HTTP server failed")
}

/// A graceful stop: accept nothing new, let the responses in flight finish (bodies included)
/// for up to `grace`, then stop. actix-server's own signal handling can drop a streaming
/// response when its accept loop ends before the worker's stop (actix/actix-net#945), so the
/// draining happens here, before the server is asked to stop.
async fn drain(
    handle: actix_web::dev::ServerHandle,
    in_flight: kreisgeo::api::middleware::InFlight,
    grace: std::time::Duration,
) {
    in_flight.start_draining();
    handle.pause().await;
    let started = std::time::Instant::now();
    tracing::info!(
        responses = in_flight.count(),
        grace_seconds = grace.as_secs_f64(),
        "stopping: no new connections; finishing the responses in flight"
    );
    while in_flight.count() > 0 && started.elapsed() < grace {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    match in_flight.count() {
        0 => tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "every response finished; stopping"
        ),
        n => tracing::warn!(responses = n, "grace period over; cutting responses off"),
    }
    handle.stop(true).await;
}

async fn run_ingest(
    url: Option<&str>,
    data_dir: &Path,
    request: IngestRequest,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let db = Database::open(url, data_dir).await?;
    let progress = Arc::new(CliProgress::new());
    let outcome = tokio::select! {
        r = ingest::ingest(&db.pool, &request, progress.clone()) => Some(r),
        () = shutdown_signal() => None,
    };
    progress.finish();
    db.close().await?;
    match outcome {
        None => {
            eprintln!("interrupted: nothing was changed");
            Ok(ExitCode::from(130))
        }
        Some(Err(e)) => Err(e.into()),
        Some(Ok(report)) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.unchanged {
                eprintln!(
                    "{}: file unchanged, still serving version {}",
                    report.dataset, report.version
                );
            } else {
                eprintln!(
                    "{}: version {} serves {} features ({}, EPSG:{}) in {:.1} s ({:.0} features/s)",
                    report.dataset,
                    report.version,
                    report.features,
                    report.format,
                    report.source_crs.unwrap_or_default(),
                    report.seconds,
                    report.features as f64 / report.seconds.max(1e-9)
                );
                if report.repaired + report.rejected > 0 {
                    eprintln!(
                        "{} geometries repaired, {} features rejected:",
                        report.repaired, report.rejected
                    );
                    for p in &report.problems {
                        eprintln!("  feature {}: {} ({})", p.feature, p.reason, p.action);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the database, runs `f` on its pool, and closes it again (stopping an embedded server
/// this process started) whatever `f` returned.
async fn with_db<T, F, Fut>(url: Option<&str>, data_dir: &Path, f: F) -> anyhow::Result<T>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = kreisgeo::Result<T>>,
{
    let db = Database::open(url, data_dir).await?;
    let result = f(db.pool.clone()).await;
    db.close().await?;
    Ok(result?)
}

async fn datasets_command(
    url: Option<&str>,
    data_dir: &Path,
    action: DatasetsAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::catalog::repo;
    with_db(url, data_dir, |pool| async move {
        match action {
            DatasetsAction::List => {
                println!(
                    "{:<24} {:<8} {:>7} {:>8}  title",
                    "id", "kind", "active", "versions"
                );
                for d in repo::list_datasets(&pool).await? {
                    let active = d.active_version.map(|v| v.to_string()).unwrap_or_default();
                    println!(
                        "{:<24} {:<8} {:>7} {:>8}  {}",
                        d.id, d.kind, active, d.versions, d.title
                    );
                }
            }
            DatasetsAction::Versions { id } => {
                let versions = repo::list_versions(&pool, &id)
                    .await?
                    .ok_or_else(|| kreisgeo::Error::not_found("dataset", &id))?;
                println!(
                    "{:>8} {:<6} {:<20} {:>10}  source",
                    "version", "active", "loaded", "features"
                );
                for v in versions {
                    let active = if v.active { "*" } else { "" };
                    println!(
                        "{:>8} {:<6} {:<20} {:>10}  {} (sha256 {})",
                        v.id,
                        active,
                        v.created_at,
                        v.feature_count,
                        v.source_name,
                        &v.source_sha256[..12]
                    );
                }
            }
            DatasetsAction::Rollback { id, to } => {
                let (from, to) = repo::rollback(&pool, &id, to).await?;
                eprintln!("{id}: now serving version {to} (was {from})");
            }
            DatasetsAction::Delete { id } => {
                if !repo::delete_dataset(&pool, &id).await? {
                    return Err(kreisgeo::Error::not_found("dataset", &id));
                }
                eprintln!("{id}: deleted");
            }
            DatasetsAction::Metadata { id, file: None } => {
                let metadata: DatasetMetadata = repo::metadata(&pool, &id)
                    .await?
                    .ok_or_else(|| kreisgeo::Error::not_found("dataset", &id))?;
                println!("{}", pretty(&metadata));
            }
            DatasetsAction::Metadata {
                id,
                file: Some(file),
            } => {
                let metadata: DatasetMetadata = read_json(&file)?;
                metadata.validate()?;
                if !repo::set_metadata(&pool, &id, &metadata).await? {
                    return Err(kreisgeo::Error::not_found("dataset", &id));
                }
                eprintln!("{id}: metadata replaced");
            }
            DatasetsAction::Tiles {
                id,
                max_features,
                attributes_from_zoom,
                attributes,
            } => {
                if max_features == Some(0) {
                    return Err(kreisgeo::Error::invalid(
                        "max-features",
                        "must be at least 1",
                    ));
                }
                let settings = kreisgeo::catalog::TileSettings {
                    max_features,
                    attributes_from_zoom,
                    attributes,
                };
                if !repo::set_tile_settings(&pool, &id, &settings).await? {
                    return Err(kreisgeo::Error::not_found("dataset", &id));
                }
                eprintln!(
                    "{id}: tiles {}",
                    serde_json::to_string(&settings).unwrap_or_default()
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

async fn catalog_command(
    url: Option<&str>,
    data_dir: &Path,
    action: CatalogAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::catalog::repo;
    with_db(url, data_dir, |pool| async move {
        match action {
            CatalogAction::Publisher { file: None } => {
                let publisher: Publisher = repo::publisher(&pool).await?.ok_or_else(|| {
                    kreisgeo::Error::invalid(
                        "publisher",
                        "not entered yet: kreisgeo catalog publisher --file county.json",
                    )
                })?;
                println!("{}", pretty(&publisher));
            }
            CatalogAction::Publisher { file: Some(file) } => {
                let publisher: Publisher = read_json(&file)?;
                publisher.validate()?;
                repo::set_publisher(&pool, &publisher).await?;
                eprintln!("publisher: {}", publisher.name);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// A JSON document from a file; the error names the file and where in it.
fn read_json<T: serde::de::DeserializeOwned>(file: &Path) -> kreisgeo::Result<T> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        kreisgeo::Error::invalid("file", format!("cannot read {}: {e}", file.display()))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| kreisgeo::Error::invalid("file", format!("{}: {e}", file.display())))
}

/// "ingest, metadata on aed, parcels" or "… on every dataset".
fn describe_scope<'a>(
    datasets: Option<&[String]>,
    actions: impl Iterator<Item = &'a str>,
) -> String {
    let actions: Vec<&str> = actions.collect();
    match datasets {
        Some(ids) => format!("{} on {}", actions.join(","), ids.join(",")),
        None => format!("{} on every dataset", actions.join(",")),
    }
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

async fn keys_command(
    url: Option<&str>,
    data_dir: &Path,
    action: KeysAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::auth;
    with_db(url, data_dir, |pool| async move {
        match action {
            KeysAction::Create {
                name,
                datasets,
                actions,
            } => {
                let scope = auth::Scope {
                    datasets,
                    actions: actions.unwrap_or_else(|| auth::Action::ALL.to_vec()),
                };
                let key = auth::create_key(&pool, &name, &scope).await?;
                eprintln!(
                    "API key {} for {name:?} ({}); store it now, it is not shown again:",
                    key.id,
                    describe_scope(
                        scope.datasets.as_deref(),
                        scope.actions.iter().map(|a| a.as_str())
                    )
                );
                println!("{}", key.key);
            }
            KeysAction::List => {
                println!(
                    "{:>5} {:<14} {:<20} {:<8} {:<24} scope",
                    "id", "prefix", "created", "state", "name"
                );
                for k in auth::list_keys(&pool).await? {
                    let state = if k.revoked { "revoked" } else { "active" };
                    println!(
                        "{:>5} kg_{:<11} {:<20} {:<8} {:<24} {}",
                        k.id,
                        k.prefix,
                        k.created_at,
                        state,
                        k.name,
                        describe_scope(k.datasets.as_deref(), k.actions.iter().map(String::as_str))
                    );
                }
            }
            KeysAction::Revoke { id } => {
                auth::revoke_key(&pool, id).await?;
                eprintln!("API key {id} revoked");
            }
            KeysAction::Audit { dataset, limit } => {
                for e in kreisgeo::audit::list(&pool, dataset.as_deref(), limit).await? {
                    println!("{}", serde_json::to_string(&e).unwrap_or_default());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

async fn db_command(action: DbAction, data_dir: &Path) -> anyhow::Result<ExitCode> {
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

fn generate_file(
    kind: GenKind,
    count: usize,
    seed: u64,
    out: &Path,
    format: Option<OutputFormat>,
) -> anyhow::Result<()> {
    let format = match format {
        Some(f) => f,
        None => match out.extension().and_then(|e| e.to_str()) {
            Some("fgb") => OutputFormat::Fgb,
            Some("geojson" | "json") => OutputFormat::Geojson,
            _ => bail!("cannot tell the format of {}; give --format", out.display()),
        },
    };
    let features = generate::generate(kind, count, seed);
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    match format {
        OutputFormat::Geojson => generate::write_geojson(kind, &features, &mut writer)?,
        OutputFormat::Fgb => generate::write_fgb(kind, &features, &mut writer)?,
    }
    std::io::Write::flush(&mut writer)?;
    eprintln!("wrote {} features to {}", features.len(), out.display());
    Ok(())
}

fn parse_land(s: &str) -> Result<kreisgeo::hours::Land, String> {
    kreisgeo::hours::Land::parse(s)
        .ok_or_else(|| format!("'{s}' is not a German Land (SH, HH, NI, HB, NW, HE, RP, BW, BY, SL, BE, BB, MV, SN, ST, TH)"))
}

fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, c)) if !a.is_empty() && !c.is_empty() => Ok((a.to_string(), c.to_string())),
        _ => Err(format!("'{s}' is not ATTRIBUTE=COLUMN")),
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

/// A progress bar on a terminal, log lines otherwise.
struct CliProgress {
    bar: Option<ProgressBar>,
}

impl CliProgress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} {pos} features ({per_sec}, {elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn phase(&self, name: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(name.to_string()),
            None => tracing::info!(phase = name, "ingest"),
        }
    }

    fn features(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if done.is_multiple_of(100_000) => {
                tracing::info!(features = done, "ingest progress")
            }
            None => {}
        }
    }
}
