//! Reads on streaming replicas: which replica may answer a request, and when the primary must.
//!
//! The catalog is always read on the primary (the catalog cache's misses and listings): a
//! version switch is seen there at once, and its announcement (LISTEN/NOTIFY, which standbys do
//! not relay) comes from there. Every such read also notes the primary's WAL position; data
//! reads of what it returned then go to a replica that has replayed at least that far
//! ([`ReadRouter::reader`]), so a replica never answers for a version it does not have yet.
//! A replica that is behind gets up to `wait` to catch up; one that fails is taken out and
//! probed again every [`PROBE_EVERY`]; without a fitting replica the primary answers.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::error::{Error, Result};

/// A WAL position (`pg_lsn`) as a number: higher is later.
pub type Lsn = u64;

/// How often each replica's replay position (and health) is read.
pub const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Reads `pg_lsn` text (`16/B374D848`).
pub fn parse_lsn(text: &str) -> Option<Lsn> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// The primary's current WAL position: everything committed before is at or below it.
pub async fn primary_lsn(pool: &PgPool) -> Result<Lsn> {
    let text: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(pool)
        .await?;
    parse_lsn(&text).ok_or_else(|| Error::Internal(format!("unreadable LSN '{text}'")))
}

/// How far a standby has replayed; `None` when the server is not a standby.
async fn replayed_lsn(pool: &PgPool) -> Result<Option<Lsn>> {
    let text: Option<String> = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn()::text")
        .fetch_one(pool)
        .await?;
    Ok(text.as_deref().and_then(parse_lsn))
}

#[derive(Debug)]
struct Replica {
    /// host:port, for logs and metrics.
    name: String,
    pools: Pools,
    replayed: AtomicU64,
    up: AtomicBool,
    /// Reads it answered.
    reads: AtomicU64,
}

/// A replica as `/ready` shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicaStatus {
    /// host:port
    pub name: String,
    /// Whether it takes reads (it answered its last probe as a standby).
    pub serving: bool,
    /// How far it has replayed the primary's WAL (`pg_lsn` text).
    pub replayed: String,
    /// Reads it answered since start-up.
    pub reads: u64,
}

/// One server's pools: one for each way its reads are planned (see [`crate::db::Plans`]).
#[derive(Debug, Clone)]
pub struct Pools {
    /// Data reads: pages, searches, single features.
    pub data: PgPool,
    /// Tile renders.
    pub tiles: PgPool,
}

impl Pools {
    /// Every read in `pool`.
    pub fn shared(pool: PgPool) -> Self {
        Self {
            data: pool.clone(),
            tiles: pool,
        }
    }

    fn of(&self, lane: Lane) -> &PgPool {
        match lane {
            Lane::Data => &self.data,
            Lane::Tiles => &self.tiles,
        }
    }
}

/// Which of a server's pools a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Data,
    Tiles,
}

/// Where public reads go.
#[derive(Debug)]
pub struct ReadRouter {
    primary: Pools,
    replicas: Vec<Replica>,
    next: AtomicUsize,
    /// Reads the primary answered (no replica fitted, or a replica failed).
    primary_reads: AtomicU64,
    /// How long a read waits for a lagging replica before the primary takes it.
    wait: Duration,
    /// Woken after every probe round.
    probed: Notify,
}

/// One read pool's connections, for the metrics.
#[derive(Debug, Clone)]
pub struct PoolUse {
    /// `primary`, or the replica's host:port.
    pub server: String,
    /// `data` or `tiles`.
    pub lane: &'static str,
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// Which server answered a read, for the caller's retry and for tests.
#[derive(Debug, Clone)]
pub struct Reader {
    pub pool: PgPool,
    /// The replica's index, `None` for the primary.
    replica: Option<usize>,
}

impl ReadRouter {
    /// The connections of every read pool: each server's data and tile lanes.
    pub fn pool_use(&self) -> Vec<PoolUse> {
        let mut out = Vec::with_capacity(2 * (1 + self.replicas.len()));
        let servers = std::iter::once(("primary", &self.primary))
            .chain(self.replicas.iter().map(|r| (r.name.as_str(), &r.pools)));
        for (server, pools) in servers {
            for (lane, pool) in [("data", &pools.data), ("tiles", &pools.tiles)] {
                out.push(PoolUse {
                    server: server.to_string(),
                    lane,
                    size: pool.size(),
                    idle: pool.num_idle(),
                    max: pool.options().get_max_connections(),
                });
            }
        }
        out
    }

    /// Every read on the primary (no replicas configured).
    pub fn primary_only(primary: Pools) -> Arc<Self> {
        Self::new(primary, Vec::new(), Duration::ZERO)
    }

    /// Reads over `replicas` (name, pools), falling back to `primary`. Call
    /// [`ReadRouter::spawn_probe`] to follow their replay positions.
    pub fn new(primary: Pools, replicas: Vec<(String, Pools)>, wait: Duration) -> Arc<Self> {
        Arc::new(Self {
            primary,
            replicas: replicas
                .into_iter()
                .map(|(name, pools)| Replica {
                    name,
                    pools,
                    replayed: AtomicU64::new(0),
                    up: AtomicBool::new(false),
                    reads: AtomicU64::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            primary_reads: AtomicU64::new(0),
            wait,
            probed: Notify::new(),
        })
    }

    pub fn has_replicas(&self) -> bool {
        !self.replicas.is_empty()
    }

    /// Probes every replica every [`PROBE_EVERY`] until the router is dropped; the first round
    /// runs before this returns, so that reads start on the replicas.
    pub async fn spawn_probe(self: &Arc<Self>) {
        if self.replicas.is_empty() {
            return;
        }
        self.probe_all().await;
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROBE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(router) = weak.upgrade() else { return };
                router.probe_all().await;
            }
        });
    }

    async fn probe_all(&self) {
        let rounds = self.replicas.iter().map(|r| async move {
            let probe =
                tokio::time::timeout(Duration::from_secs(1), replayed_lsn(&r.pools.data)).await;
            match probe {
                Ok(Ok(Some(lsn))) => {
                    // Stored as read, not the maximum: a replica rebuilt from a new base
                    // backup starts over, and must not be credited with its predecessor's.
                    r.replayed.store(lsn, Ordering::Release);
                    if !r.up.swap(true, Ordering::AcqRel) {
                        tracing::info!(replica = %r.name, "replica serving reads");
                    }
                }
                Ok(Ok(None)) => {
                    // Promoted (or never a standby): its data may have left the primary's
                    // timeline, so it no longer answers reads meant for the primary's catalog.
                    if r.up.swap(false, Ordering::AcqRel) {
                        tracing::warn!(replica = %r.name, "no longer a standby; taken out");
                    }
                }
                Ok(Err(e)) => self.take_out(r, &e.to_string()),
                Err(_) => self.take_out(r, "no answer within a second"),
            }
        });
        futures::future::join_all(rounds).await;
        self.probed.notify_waiters();
    }

    fn take_out(&self, replica: &Replica, why: &str) {
        if replica.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(replica = %replica.name, why, "replica taken out of reads");
        }
    }

    /// A server that has replayed at least `at_least`: a replica in turn, one that catches up
    /// within the wait, or the primary; its pool for `lane`.
    pub async fn reader(&self, lane: Lane, at_least: Lsn) -> Reader {
        if self.replicas.is_empty() {
            return self.primary(lane);
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let probed = self.probed.notified();
            if let Some(reader) = self.replica_at(lane, at_least) {
                return reader;
            }
            let lagging = self.replicas.iter().any(|r| r.up.load(Ordering::Acquire));
            if !lagging || tokio::time::timeout_at(deadline, probed).await.is_err() {
                return self.primary(lane);
            }
        }
    }

    fn replica_at(&self, lane: Lane, at_least: Lsn) -> Option<Reader> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| (start + i) % n).find_map(|i| {
            let r = &self.replicas[i];
            (r.up.load(Ordering::Acquire) && r.replayed.load(Ordering::Acquire) >= at_least).then(
                || Reader {
                    pool: r.pools.of(lane).clone(),
                    replica: Some(i),
                },
            )
        })
    }

    fn primary(&self, lane: Lane) -> Reader {
        Reader {
            pool: self.primary.of(lane).clone(),
            replica: None,
        }
    }

    /// Runs `read` on a server that has replayed `at_least`; when a replica fails it (its
    /// server went away, a recovery conflict cancelled the query, a table is missing), the
    /// primary runs it again (a replica that went away is taken out). Reads are side-effect free, so running twice is safe.
    pub async fn run<T, F, Fut>(&self, lane: Lane, at_least: Lsn, read: F) -> Result<T>
    where
        F: Fn(PgPool) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let reader = self.reader(lane, at_least).await;
        let Some(index) = reader.replica else {
            self.primary_reads.fetch_add(1, Ordering::Relaxed);
            return match read(reader.pool.clone()).await {
                // A pooled connection the server closed since its last use (the pool asks only
                // after a pause, `db::pool_options`): the pool has dropped it, ask once more.
                // A server that is down fails this again, at once.
                Err(e) if e.is_connection_lost() => read(reader.pool).await,
                other => other,
            };
        };
        self.replicas[index].reads.fetch_add(1, Ordering::Relaxed);
        match read(reader.pool).await {
            // A replica whose pool gives no connection in time (a stopped server shows so:
            // the pool keeps trying to connect) is taken out until its probe answers again.
            Err(e)
                if e.is_database_down()
                    || e.is_busy()
                    || is_recovery_conflict(&e)
                    || is_missing_table(&e) =>
            {
                let replica = &self.replicas[index];
                // A busy tile pool says nothing about the replica: its renders are bounded
                // apart from the data reads.
                if e.is_database_down() || (e.is_busy() && lane == Lane::Data) {
                    self.take_out(replica, &e.to_string());
                }
                tracing::info!(replica = %replica.name, error = %e, "read retried on the primary");
                self.primary_reads.fetch_add(1, Ordering::Relaxed);
                read(self.primary.of(lane).clone()).await
            }
            other => other,
        }
    }

    /// The replicas' state (for `/ready`, logs and tests).
    pub fn status(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|r| {
                let lsn = r.replayed.load(Ordering::Acquire);
                ReplicaStatus {
                    name: r.name.clone(),
                    serving: r.up.load(Ordering::Acquire),
                    replayed: format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
                    reads: r.reads.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Reads the primary answered since start-up.
    pub fn primary_reads(&self) -> u64 {
        self.primary_reads.load(Ordering::Relaxed)
    }
}

/// A standby cancelled the query because replaying the primary's changes needed what it read
/// (e.g. an old version's table dropped).
fn is_recovery_conflict(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(d))
        if d.code().as_deref() == Some("40001") && d.message().contains("recovery"))
}

/// A table the replica does not have (yet): the position routing keeps this from happening;
/// should it anyway, the primary answers rather than the client getting a 500.
fn is_missing_table(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42P01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_orders_like_the_wal() {
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert!(parse_lsn("1/FFFFFFFF") < parse_lsn("2/0"));
        assert_eq!(parse_lsn("nonsense"), None);
    }
}
