//! The served collections, cached in memory: the hot paths (tiles, items, nearest) then answer
//! without asking the catalog. PostgreSQL announces every change of a dataset's row at commit
//! (`catalog.notify_change`, migration 0009); a listener drops the dataset's entry on that, and
//! everything when its connection was lost (notifications may have been missed). Entries also
//! expire after [`TTL`] as a last resort. With streaming replicas, each entry also keeps the
//! primary's WAL position after it was read: a replica answers for it only once it has
//! replayed that far (`db::replicas`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use super::{repo, Collection};
use crate::db::replicas::{primary_lsn, Lsn};
use crate::error::Result;

/// The channel `catalog.notify_change` announces on.
pub const CHANNEL: &str = "kreisgeo_catalog";

/// The announcement of a change that concerns every dataset (a publisher's profile).
pub const EVERYTHING: &str = "*";

/// A cached catalog document: a CKAN package dict, or a serialised description.
#[derive(Debug, Clone)]
pub enum Document {
    Json(Arc<serde_json::Value>),
    Bytes(bytes::Bytes),
    /// Anything else derived from the catalog (the publishers, under [`EVERYTHING`]).
    Shared(Arc<dyn std::any::Any + Send + Sync>),
}

/// A page of the collections list as served: the document, its ETag state and its newest
/// change (RFC 3339).
#[derive(Debug)]
pub struct Listing {
    pub document: serde_json::Value,
    pub state_tag: String,
    pub newest: Option<String>,
}

/// The longest an entry lives without an announcement. Announcements are not lost while the
/// listener is connected, and a lost connection drops everything, so this is only a last
/// resort; short, it would make every hot key miss at once under load (each miss a catalog
/// query from a busy worker).
pub const TTL: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct CatalogCache {
    /// Shared, not cloned per request: a collection's columns and names are many small
    /// allocations, and the tile path reads it tens of thousands of times a second.
    entries: moka::future::Cache<String, (Arc<Collection>, Lsn)>,
    /// Every served collection (listings, multi-layer tiles), dropped by any announcement.
    all: moka::future::Cache<(), (Arc<Vec<Collection>>, Lsn)>,
    /// A dataset's catalog documents (its CKAN package, its DCAT-AP.de description in each
    /// serialisation), by dataset and kind, with the base URL they were made for: dropped with
    /// the dataset's announcement (which a new download and a publisher's change also make).
    documents: moka::future::Cache<(String, &'static str), Arc<(String, Document)>>,
    /// Pages of the collections list (by base URL and query string): the document, its ETag
    /// and its newest change; dropped by any announcement.
    listings: moka::future::Cache<(String, String), Arc<Listing>>,
    /// Whether entries note the primary's WAL position (only replicas need it).
    track_lsn: bool,
    /// Bumped by every invalidation: a lookup that raced with one does not store its answer.
    generation: AtomicU64,
    hits: AtomicU64,
    /// Tells this cache's entries in the threads' memos ([`CatalogCache::cached`]) from those
    /// of another one in the same process (tests run many).
    instance: u64,
}

/// How long a thread may answer from its memo of a collection without asking the cache again.
const MEMO_TTL: Duration = Duration::from_secs(1);

/// A thread's memo of the collections it found in a cache ([`CatalogCache::cached`]): cache,
/// generation, when, id, entry.
type Memo = Vec<(u64, u64, std::time::Instant, String, (Arc<Collection>, Lsn))>;

/// Entries a thread remembers: a map in use asks for a handful of collections.
const MEMO_ENTRIES: usize = 16;

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = const { std::cell::RefCell::new(Vec::new()) };
}

impl CatalogCache {
    /// A cache whose invalidations come from a listener on [`CHANNEL`], connected before this
    /// returns (so that nothing is cached that an announcement could not reach). `on_lost`
    /// runs when the listener's connection breaks: usually the first sign of a database
    /// outage, before any request has met it.
    pub async fn listening(
        pool: &PgPool,
        track_lsn: bool,
        on_lost: impl Fn() + Send + 'static,
    ) -> Result<Arc<Self>> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        let cache = Arc::new(Self {
            entries: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TTL)
                .build(),
            all: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(TTL)
                .build(),
            documents: moka::future::Cache::builder()
                .max_capacity(50_000)
                .time_to_live(TTL)
                .support_invalidation_closures()
                .build(),
            listings: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(TTL)
                .build(),
            track_lsn,
            generation: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            instance: {
                static INSTANCES: AtomicU64 = AtomicU64::new(0);
                INSTANCES.fetch_add(1, Ordering::Relaxed)
            },
        });
        let weak = Arc::downgrade(&cache);
        let pool = pool.clone();
        tokio::spawn(async move {
            // Ends with the pool, its connection with it: a server stopping waits for clients.
            let mut closed = std::pin::pin!(pool.close_event());
            loop {
                // Closing the pool also fails the listener: that is no lost connection.
                let received = tokio::select! {
                    biased;
                    () = &mut closed => return,
                    received = listener.try_recv() => received,
                };
                if pool.is_closed() {
                    return;
                }
                let Some(cache) = weak.upgrade() else { return };
                if let Ok(Some(n)) = received {
                    cache.invalidate(n.payload()).await;
                } else {
                    // The connection is lost: what is announced until it is back would be
                    // missed. The entries stay meanwhile (while the database is down nothing
                    // can change, and cached tiles can still be served); once a new
                    // connection listens, everything goes, as anything may have changed.
                    tracing::warn!("catalog listener lost its connection; reconnecting");
                    on_lost();
                    drop(cache);
                    listener = loop {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        if weak.strong_count() == 0 || pool.is_closed() {
                            return;
                        }
                        if let Ok(mut fresh) = PgListener::connect_with(&pool).await {
                            if fresh.listen(CHANNEL).await.is_ok() {
                                break fresh;
                            }
                        }
                    };
                    let Some(cache) = weak.upgrade() else { return };
                    cache.invalidate_all();
                    tracing::info!("catalog listener reconnected; cache dropped");
                }
            }
        });
        Ok(cache)
    }

    /// The dataset's active collection if it is in memory, without asking the catalog. Tile
    /// hits ask tens of thousands of times a second for the same few collections: each thread
    /// remembers what it found for up to [`MEMO_TTL`], until the next announcement.
    pub async fn cached(&self, id: &str) -> Option<(Arc<Collection>, Lsn)> {
        let generation = self.generation();
        let now = std::time::Instant::now();
        let remembered = MEMO.with_borrow(|memo| {
            memo.iter()
                .find(|(instance, g, at, key, _)| {
                    *instance == self.instance
                        && *g == generation
                        && now.duration_since(*at) < MEMO_TTL
                        && key == id
                })
                .map(|(.., entry)| entry.clone())
        });
        let entry = if let Some(entry) = remembered {
            entry
        } else {
            let entry = self.entries.get(id).await?;
            MEMO.with_borrow_mut(|memo| {
                memo.retain(|(instance, g, at, key, _)| {
                    *instance != self.instance
                        || (*g == generation && now.duration_since(*at) < MEMO_TTL && key != id)
                });
                if memo.len() == MEMO_ENTRIES {
                    memo.remove(0);
                }
                memo.push((
                    self.instance,
                    generation,
                    now,
                    id.to_string(),
                    entry.clone(),
                ));
            });
            entry
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    /// The dataset's active collection, from the cache or the catalog on the primary
    /// (`pool`), and the WAL position a replica must have replayed to serve it (0 when not
    /// tracked).
    pub async fn collection(&self, pool: &PgPool, id: &str) -> Result<(Arc<Collection>, Lsn)> {
        if let Some(entry) = self.entries.get(id).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(entry);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let c = Arc::new(repo::require_collection(pool, id).await?);
        let lsn = self.position(pool).await?;
        if self.generation.load(Ordering::Acquire) == generation {
            self.entries.insert(id.to_string(), (c.clone(), lsn)).await;
        }
        Ok((c, lsn))
    }

    /// Every served collection, from the cache or the catalog on the primary, and the WAL
    /// position a replica must have replayed to serve them.
    pub async fn all(&self, pool: &PgPool) -> Result<(Arc<Vec<Collection>>, Lsn)> {
        if let Some(entry) = self.all.get(&()).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(entry);
        }
        // One load for all who miss at once (the list of a Land's thousands of collections
        // takes a while, and every request of a busy server misses when it expires).
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = self
            .all
            .try_get_with((), async {
                let list = Arc::new(repo::list_collections(pool).await?);
                let lsn = self.position(pool).await?;
                Ok::<_, crate::error::Error>((list, lsn))
            })
            .await
            .map_err(|e| crate::error::Error::for_another(&e))?;
        if self.generation.load(Ordering::Acquire) != generation {
            // Announced while loading: what was loaded may be older than the announcement.
            self.all.invalidate(&()).await;
        }
        Ok(loaded)
    }

    /// The primary's WAL position after a catalog read, when replicas need it (else 0).
    async fn position(&self, pool: &PgPool) -> Result<Lsn> {
        if self.track_lsn {
            primary_lsn(pool).await
        } else {
            Ok(0)
        }
    }

    pub async fn invalidate(&self, id: &str) {
        if id == EVERYTHING {
            self.invalidate_all();
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(id).await;
        // Again once the entry is gone: a thread's memo (`cached`) taken in between, from the
        // old entry under the new generation, must not outlive it.
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.all.invalidate(&()).await;
        self.listings.invalidate_all();
        let id = id.to_string();
        if self
            .documents
            .invalidate_entries_if(move |key, _| key.0 == id)
            .is_err()
        {
            self.documents.invalidate_all();
        }
    }

    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
        self.all.invalidate_all();
        self.documents.invalidate_all();
        self.listings.invalidate_all();
        // As in `invalidate`: no memo taken in between survives.
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A cached page of the collections list.
    pub async fn listing(&self, base: &str, query: &str) -> Option<Arc<Listing>> {
        let hit = self
            .listings
            .get(&(base.to_string(), query.to_string()))
            .await;
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Keeps a page of the collections list made after `generation` (see
    /// [`CatalogCache::store_document`]).
    pub async fn store_listing(&self, base: &str, query: &str, listing: Listing, generation: u64) {
        if self.generation() == generation {
            self.listings
                .insert((base.to_string(), query.to_string()), Arc::new(listing))
                .await;
        }
    }

    /// A cached catalog document of dataset `id` made for `base`.
    pub async fn document(&self, id: &str, kind: &'static str, base: &str) -> Option<Document> {
        let entry = self.documents.get(&(id.to_string(), kind)).await?;
        (entry.0 == base).then(|| {
            self.hits.fetch_add(1, Ordering::Relaxed);
            entry.1.clone()
        })
    }

    /// The invalidation count now: pass it to [`CatalogCache::store_document`] with a
    /// document made after reading it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a document made from what was read after `generation`, unless an announcement
    /// came in between (it may be of what the document says).
    pub async fn store_document(
        &self,
        id: &str,
        kind: &'static str,
        base: &str,
        document: Document,
        generation: u64,
    ) {
        if self.generation() == generation {
            self.documents
                .insert(
                    (id.to_string(), kind),
                    Arc::new((base.to_string(), document)),
                )
                .await;
        }
    }

    /// Lookups answered from memory (for tests and metrics).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}
