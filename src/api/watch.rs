//! Watching the database through an outage: after a request failed because PostgreSQL was
//! unreachable, requests that need it are refused at once (503, Retry-After) instead of each
//! waiting for a connection, and a probe finds out when it is back; nothing needs a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

/// How often the probe asks while the database is down.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Default)]
pub struct DatabaseWatch {
    down: AtomicBool,
    probing: AtomicBool,
    verifying: AtomicBool,
}

impl DatabaseWatch {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether the database was found down and has not answered since.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// A request failed because the database was down: refuse until a probe gets an answer.
    pub fn tripped(self: &Arc<Self>, pool: &PgPool, why: &'static str) {
        self.down.store(true, Ordering::Relaxed);
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(
            why,
            "the database is unreachable; answering 503 until it is back"
        );
        let (watch, options) = (self.clone(), pool.connect_options());
        tokio::spawn(async move {
            let since = Instant::now();
            loop {
                tokio::time::sleep(PROBE_INTERVAL).await;
                // On a connection of its own: the pool may be exhausted by the very requests
                // waiting for the answer.
                if ping_direct(&options).await {
                    break;
                }
            }
            watch.down.store(false, Ordering::Relaxed);
            watch.probing.store(false, Ordering::Release);
            tracing::info!(
                seconds = since.elapsed().as_secs_f64(),
                "the database answers again; serving"
            );
        });
    }
}

impl DatabaseWatch {
    /// A request found no free connection: find out, on a connection of its own, whether the
    /// database is down (then trip) or only busy (then nothing: that request got its 503).
    pub fn verify(self: &Arc<Self>, pool: &PgPool) {
        if self.is_down() || self.verifying.swap(true, Ordering::AcqRel) {
            return;
        }
        let (watch, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move {
            let up = ping_direct(&pool.connect_options()).await;
            watch.verifying.store(false, Ordering::Release);
            if !up {
                watch.tripped(
                    &pool,
                    "no free connection, and a new one got no answer within 1 s",
                );
            }
        });
    }
}

/// Whether the database answers a trivial query within a second over a new connection.
pub async fn ping_direct(options: &sqlx::postgres::PgConnectOptions) -> bool {
    use sqlx::Connection;
    let answered = tokio::time::timeout(Duration::from_secs(1), async {
        let mut connection = sqlx::PgConnection::connect_with(options).await?;
        crate::db::ping(&mut connection).await?;
        connection.close().await
    })
    .await;
    match answered {
        Ok(Ok(())) => true,
        // "Too many connections": the server answers; it is full, not down.
        Ok(Err(sqlx::Error::Database(e))) => e.code().as_deref() == Some("53300"),
        _ => false,
    }
}

/// How often the heartbeat asks while the database is up.
const HEARTBEAT: Duration = Duration::from_millis(250);
/// How long a beat may take before the database counts as hung. A refused or broken connection
/// (PostgreSQL down or restarting) trips at once; a slow answer is what a busy machine gives
/// (at 14,000 cached answers a second on 2 cores, the heartbeat's own task waits its turn for
/// half a second), so a slow beat alone must not make every request a 503. A database that
/// hangs is also found by the requests that wait for a connection in vain (`verify`).
const HEARTBEAT_PATIENCE: Duration = Duration::from_secs(5);

impl DatabaseWatch {
    /// Asks the database every [`HEARTBEAT`] over a connection of its own, so that an outage
    /// is known within a fraction of a second even when no request has met it yet — and a
    /// busy pool never looks like an outage.
    pub fn heartbeat(self: &Arc<Self>, pool: &PgPool) {
        let (watch, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move {
            let options = pool.connect_options();
            let mut connection: Option<sqlx::PgConnection> = None;
            // Ends with the pool, its connection with it: a server stopping waits for clients.
            let mut closed = std::pin::pin!(pool.close_event());
            loop {
                tokio::select! {
                    biased;
                    () = &mut closed => return,
                    () = tokio::time::sleep(HEARTBEAT) => {}
                }
                if watch.is_down() {
                    // The probe finds out when it is back.
                    connection = None;
                    continue;
                }
                let beat = tokio::time::timeout(HEARTBEAT_PATIENCE, async {
                    if connection.is_none() {
                        use sqlx::Connection;
                        connection = Some(sqlx::PgConnection::connect_with(&options).await?);
                    }
                    match connection.as_mut() {
                        Some(c) => crate::db::ping(c).await,
                        None => Ok(()),
                    }
                })
                .await;
                if !matches!(beat, Ok(Ok(()))) {
                    connection = None;
                    watch.tripped(&pool, "the heartbeat got no answer in time");
                }
            }
        });
    }
}

/// Whether the database answers a trivial query within a second: on an idle connection of
/// the pool if there is one, else on a new connection of its own, so that a pool that busy
/// requests took is not mistaken for an outage.
pub async fn ping(pool: &PgPool) -> bool {
    let Some(mut connection) = pool.try_acquire() else {
        return ping_direct(&pool.connect_options()).await;
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), crate::db::ping(&mut connection)).await,
        Ok(Ok(()))
    )
}
