//! Prometheus metrics: requests by route and status, latency, the tile cache, the database
//! pool and ingests, served in the text format at `/metrics`.
//!
//! One registry per process: ingest jobs and the tile cache count from wherever they run, and
//! every `App` a server builds (one per worker) shares it.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/collections/{collectionId}/items`), never the raw path: the
    /// number of series stays bounded whatever clients send.
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadPoolLabels {
    server: String,
    lane: &'static str,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadPoolMaxLabels {
    server: String,
    lane: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms … 8 s: tile hits sit at the bottom, cold low-zoom renders near the top.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

fn ingest_histogram() -> Histogram {
    // 0.1 s … 27 min.
    Histogram::new(exponential_buckets(0.1, 2.0, 15))
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    tile_hits: Counter,
    tile_misses: Counter,
    tile_cache_bytes: Gauge,
    tile_cache_entries: Gauge,
    pool_connections: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    read_pool_connections: Family<ReadPoolLabels, Gauge>,
    read_pool_max: Family<ReadPoolMaxLabels, Gauge>,
    ingests: Family<OutcomeLabels, Counter>,
    ingest_seconds: Histograms<OutcomeLabels>,
    rate_limited: Counter,
    harvests: Family<OutcomeLabels, Counter>,
    sources_failing: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("kreisgeo");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by route pattern, method and status",
        requests.clone(),
    );
    let latency: Histograms<RouteLabels> =
        Family::new_with_constructor(latency_histogram as fn() -> Histogram);
    registry.register(
        "http_request_duration_seconds",
        "Time until the response head, by route pattern",
        latency.clone(),
    );
    let tile_hits = Counter::default();
    registry.register(
        "tile_cache_hits",
        "Tiles answered from the cache",
        tile_hits.clone(),
    );
    let tile_misses = Counter::default();
    registry.register(
        "tile_cache_misses",
        "Tiles rendered because the cache lacked them",
        tile_misses.clone(),
    );
    let tile_cache_bytes = Gauge::default();
    registry.register(
        "tile_cache_bytes",
        "Bytes the tile cache holds (every encoding)",
        tile_cache_bytes.clone(),
    );
    let tile_cache_entries = Gauge::default();
    registry.register(
        "tile_cache_entries",
        "Tiles the tile cache holds",
        tile_cache_entries.clone(),
    );
    let pool_connections = Family::<StateLabels, Gauge>::default();
    registry.register(
        "db_pool_connections",
        "Open database connections, by state (idle or in use)",
        pool_connections.clone(),
    );
    let pool_max = Gauge::default();
    registry.register(
        "db_pool_max_connections",
        "The pool's connection limit",
        pool_max.clone(),
    );
    let read_pool_connections = Family::<ReadPoolLabels, Gauge>::default();
    registry.register(
        "db_read_pool_connections",
        "Open connections of the read pools (data pages and tile renders, on the primary and on each replica), by state",
        read_pool_connections.clone(),
    );
    let read_pool_max = Family::<ReadPoolMaxLabels, Gauge>::default();
    registry.register(
        "db_read_pool_max_connections",
        "Each read pool's connection limit",
        read_pool_max.clone(),
    );
    let ingests = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "ingests",
        "Ingests run by this process, by outcome",
        ingests.clone(),
    );
    let ingest_seconds: Histograms<OutcomeLabels> =
        Family::new_with_constructor(ingest_histogram as fn() -> Histogram);
    registry.register(
        "ingest_duration_seconds",
        "Wall time of ingests, by outcome",
        ingest_seconds.clone(),
    );
    let rate_limited = Counter::default();
    registry.register(
        "rate_limited_requests",
        "Requests refused with 429 by the per-client rate limit",
        rate_limited.clone(),
    );
    let harvests = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "harvest_runs",
        "Source runs of this process, by outcome (new-version, unchanged, failed)",
        harvests.clone(),
    );
    let sources_failing = Gauge::default();
    registry.register(
        "sources_failing",
        "Sources whose last run failed (their datasets serve the last version harvested)",
        sources_failing.clone(),
    );
    Metrics {
        registry,
        requests,
        latency,
        tile_hits,
        tile_misses,
        tile_cache_bytes,
        tile_cache_entries,
        pool_connections,
        pool_max,
        read_pool_connections,
        read_pool_max,
        ingests,
        ingest_seconds,
        rate_limited,
        harvests,
        sources_failing,
    }
});

/// Counts an answered request. Labels are static strings so that counting allocates nothing
/// on the hot path; routes are interned (their number is bounded: the route patterns).
pub fn record_request(
    route: &str,
    method: &actix_web::http::Method,
    status: u16,
    elapsed: Duration,
) {
    let method = method_name(method);
    let seconds = elapsed.as_secs_f64();
    LAST_REQUEST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(l) if l.status == status && l.method == method && l.route == route => {
                l.count.inc();
                l.latency.observe(seconds);
            }
            _ => {
                let m = &*METRICS;
                let route = intern(route);
                let count = m
                    .requests
                    .get_or_create(&RequestLabels {
                        route,
                        method,
                        status,
                    })
                    .clone();
                let latency = m.latency.get_or_create(&RouteLabels { route }).clone();
                count.inc();
                latency.observe(seconds);
                *last = Some(LastRequest {
                    route,
                    method,
                    status,
                    count,
                    latency,
                });
            }
        }
    });
}

/// The series the last request of a thread was counted in. A busy route (a map's tiles) asks
/// for the same ones again and again; the families find them with a lock and two hashes of
/// the route each time.
struct LastRequest {
    route: &'static str,
    method: &'static str,
    status: u16,
    count: Counter,
    latency: Histogram,
}

thread_local! {
    static LAST_REQUEST: std::cell::RefCell<Option<LastRequest>> = const { std::cell::RefCell::new(None) };
}

/// The one `'static` copy of a route pattern.
fn intern(route: &str) -> &'static str {
    static ROUTES: LazyLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> =
        LazyLock::new(Default::default);
    if let Some(found) = ROUTES.read().ok().and_then(|r| r.get(route).copied()) {
        return found;
    }
    let mut routes = ROUTES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = routes.get(route) {
        return found;
    }
    // Leaked once per pattern: as many as kreisgeo has routes, plus "unmatched".
    let leaked: &'static str = Box::leak(route.to_string().into_boxed_str());
    routes.insert(leaked);
    leaked
}

fn method_name(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Counts a tile cache lookup.
pub fn tile_cache(hit: bool) {
    if hit {
        METRICS.tile_hits.inc();
    } else {
        METRICS.tile_misses.inc();
    }
}

/// Counts a finished ingest.
pub fn record_ingest(succeeded: bool, elapsed: Duration) {
    let labels = OutcomeLabels {
        outcome: if succeeded { "succeeded" } else { "failed" },
    };
    METRICS.ingests.get_or_create(&labels).inc();
    METRICS
        .ingest_seconds
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
}

/// Counts a source run by its outcome: `new-version`, `unchanged` or `failed`.
pub fn record_harvest(outcome: &'static str) {
    METRICS
        .harvests
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

/// Counts a request refused by the rate limit.
pub fn rate_limited() {
    METRICS.rate_limited.inc();
}

/// What is measured at scrape time rather than counted.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub tile_cache_entries: u64,
    pub tile_cache_bytes: u64,
    pub pool_size: u32,
    pub pool_idle: usize,
    pub pool_max: u32,
    pub read_pools: Vec<crate::db::replicas::PoolUse>,
    pub sources_failing: u64,
}

/// The metrics in Prometheus' text format.
pub fn render(now: Snapshot) -> String {
    let m = &*METRICS;
    let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    m.tile_cache_entries.set(gauge(now.tile_cache_entries));
    m.tile_cache_bytes.set(gauge(now.tile_cache_bytes));
    let idle = now.pool_idle as i64;
    m.pool_connections
        .get_or_create(&StateLabels { state: "idle" })
        .set(idle);
    m.pool_connections
        .get_or_create(&StateLabels { state: "in_use" })
        .set((i64::from(now.pool_size) - idle).max(0));
    m.pool_max.set(i64::from(now.pool_max));
    for p in &now.read_pools {
        let idle = p.idle as i64;
        let labels = |state| ReadPoolLabels {
            server: p.server.clone(),
            lane: p.lane,
            state,
        };
        m.read_pool_connections
            .get_or_create(&labels("idle"))
            .set(idle);
        m.read_pool_connections
            .get_or_create(&labels("in_use"))
            .set((i64::from(p.size) - idle).max(0));
        m.read_pool_max
            .get_or_create(&ReadPoolMaxLabels {
                server: p.server.clone(),
                lane: p.lane,
            })
            .set(i64::from(p.max));
    }
    m.sources_failing.set(gauge(now.sources_failing));
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &m.registry);
    text
}
