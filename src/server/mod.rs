//! The server as deployed, composed in the library: the database and its pools, the replicas,
//! the catalog cache, the background tasks, the HTTP listener and the graceful stop. `kreisgeo
//! serve` is [`run`] with the [`Settings`] it parsed; a test can run the same thing in process.

mod derived;
pub mod http;

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::api::state::{ApiConfig, AppState};
use crate::db::replicas::{Pools, ReadRouter};
use crate::db::{Database, Plans, PoolSettings};

pub use http::HttpSettings;

/// Everything `kreisgeo serve` takes: options and `KREISGEO_*` variables, by concern.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    #[command(flatten)]
    pub http: HttpSettings,
    #[command(flatten)]
    pub db: DbSettings,
    #[command(flatten)]
    pub api: ApiConfig,
}

/// The public API's database connections, the replicas its data reads may go to, and the
/// scheduled backups.
#[derive(Debug, Clone, clap::Args)]
pub struct DbSettings {
    /// PostgreSQL cancels a public query running longer (e.g. 30s, 2m).
    #[arg(long, env = "KREISGEO_STATEMENT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub statement_timeout: Duration,
    /// How long a request waits for a database connection before it answers 503; also how
    /// long the first requests of a database outage take to say so.
    #[arg(long, env = "KREISGEO_DB_ACQUIRE_TIMEOUT", default_value = "750ms", value_parser = humantime::parse_duration)]
    pub db_acquire_timeout: Duration,
    /// Database connections of the public API.
    #[arg(long, env = "KREISGEO_DB_CONNECTIONS", default_value_t = 16)]
    pub db_connections: u32,
    /// A streaming replica of DATABASE_URL's server for public data reads (repeat, or
    /// comma-separated in the variable); the catalog and every write stay on the primary.
    #[arg(
        long = "replica-url",
        env = "KREISGEO_REPLICA_URLS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub replica_urls: Vec<String>,
    /// A direct connection to the primary for LISTEN (the catalog cache's announcements),
    /// when DATABASE_URL goes through PgBouncer in transaction mode [default: DATABASE_URL].
    #[arg(long, env = "KREISGEO_LISTEN_URL", hide_env_values = true)]
    pub listen_url: Option<String>,
    /// How long a read waits for a replica to replay the version it needs before the primary
    /// answers it.
    #[arg(long, env = "KREISGEO_REPLICA_WAIT", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub replica_wait: Duration,
    // Scheduled backups of the database while serving.
    /// Take backups into this directory (`kreisgeo-<UTC time>.pgdump` with its manifest), read
    /// each back and only then remove the oldest beyond --backup-keep. Off without it.
    #[arg(long, env = "KREISGEO_BACKUP_DIR")]
    pub backup_dir: Option<std::path::PathBuf>,
    /// How often (e.g. 24h, 6h); the first is due that long after the newest in the directory.
    #[arg(long, env = "KREISGEO_BACKUP_EVERY", default_value = "24h", value_parser = humantime::parse_duration)]
    pub backup_every: Duration,
    /// How many verified backups to keep.
    #[arg(long, env = "KREISGEO_BACKUP_KEEP", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub backup_keep: u32,
}

/// Tile-pool connections beyond `--max-concurrent-renders` (see `state`).
const TILE_POOL_SPARE: u32 = 4;

impl DbSettings {
    fn public_pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_connections.max(1),
            acquire_timeout: self.db_acquire_timeout,
            statement_timeout: Some(self.statement_timeout),
            plans: Plans::PerQuery,
            prepare: None,
        }
    }
}

/// Serves the database at `url` (the embedded PostgreSQL in `data_dir` without one) until
/// SIGINT or SIGTERM, then drains.
pub async fn run(url: Option<&str>, data_dir: &Path, settings: Settings) -> anyhow::Result<()> {
    let Settings {
        http,
        db: db_settings,
        mut api,
    } = settings;
    anyhow::ensure!(
        db_settings.backup_every >= Duration::from_secs(1),
        "--backup-every must be at least 1s"
    );
    // A request waits no longer than one of its client's own may take.
    api.client_wait = db_settings.statement_timeout;
    if let Some(style) = &api.basemap_style {
        crate::basemap::external_origin(style)
            .map_err(|e| anyhow::anyhow!("--basemap-style: {e}"))?;
    }
    anyhow::ensure!(
        (0.5..=30.0).contains(&api.walk_speed_kmh)
            && (0.0..=5_000.0).contains(&api.walk_snap_m)
            && (0.0..=20_000.0).contains(&api.walk_reach_m),
        "--walk-speed-kmh must be 0.5 to 30, --walk-snap-m 0 to 5000, --walk-reach-m 0 to 20000"
    );
    if let Some(url) = &api.public_url {
        crate::api::client::public_url(url).map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
    } else {
        tracing::warn!(
            trust_forwarded = api.trust_forwarded,
            "no --public-url: links and catalog IRIs are built from each request's Host header \
             (and from X-Forwarded-Host/-Proto only with --trust-forwarded); set --public-url \
             behind a proxy"
        );
    }
    let db = Database::open(url, data_dir).await?;
    // Walking routes where pgRouting is there (the embedded PostgreSQL has it); without it
    // only `mode=walk` answers that it is missing.
    if crate::routing::store::enable(&db.pool).await {
        tracing::info!("pgRouting is available: walking routes are on");
    }
    let (state, pools) = match state(&db, &db_settings, api).await {
        Ok(state) => state,
        Err(e) => {
            db.close().await?;
            return Err(e);
        }
    };
    spawn_background_tasks(&state);
    if let Some(dir) = db_settings.backup_dir.clone() {
        let (every, keep) = (db_settings.backup_every, db_settings.backup_keep);
        tracing::info!(dir = %dir.display(), every = %humantime::format_duration(every), keep, "scheduled backups on");
        crate::db::backup::schedule::spawn(
            db.url().to_string(),
            crate::db::backup::schedule::Schedule {
                dir,
                every,
                keep: keep as usize,
            },
        );
    }
    let in_flight = state.in_flight.clone();
    let server = match http::bind(state, &http) {
        Ok((server, _)) => server,
        Err(e) => {
            db.close().await?;
            bail!("cannot listen on {}: {e}", http.bind);
        }
    };
    tracing::info!(bind = %http.bind, "kreisgeo serving on http://{}/", http.bind);
    let handle = server.handle();
    let grace = http.shutdown_grace;
    tokio::spawn(async move {
        shutdown_signal().await;
        drain(handle, in_flight, grace).await;
    });
    let result = server.await;
    // Every connection of this process closed before its embedded PostgreSQL is asked to stop
    // (it waits for clients): the pools, and with them the heartbeat's and the catalog
    // listener's own connections, which end when their pool closes.
    for pool in pools {
        pool.close().await;
    }
    db.close().await?;
    result.context("HTTP server failed")
}

/// The handlers' state over `db`: the public pool, the replicas, the catalog cache; and the
/// pools it opened, to close when serving ends.
async fn state(
    db: &Database,
    settings: &DbSettings,
    api: ApiConfig,
) -> anyhow::Result<(AppState, Vec<sqlx::PgPool>)> {
    let interrupted = crate::jobs::fail_interrupted(&db.pool).await?;
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "ingest jobs of a previous run were interrupted; marked failed"
        );
    }
    let public_settings = settings.public_pool();
    let public = db.pool_with(&public_settings).await?;
    // Tiles in a pool of their own, with one plan per statement (see `Plans::Reused`): a
    // connection per render that runs at once, and a few spare, because a render's
    // connection comes back a little after its slot (sqlx pings it on return, and one whose
    // render was dropped first waits for its query to end).
    let tile_settings = |pool: &PoolSettings| PoolSettings {
        max_connections: u32::try_from(api.max_concurrent_renders.max(1))
            .unwrap_or(u32::MAX)
            .saturating_add(TILE_POOL_SPARE),
        plans: Plans::Reused,
        prepare: Some(crate::tiles::mvt::prepare),
        ..pool.clone()
    };
    let public_tiles = crate::db::connect_lazy_with(db.url(), &tile_settings(&public_settings))?;
    crate::db::open_all_in_background(&public_tiles);
    // A replica that went away fails its reads within this, and the primary takes them.
    let replica_settings = PoolSettings {
        acquire_timeout: settings.db_acquire_timeout.min(Duration::from_millis(250)),
        ..public_settings.clone()
    };
    let mut replicas = Vec::new();
    let mut pools = vec![public.clone(), public_tiles.clone()];
    for url in &settings.replica_urls {
        let replica = Pools {
            data: crate::db::connect_lazy_with(url, &replica_settings)?,
            tiles: crate::db::connect_lazy_with(url, &tile_settings(&replica_settings))?,
        };
        crate::db::open_all_in_background(&replica.tiles);
        pools.extend([replica.data.clone(), replica.tiles.clone()]);
        replicas.push((crate::db::server_name(url), replica));
    }
    let primary = Pools {
        data: public.clone(),
        tiles: public_tiles,
    };
    let reads = ReadRouter::new(primary, replicas, settings.replica_wait);
    reads.spawn_probe().await;
    if reads.has_replicas() {
        tracing::info!(replicas = ?reads.status(), "data reads go to the replicas");
    }
    let state = AppState::new(public, api)
        .with_write_pool(db.pool.clone())
        .with_reads(reads);
    let listen = match &settings.listen_url {
        Some(url) => crate::db::connect_lazy_with(
            url,
            &PoolSettings {
                max_connections: 2,
                ..public_settings
            },
        )?,
        None => state.pool.clone(),
    };
    pools.push(listen.clone());
    let state = match state.clone().with_catalog_cache_on(&listen).await {
        Ok(cached) => cached,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for catalog changes; serving without the catalog cache");
            state
        }
    };
    Ok((state, pools))
}

/// The database watch, the builder of tile tables and downloads, the catalog's purge of deleted datasets, the
/// tile seeding and the rate limiter's forgetting.
fn spawn_background_tasks(state: &AppState) {
    state.watch.heartbeat(&state.pool);
    derived::spawn(
        state.write_pool.clone(),
        state.downloads.clone(),
        !state.config.no_tile_tables,
    );
    // Deleted datasets leave the catalog after the retention time; hourly is precise enough.
    let (pool, days) = (
        state.write_pool.clone(),
        state.config.deleted_retention_days,
    );
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            match crate::catalog::repo::purge_tombstones(&pool, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(datasets = n, days, "deleted datasets left the catalog"),
                Err(e) => tracing::warn!(error = %e, "cannot purge deleted datasets"),
            }
        }
    });
    if let Some(max_zoom) = state.config.seed_max_zoom {
        crate::tiles::seed::spawn(
            state.write_pool.clone(),
            state.tiles.clone(),
            None,
            max_zoom,
        );
    }
    harvest_on_schedule(state);
    if let Some(limit) = state.rate_limit.clone() {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                limit.forget_idle();
            }
        });
    }
}

/// Runs the sources whose interval has passed; of several nodes, one runs each (an advisory
/// lock per source).
fn harvest_on_schedule(state: &AppState) {
    let policy = crate::harvest::net::Policy::allowing(state.config.harvest_allow_hosts.clone());
    let client = match crate::harvest::fetch::Client::new(crate::harvest::fetch::Settings {
        policy,
        ..Default::default()
    }) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client: sources are not harvested");
            return;
        }
    };
    crate::harvest::poll(state.write_pool.clone(), client, Duration::from_secs(5));
}

/// A graceful stop: accept nothing new, let the responses in flight finish (bodies included)
/// for up to `grace`, then stop. actix-server's own signal handling can drop a streaming
/// response when its accept loop ends before the worker's stop (actix/actix-net#945), so the
/// draining happens here, before the server is asked to stop.
async fn drain(
    handle: actix_web::dev::ServerHandle,
    in_flight: crate::api::middleware::InFlight,
    grace: Duration,
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
        tokio::time::sleep(Duration::from_millis(50)).await;
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

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
