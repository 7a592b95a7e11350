//! Walking routes on the OSM dataset's walking network (`crate::osm::walk`), with pgRouting:
//! the defibrillators nearest on foot, not in a straight line across a river or a railway.
//!
//! Two ways to the same exact answer. First the distances kept per pair of versions
//! ([`reach::Reach`]): a lookup at the ends of the start's edge, exact up to a radius. Where
//! that radius does not hold the N nearest (a sparse register, a far corner), candidates are
//! the nearest by straight line, widened until the walking answer is exact: a walk is never
//! shorter than the straight line, so once the N-th walking distance is at most the straight
//! distance of the first candidate left out, no other can come closer.

pub mod coverage;
mod coverage_store;
pub mod reach;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;

use crate::catalog::{Column, Version};
use crate::crs::{ApiCrs, Point};
use crate::db::ident::QualifiedTable;
use crate::error::{Error, Result};
use crate::features::query;
use crate::value::{FeatureRow, Value};

/// How people walk and how far a point may be from the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Walking {
    /// Walking speed for `walk_min` (default 5 km/h, the planning value of German guidance
    /// for pedestrians).
    pub speed_kmh: f64,
    /// Farther than this from every walkable way, a feature is unreachable and the start is
    /// refused.
    pub snap_max_m: f64,
    /// Distances from every node to the features within this many metres are kept in memory
    /// ([`reach::Reach`]); 0: every question searches the network around its point.
    pub reach_m: f64,
}

impl Default for Walking {
    fn default() -> Self {
        Self {
            speed_kmh: 5.0,
            snap_max_m: 250.0,
            reach_m: 1000.0,
        }
    }
}

type Placed = Arc<HashMap<i64, store::Snap>>;

/// What walking questions keep per pair of versions (features, network): the features snapped
/// onto the network, by fid, and the distances within the reach. Made by the first question
/// after either changes.
#[derive(Debug, Clone)]
pub struct WalkCache {
    snaps: moka::future::Cache<(i64, String), Placed>,
    reach: moka::future::Cache<(i64, String, u64), Arc<reach::Reach>>,
}

impl Default for WalkCache {
    fn default() -> Self {
        Self {
            snaps: moka::future::Cache::builder().max_capacity(16).build(),
            reach: moka::future::Cache::builder().max_capacity(4).build(),
        }
    }
}

impl WalkCache {
    async fn placed(&self, pool: &PgPool, q: &Question<'_>) -> Result<Placed> {
        let key = (q.version.id, q.network.to_string());
        self.snaps
            .try_get_with(key, async {
                let all = store::snap_all(pool, q.network, &q.version.table(), None).await?;
                Ok::<_, Error>(Arc::new(all.into_iter().map(|s| (s.pid - 1, s)).collect()))
            })
            .await
            .map_err(|e| shared(&e, "snapping the features"))
    }

    async fn reach(
        &self,
        pool: &PgPool,
        q: &Question<'_>,
        placed: &Placed,
    ) -> Result<Arc<reach::Reach>> {
        let key = (
            q.version.id,
            q.network.to_string(),
            q.walking.reach_m.to_bits(),
        );
        self.reach
            .try_get_with(key, async {
                let started = std::time::Instant::now();
                let usable: Vec<store::Snap> = placed
                    .values()
                    .filter(|s| s.snap_m <= q.walking.snap_max_m)
                    .copied()
                    .collect();
                let built =
                    reach::Reach::build(pool, q.network, &usable, q.walking.reach_m).await?;
                let (nodes, entries) = built.size();
                tracing::info!(
                    dataset = %q.version.dataset_id,
                    version = q.version.id,
                    features = usable.len(),
                    nodes,
                    entries,
                    seconds = started.elapsed().as_secs_f64(),
                    "walking distances within {} m kept",
                    q.walking.reach_m
                );
                Ok::<_, Error>(Arc::new(built))
            })
            .await
            .map_err(|e| shared(&e, "the walking distances"))
    }
}

/// A cached computation's error, for each question that waited on it: a bad request stays one
/// (no pgRouting), anything else is the server's.
fn shared(e: &Error, what: &str) -> Error {
    match e {
        Error::InvalidParameter { parameter, message } => Error::InvalidParameter {
            parameter: parameter.clone(),
            message: message.clone(),
        },
        other => Error::Internal(format!("{what}: {other}")),
    }
}

/// Candidates are never widened past this many.
const MAX_CANDIDATES: u32 = 4_000;
/// The network window never reaches farther than this (metres).
const MAX_RADIUS_M: f64 = 60_000.0;

/// What a nearest-on-foot question needs.
pub struct Question<'a> {
    pub version: &'a Version,
    pub network: &'a QualifiedTable,
    pub point: Point,
    pub limit: u32,
    pub exclude: Option<(&'a Column, &'a [&'a str])>,
    pub crs: &'a ApiCrs,
    pub walking: Walking,
    pub route: bool,
}

/// The `limit` features nearest on foot, nearest first, each with `walk_m` (from the point
/// over the network to the feature, the legs to and from the network included), `walk_min`,
/// `snap_m` (the feature's distance to the network), `start_snap_m` and `reachable`; with
/// `route`, the path as a GeoJSON LineString. `keep` marks and filters rows (open now) before
/// they are ranked. Features no way reaches come last, `reachable: false`.
pub async fn nearest_on_foot(
    pool: &PgPool,
    q: &Question<'_>,
    cache: &WalkCache,
    keep: impl Fn(&mut Vec<FeatureRow>),
) -> Result<Vec<FeatureRow>> {
    let (lon, lat) = store::lon_lat(pool, q.point).await?;
    let placed = cache.placed(pool, q).await?;
    let (start, edge) = store::snap_start(pool, q.network, (lon, lat))
        .await?
        .filter(|(s, _)| s.snap_m <= q.walking.snap_max_m)
        .ok_or_else(|| {
            Error::invalid(
                "point",
                format!(
                    "no walkable way within {} m of the point",
                    q.walking.snap_max_m
                ),
            )
        })?;
    if q.walking.reach_m > 0.0 {
        let kept = cache.reach(pool, q, &placed).await?;
        if let Some(rows) = within_reach(pool, q, &kept, &placed, start, &edge, &keep).await? {
            return Ok(rows);
        }
    }
    around_the_point(pool, q, &placed, start, (lon, lat), keep).await
}

/// The answer from the kept distances, when the `limit` nearest lie within the radius they are
/// exact for; `None` otherwise.
async fn within_reach(
    pool: &PgPool,
    q: &Question<'_>,
    kept: &reach::Reach,
    placed: &Placed,
    start: store::Snap,
    edge: &store::Edge,
    keep: &impl Fn(&mut Vec<FeatureRow>),
) -> Result<Option<Vec<FeatureRow>>> {
    let (found, radius) = kept.around(&start, edge);
    let walks: HashMap<i64, f64> = found.iter().copied().collect();
    let limit = q.limit as usize;
    let mut rows: Vec<FeatureRow> = Vec::new();
    // In walking order, a batch at a time: the closed and the private are left out after.
    for batch in found.chunks(limit * 4 + 12) {
        if batch[0].1 > radius {
            break;
        }
        let fids: Vec<i64> = batch.iter().map(|(fid, _)| *fid).collect();
        let mut more =
            query::with_distance(pool, q.version, q.point, &fids, q.exclude, q.crs).await?;
        keep(&mut more);
        for row in &mut more {
            let walk = start.snap_m + walks[&row.fid];
            let snap = placed.get(&row.fid).map(|s| s.snap_m);
            annotate(row, Some(walk), snap, start.snap_m, q.walking);
        }
        rows.extend(more);
        if rows.len() >= limit {
            break;
        }
    }
    rank(&mut rows);
    rows.truncate(limit);
    let exact = rows.len() == limit
        && rows
            .last()
            .and_then(walk_of)
            .is_some_and(|w| w - start.snap_m <= radius);
    if !exact {
        return Ok(None);
    }
    if q.route {
        let longest = rows.iter().filter_map(walk_of).fold(0.0, f64::max);
        let (lon, lat) = store::lon_lat(pool, q.point).await?;
        let points: Vec<store::Snap> = std::iter::once(start)
            .chain(rows.iter().filter_map(|r| placed.get(&r.fid).copied()))
            .collect();
        attach_routes(pool, q, &mut rows, window(lon, lat, longest + 1.0), &points).await?;
    }
    Ok(Some(rows))
}

/// Nearest first by walk, those no walk reaches last, ties by fid.
fn rank(rows: &mut [FeatureRow]) {
    rows.sort_by(|a, b| {
        let (wa, wb) = (walk_of(a), walk_of(b));
        wa.is_none()
            .cmp(&wb.is_none())
            .then(wa.unwrap_or(0.0).total_cmp(&wb.unwrap_or(0.0)))
            .then(a.fid.cmp(&b.fid))
    });
}

/// Adds each reachable row's walking route from the start (pid 1 of `points`).
async fn attach_routes(
    pool: &PgPool,
    q: &Question<'_>,
    rows: &mut [FeatureRow],
    window: store::Window,
    points: &[store::Snap],
) -> Result<()> {
    let to: Vec<i64> = rows
        .iter()
        .filter(|r| walk_of(r).is_some())
        .map(|r| r.fid + 1)
        .collect();
    let lines = store::routes(pool, q.network, window, points, &to).await?;
    for row in rows {
        let line = lines.iter().find(|(pid, _)| *pid == row.fid + 1);
        row.extra
            .push(("route", line.map(|(_, g)| Value::Json(g.clone()))));
    }
    Ok(())
}

/// The answer from the network around the point: candidates by straight line, the graph of a
/// window around the point, both widened until the answer is exact.
async fn around_the_point(
    pool: &PgPool,
    q: &Question<'_>,
    placed: &Placed,
    start: store::Snap,
    (lon, lat): (f64, f64),
    keep: impl Fn(&mut Vec<FeatureRow>),
) -> Result<Vec<FeatureRow>> {
    // Enough candidates that a walk rarely outruns the last one's straight line (which would
    // ask again with more): a candidate more costs pgRouting one point, a question more a graph.
    let mut k = q.limit * 4 + 12;
    let mut widened: Option<f64> = None;
    loop {
        let mut rows = query::nearest(pool, q.version, q.point, k, q.exclude, q.crs).await?;
        let exhausted = rows.len() < k as usize;
        let last_straight = rows.last().and_then(straight).unwrap_or(0.0);
        keep(&mut rows);
        // The window first reaches a little past the straight distance of the last one
        // wanted: over Lauf's addresses and 500 defibrillators, the fifth walk is within
        // 1.3 × the fifth straight line + 200 m for 93 % of the starts. pgRouting builds its
        // graph from the window on every call (about 1.5 µs an edge), so a small one is what
        // makes a question fast.
        let nth = rows
            .get((q.limit as usize).min(rows.len()).saturating_sub(1))
            .and_then(straight)
            .unwrap_or(last_straight);
        let radius = widened
            .unwrap_or(1.3 * nth + 200.0)
            .clamp(300.0, MAX_RADIUS_M);
        let window = window(lon, lat, radius);
        let snaps: Vec<store::Snap> = std::iter::once(start)
            .chain(rows.iter().filter_map(|r| placed.get(&r.fid).copied()))
            .collect();
        let usable: Vec<store::Snap> = snaps
            .iter()
            .filter(|s| s.snap_m <= q.walking.snap_max_m)
            .copied()
            .collect();
        let costs = store::costs(pool, q.network, window, &usable).await?;
        for row in &mut rows {
            let snap = snaps.iter().find(|s| s.pid == row.fid + 1);
            let cost = costs
                .iter()
                .find(|(pid, _)| *pid == row.fid + 1)
                .map(|c| c.1);
            let walk = match (snap, cost) {
                (Some(s), Some(c)) if s.snap_m <= q.walking.snap_max_m => {
                    Some(start.snap_m + c + s.snap_m)
                }
                _ => None,
            };
            annotate(row, walk, snap.map(|s| s.snap_m), start.snap_m, q.walking);
        }
        rank(&mut rows);
        let bound = if exhausted {
            f64::INFINITY
        } else {
            last_straight
        };
        let top: Vec<Option<f64>> = rows.iter().take(q.limit as usize).map(walk_of).collect();
        // Inside the window every walk is exact, and a path that leaves it is longer than its
        // radius: walks within the radius are the shortest. Only with fewer reachable than
        // wanted may a feature on the network be reachable through what the window left out.
        let unrouted = rows.iter().any(|r| {
            walk_of(r).is_none()
                && snaps
                    .iter()
                    .any(|s| s.pid == r.fid + 1 && s.snap_m <= q.walking.snap_max_m)
        });
        let full = top.iter().all(Option::is_some) && top.len() == q.limit as usize;
        let within = top.iter().flatten().all(|w| *w <= radius)
            && (full || !unrouted || radius >= MAX_RADIUS_M);
        // No candidate left out can come closer: a walk is never shorter than the line.
        let beyond = top.iter().flatten().all(|w| *w <= bound) || exhausted || k >= MAX_CANDIDATES;
        let done = within && beyond;
        if !within {
            // Walks found in the window are real paths: with all wanted found, no shorter path
            // leaves a circle as wide as the longest of them, and that is the window needed.
            let longest = top.iter().flatten().copied().fold(0.0, f64::max);
            let next = if full { longest + 1.0 } else { radius * 2.0 };
            widened = Some(next.max(radius * 1.1).min(MAX_RADIUS_M));
        }
        if done {
            rows.truncate(q.limit as usize);
            if q.route {
                attach_routes(pool, q, &mut rows, window, &usable).await?;
            }
            return Ok(rows);
        }
        if !beyond {
            k = (k * 4).min(MAX_CANDIDATES);
        }
    }
}

fn straight(row: &FeatureRow) -> Option<f64> {
    extra_float(row, "distance_m")
}

fn walk_of(row: &FeatureRow) -> Option<f64> {
    extra_float(row, "walk_m")
}

fn extra_float(row: &FeatureRow, name: &str) -> Option<f64> {
    row.extra
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| match v {
            Some(Value::Float(f)) => Some(*f),
            _ => None,
        })
}

fn annotate(row: &mut FeatureRow, walk: Option<f64>, snap: Option<f64>, start: f64, w: Walking) {
    let round = |m: f64| (m * 10.0).round() / 10.0;
    let minutes = walk.map(|m| ((m / (w.speed_kmh * 1000.0 / 60.0)) * 10.0).round() / 10.0);
    row.extra.extend([
        ("walk_m", walk.map(|m| Value::Float(round(m)))),
        ("walk_min", minutes.map(Value::Float)),
        ("snap_m", snap.map(|m| Value::Float(round(m)))),
        ("start_snap_m", Some(Value::Float(round(start)))),
        ("reachable", Some(Value::Bool(walk.is_some()))),
    ]);
}

/// `[west, south, east, north]` within `radius_m` of (lon, lat).
fn window(lon: f64, lat: f64, radius_m: f64) -> store::Window {
    let dlat = radius_m / 111_320.0;
    let dlon = radius_m / (111_320.0 * lat.to_radians().cos().max(0.01));
    [lon - dlon, lat - dlat, lon + dlon, lat + dlat]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_holds_its_radius_in_every_direction() {
        let [w, s, e, n] = window(11.28, 49.51, 1000.0);
        // 1 km is 0.009° of latitude and 0.0139° of longitude at 49.5° N.
        assert!(((n - s) / 2.0 - 0.00898).abs() < 1e-4);
        assert!(((e - w) / 2.0 - 0.01383).abs() < 1e-4);
    }
}
