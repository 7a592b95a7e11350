//! Walking routes on the OSM dataset's walking network (`crate::osm::walk`), with pgRouting:
//! the defibrillators nearest on foot, not in a straight line across a river or a railway.
//!
//! Candidates are the nearest by straight line, widened until the walking answer is exact: a
//! walk is never shorter than the straight line, so once the N-th walking distance is at most
//! the straight distance of the first candidate left out, no other can come closer.

pub mod coverage;
mod coverage_store;
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
}

impl Default for Walking {
    fn default() -> Self {
        Self {
            speed_kmh: 5.0,
            snap_max_m: 250.0,
        }
    }
}

/// The features of an AED version snapped onto a network, by fid: computed on the first
/// walking question after either changes.
#[derive(Debug, Clone)]
pub struct SnapCache(moka::future::Cache<(i64, String), Arc<HashMap<i64, store::Snap>>>);

impl Default for SnapCache {
    fn default() -> Self {
        Self(moka::future::Cache::builder().max_capacity(16).build())
    }
}

impl SnapCache {
    async fn of(&self, pool: &PgPool, q: &Question<'_>) -> Result<Arc<HashMap<i64, store::Snap>>> {
        let key = (q.version.id, q.network.to_string());
        self.0
            .try_get_with(key, async {
                let all = store::snap_all(pool, q.network, &q.version.table(), None).await?;
                Ok::<_, Error>(Arc::new(all.into_iter().map(|s| (s.pid - 1, s)).collect()))
            })
            .await
            .map_err(|e| Error::Internal(format!("snapping the features: {e}")))
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
    cache: &SnapCache,
    keep: impl Fn(&mut Vec<FeatureRow>),
) -> Result<Vec<FeatureRow>> {
    let (lon, lat) = store::lon_lat(pool, q.point).await?;
    let placed = cache.of(pool, q).await?;
    let start = store::snap_start(pool, q.network, (lon, lat))
        .await?
        .filter(|s| s.snap_m <= q.walking.snap_max_m)
        .ok_or_else(|| {
            Error::invalid(
                "point",
                format!(
                    "no walkable way within {} m of the point",
                    q.walking.snap_max_m
                ),
            )
        })?;
    let mut k = q.limit * 2 + 8;
    let mut widened: Option<f64> = None;
    loop {
        let mut rows = query::nearest(pool, q.version, q.point, k, q.exclude, q.crs).await?;
        let exhausted = rows.len() < k as usize;
        let last_straight = rows.last().and_then(straight).unwrap_or(0.0);
        keep(&mut rows);
        // The window first reaches a little past the straight distance of the last one
        // wanted: walks are rarely half as long again. pgRouting builds its graph from the
        // window on every call, so a small one is what makes a question fast.
        let nth = rows
            .get((q.limit as usize).min(rows.len()).saturating_sub(1))
            .and_then(straight)
            .unwrap_or(last_straight);
        let radius = widened
            .unwrap_or(1.5 * nth + 300.0)
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
        rows.sort_by(|a, b| {
            let (wa, wb) = (walk_of(a), walk_of(b));
            wa.is_none()
                .cmp(&wb.is_none())
                .then(wa.unwrap_or(0.0).total_cmp(&wb.unwrap_or(0.0)))
                .then(a.fid.cmp(&b.fid))
        });
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
            widened = Some((radius * 2.0).min(MAX_RADIUS_M));
        }
        if done {
            rows.truncate(q.limit as usize);
            if q.route {
                let to: Vec<i64> = rows
                    .iter()
                    .filter(|r| walk_of(r).is_some())
                    .map(|r| r.fid + 1)
                    .collect();
                let lines = store::routes(pool, q.network, window, &usable, &to).await?;
                for row in &mut rows {
                    let line = lines.iter().find(|(pid, _)| *pid == row.fid + 1);
                    row.extra
                        .push(("route", line.map(|(_, g)| Value::Json(g.clone()))));
                }
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
