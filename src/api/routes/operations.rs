//! What operators and load balancers ask: is the process up, can it serve, and its metrics.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::TAG_OPERATIONS;
use crate::api::state::AppState;

/// The state of the process or of its service.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `up`, `ready` or `not ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Why not, when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The streaming replicas data reads go to (only when configured); a node is ready without
    /// them, as the primary takes their reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<crate::db::replicas::ReplicaStatus>>,
    /// Data reads the primary answered (only with replicas configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_reads: Option<u64>,
    /// Sources whose last run failed (only when there are any): their datasets still serve
    /// the last version harvested, so the node is ready all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_sources: Option<Vec<crate::harvest::store::Failing>>,
}

/// Liveness
///
/// 200 as long as the process answers HTTP, whatever the database does: restarting the
/// process would not help then.
#[utoipa::path(
    tag = TAG_OPERATIONS,
    responses((status = 200, description = "The process is up", body = Status))
)]
#[get("/health")]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Status {
            status: "up",
            reason: None,
            replicas: None,
            primary_reads: None,
            failing_sources: None,
        })
}

/// Readiness
///
/// 200 when the database answers within a second; 503 otherwise, so that a load balancer
/// sends requests to another node until this one can serve again. Lists the sources whose
/// last run failed.
#[utoipa::path(
    tag = TAG_OPERATIONS,
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "The database does not answer", body = Status)
    )
)]
#[get("/ready")]
pub async fn get_ready(state: web::Data<AppState>) -> HttpResponse {
    let ready = !state.watch.is_down() && crate::api::watch::ping(&state.pool).await;
    if !ready {
        state.watch.tripped(
            &state.pool,
            "the readiness check found the database unreachable",
        );
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Retry-After", "2"))
            .json(Status {
                status: "not ready",
                reason: Some("the database does not answer"),
                replicas: None,
                primary_reads: None,
                failing_sources: None,
            });
    }
    let failing = crate::harvest::store::failing(&state.pool)
        .await
        .unwrap_or_default();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Status {
            status: "ready",
            failing_sources: (!failing.is_empty()).then_some(failing),
            reason: None,
            replicas: state.reads.has_replicas().then(|| state.reads.status()),
            primary_reads: state
                .reads
                .has_replicas()
                .then(|| state.reads.primary_reads()),
        })
}

/// Metrics
///
/// Prometheus text format: requests by route pattern, method and status, latency histograms,
/// tile cache hits, misses and bytes, database pool use (the public pool, and the read pools of
/// data pages and tile renders on the primary and each replica), ingests and their durations,
/// rate limit refusals.
#[utoipa::path(
    tag = TAG_OPERATIONS,
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String))
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let (entries, bytes) = state.tiles.usage().await;
    let text = crate::metrics::render(crate::metrics::Snapshot {
        tile_cache_entries: entries,
        tile_cache_bytes: bytes,
        pool_size: state.pool.size(),
        pool_idle: state.pool.num_idle(),
        pool_max: state.pool.options().get_max_connections(),
        read_pools: state.reads.pool_use(),
        sources_failing: crate::harvest::store::failing(&state.pool)
            .await
            .map_or(0, |f| f.len() as u64),
    });
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
