//! Database access: where the connection comes from (DATABASE_URL or the embedded instance),
//! migrations, and the pool.

pub mod archive;
pub mod backup;
pub mod embedded;
pub mod ident;
pub mod replicas;
pub mod spatial;

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::error::Result;
use embedded::EmbeddedPostgres;

/// Migrations over `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A connected database: the pool, and the embedded instance if kreisgeo manages one.
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `database_url` if given, otherwise to the embedded instance in `data_dir`
    /// (started if needed), and applies pending migrations.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self> {
        let (url, embedded) = if let Some(url) = database_url {
            (url.to_string(), None)
        } else {
            let pg = EmbeddedPostgres::ensure_running(data_dir).await?;
            (pg.url(embedded::DATABASE), Some(pg))
        };
        let pool = match connect_with(&url, &PoolSettings::default()).await {
            Ok(pool) => pool,
            Err(e) => {
                if let Some(pg) = embedded {
                    let _ = pg.stop().await;
                }
                return Err(e);
            }
        };
        if let Err(e) = MIGRATOR.run(&pool).await {
            pool.close().await;
            if let Some(pg) = embedded {
                let _ = pg.stop().await;
            }
            return Err(e.into());
        }
        Ok(Self {
            pool,
            url,
            embedded,
        })
    }

    /// The connection URL (with its password: for PostgreSQL's own tools, never for logs).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another pool on the same database, e.g. one with a statement timeout for public queries.
    pub async fn pool_with(&self, settings: &PoolSettings) -> Result<PgPool> {
        connect_with(&self.url, settings).await
    }

    /// Closes the pool and stops the embedded server if this process started it.
    pub async fn close(self) -> Result<()> {
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await?;
        }
        Ok(())
    }
}

/// How long a pooled connection may have been idle and still be handed out without asking the
/// server whether it is alive: shorter than any restart of PostgreSQL.
const TRUSTED_IDLE: Duration = Duration::from_millis(500);

/// How a pool behaves.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a query waits for a connection before it fails (503 over HTTP). With the
    /// database down this is how long a request takes to say so.
    pub acquire_timeout: Duration,
    /// PostgreSQL cancels statements running longer (public queries); `None`: no limit
    /// (ingest, downloads, admin).
    pub statement_timeout: Option<Duration>,
    /// Whether each query is planned for its values or one plan serves every run.
    pub plans: Plans,
    /// Run on each new connection before it serves anything (e.g. `tiles::mvt::prepare`),
    /// within the pool's acquire timeout. A pool with it keeps every connection open, so that
    /// each pays for it once and one closed at its lifetime is replaced in the background.
    pub prepare: Option<Prepare>,
}

/// What a new connection sets up for the rest of its session; it logs its own failures, and
/// the connection serves either way.
pub type Prepare = for<'c> fn(&'c mut sqlx::PgConnection) -> futures::future::BoxFuture<'c, ()>;

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: None,
            plans: Plans::PerQuery,
            prepare: None,
        }
    }
}

/// How a pool's connections plan a prepared statement (PostgreSQL's `plan_cache_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plans {
    /// Planned for each run's values: a request's box, folded into a constant, is weighed
    /// against the table's statistics, so a street-sized box takes the GiST index and a
    /// county-sized one the key order; one plan for both would guess the same for both.
    PerQuery,
    /// One plan per statement and connection, made at its first run. For queries whose best
    /// plan does not depend on the values: a tile's query differs from the next one's only in
    /// its numbers and always takes the GiST index and a sort, and planning it anew cost
    /// 0.3–0.4 ms, a third of a small tile's time.
    Reused,
}

impl Plans {
    fn setting(self) -> &'static str {
        match self {
            Self::PerQuery => "force_custom_plan",
            Self::Reused => "force_generic_plan",
        }
    }
}

/// Opens every connection of a pool made with a [`PoolSettings::prepare`] (a lazy one: opening
/// them one after another would hold up the start), all at once and in the background. Each
/// is free as soon as it is open: a request in that moment takes one like any other. Those
/// that cannot open now (a replica that is down) open when a request needs them.
pub fn open_all_in_background(pool: &PgPool) {
    let pool = pool.clone();
    tokio::spawn(async move {
        let wanted = pool.options().get_min_connections();
        // Polled together, every acquire finds no idle connection and opens its own.
        let opened =
            futures::future::join_all((0..wanted).map(|_| async { pool.acquire().await.is_ok() }))
                .await
                .into_iter()
                .filter(|opened| *opened)
                .count();
        if opened < wanted as usize {
            tracing::warn!(
                opened,
                wanted,
                "not every prepared connection opened at start-up; the rest open on demand"
            );
        } else {
            tracing::debug!(opened, "prepared connections opened");
        }
    });
}

/// A trivial query on `connection`: whether the server answers.
pub async fn ping(connection: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT 1")
        .execute(connection)
        .await
        .map(|_| ())
}

/// A pool with kreisgeo's default settings.
pub async fn connect(url: &str) -> Result<PgPool> {
    connect_with(url, &PoolSettings::default()).await
}

/// A pool with kreisgeo's session settings: bounded, with a connect timeout so an unreachable
/// server is reported instead of hanging.
pub async fn connect_with(url: &str, settings: &PoolSettings) -> Result<PgPool> {
    let (options, pool) = pool_options(url, settings)?;
    Ok(pool.connect_with(options).await?)
}

/// A pool as [`connect_with`] that connects on first use: a server that is down at start-up
/// (a replica) joins once it is up.
pub fn connect_lazy_with(url: &str, settings: &PoolSettings) -> Result<PgPool> {
    let (options, pool) = pool_options(url, settings)?;
    Ok(pool.connect_lazy_with(options))
}

/// A condition that keeps a query out of parallel plans, for the many short renders of vector
/// tiles: PostGIS prices its functions so high that the planner hands a dense tile's few
/// thousand `ST_AsMVTGeom` calls to a worker, and starting one takes longer (15 to 20 ms) than
/// the calls it would share (a z14 tile of 1,559 parcels: 26 to 38 ms so, 12 ms without). The
/// function is declared parallel unsafe, which the planner checks before anything else, and
/// immutable, so that it is folded away before the query runs: no setting, no extra round trip.
pub const SERIAL_PLAN: &str = "catalog.serial_plan()";

/// `host:port` of a connection URL, for logs (never the password).
pub fn server_name(url: &str) -> String {
    url.parse::<PgConnectOptions>().map_or_else(
        |_| "(unreadable URL)".into(),
        |o| format!("{}:{}", o.get_host(), o.get_port()),
    )
}

fn pool_options(url: &str, settings: &PoolSettings) -> Result<(PgConnectOptions, PgPoolOptions)> {
    let options: PgConnectOptions = url.parse()?;
    // JIT compilation costs more than it saves on kreisgeo's short, index-driven queries and on
    // the ingest scans, which are dominated by PostGIS functions.
    let mut options = options.application_name("kreisgeo").options([
        ("jit", "off"),
        ("plan_cache_mode", settings.plans.setting()),
    ]);
    if let Some(limit) = settings.statement_timeout {
        options = options.options([("statement_timeout", limit.as_millis().to_string())]);
    }
    // A connection that was in use moments ago is alive (sqlx asks the server when it comes
    // back to the pool): asking again before every query (sqlx's default, a round trip) cost a
    // cold tile a tenth of its time. One that sat idle longer is asked, so that a pool whose
    // server restarted hands out no dead connection; one killed within the moment fails its
    // query, which a read retries once (`replicas::ReadRouter::run`).
    let mut pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for < TRUSTED_IDLE {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(connection).await.is_ok())
            })
        });
    if let Some(prepare) = settings.prepare {
        pool = pool
            .min_connections(settings.max_connections)
            // Idle ones stay: closing them would only mean preparing their successors.
            .idle_timeout(None)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    prepare(connection).await;
                    Ok(())
                })
            });
    }
    Ok((options, pool))
}
