//! The walking distances from every node of the network to the features within a reach
//! (default 1 km), computed once per pair of versions by pgRouting (one `pgr_drivingDistance`
//! from all features at once) and kept in memory: a nearest question then costs a lookup at
//! the two ends of the start's edge instead of a graph built around the point.
//!
//! Exact within a radius: a walk from a point on edge (u, v) leaves by u or by v (or stays on
//! the edge), so every feature within the radius is in the lists of u or v, with its distance.
//! Each node keeps its [`PER_NODE`] nearest; a list cut short is complete only up to its last.

use std::collections::HashMap;

use sqlx::PgPool;

use super::store::{self, Edge, Snap};
use crate::db::ident::QualifiedTable;
use crate::error::Result;

/// How many features a node keeps: enough for a question's limit after the closed and private
/// ones are left out, few enough that a dense town stays a few megabytes.
pub const PER_NODE: usize = 64;

/// A node's nearest features and up to where that list is complete.
#[derive(Debug, Clone, Default)]
struct Near {
    /// (fid, walking metres from the node, the feature's leg to the network included),
    /// nearest first.
    features: Vec<(i64, f32)>,
    /// Every feature within this many metres of the node is listed.
    complete_m: f64,
}

/// The walking distances of one pair of versions (features, network).
#[derive(Debug, Default)]
pub struct Reach {
    nodes: HashMap<i64, Near>,
    /// Features placed on each edge: (fid, fraction, metres to the network).
    on_edge: HashMap<i64, Vec<(i64, f64, f64)>>,
    limit_m: f64,
}

impl Reach {
    /// From the pairs (pid, node, metres) of [`store::reach_pairs`] within `reach_m`, the
    /// features placed as `placed`.
    pub fn from_pairs(pairs: Vec<(i64, i64, f64)>, placed: &[Snap], reach_m: f64) -> Self {
        let mut nodes: HashMap<i64, Near> = HashMap::new();
        for (pid, node, metres) in pairs {
            nodes
                .entry(node)
                .or_default()
                .features
                .push((pid - 1, metres as f32));
        }
        for near in nodes.values_mut() {
            near.features
                .sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            near.complete_m = reach_m;
            if near.features.len() > PER_NODE {
                near.features.truncate(PER_NODE);
                near.complete_m = f64::from(near.features[PER_NODE - 1].1);
            }
            near.features.shrink_to_fit();
        }
        let mut on_edge: HashMap<i64, Vec<(i64, f64, f64)>> = HashMap::new();
        for s in placed {
            on_edge
                .entry(s.edge)
                .or_default()
                .push((s.pid - 1, s.fraction, s.snap_m));
        }
        Self {
            nodes,
            on_edge,
            limit_m: reach_m,
        }
    }

    /// Computes the distances of the features `placed` on `walk` (pids = fid + 1).
    pub async fn build(
        pool: &PgPool,
        walk: &QualifiedTable,
        placed: &[Snap],
        reach_m: f64,
    ) -> Result<Self> {
        let pairs = store::reach_pairs(pool, walk, placed, reach_m).await?;
        Ok(Self::from_pairs(pairs, placed, reach_m))
    }

    /// The features a walk reaches from `start` (on `edge`), with the metres over the network
    /// (the start's own leg not included), nearest first; and the radius up to which that
    /// list is exact and complete.
    pub fn around(&self, start: &Snap, edge: &Edge) -> (Vec<(i64, f64)>, f64) {
        let to_source = start.fraction * edge.length_m;
        let to_target = (1.0 - start.fraction) * edge.length_m;
        let mut best: HashMap<i64, f64> = HashMap::new();
        let mut offer = |fid: i64, metres: f64| {
            let e = best.entry(fid).or_insert(metres);
            *e = e.min(metres);
        };
        let mut radius = f64::INFINITY;
        for (node, along) in [(edge.source, to_source), (edge.target, to_target)] {
            match self.nodes.get(&node) {
                Some(near) => {
                    for (fid, m) in &near.features {
                        offer(*fid, along + f64::from(*m));
                    }
                    radius = radius.min(near.complete_m + along);
                }
                // No feature within the reach of this node.
                None => radius = radius.min(self.limit_m + along),
            }
        }
        for (fid, fraction, snap_m) in self.on_edge.get(&start.edge).into_iter().flatten() {
            offer(
                *fid,
                (start.fraction - fraction).abs() * edge.length_m + snap_m,
            );
        }
        let mut found: Vec<(i64, f64)> = best.into_iter().collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        (found, radius)
    }

    /// Node lists and entries, for the log.
    pub fn size(&self) -> (usize, usize) {
        (
            self.nodes.len(),
            self.nodes.values().map(|n| n.features.len()).sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(pid: i64, edge: i64, fraction: f64, snap_m: f64) -> Snap {
        Snap {
            pid,
            edge,
            fraction,
            snap_m,
        }
    }

    #[test]
    fn by_either_end_or_along_the_edge() {
        // Feature 0 (pid 1) on edge 9 at 0.25, 3 m off; feature 1 reached from node 20 only.
        let placed = [snap(1, 9, 0.25, 3.0), snap(2, 5, 0.5, 0.0)];
        let pairs = vec![(1, 10, 28.0), (1, 20, 78.0), (2, 20, 40.0), (2, 30, 10.0)];
        let reach = Reach::from_pairs(pairs, &placed, 1000.0);
        let edge = Edge {
            source: 10,
            target: 20,
            length_m: 100.0,
        };
        let start = snap(0, 9, 0.5, 1.0);
        let (found, radius) = reach.around(&start, &edge);
        // Along the edge 25 m + 3 m; feature 1 by the target, 50 + 40 m.
        assert_eq!(found, vec![(0, 28.0), (1, 90.0)]);
        assert_eq!(radius, 1050.0);
        // From a node nobody reaches within the reach: exact up to the reach only.
        let lonely = Edge {
            source: 99,
            target: 10,
            length_m: 100.0,
        };
        let (_, radius) = reach.around(&snap(0, 7, 0.5, 0.0), &lonely);
        assert_eq!(radius, 1050.0);
    }

    #[test]
    fn a_list_cut_short_is_exact_up_to_its_last() {
        let placed: Vec<Snap> = (1..=100).map(|p| snap(p, 1000 + p, 0.5, 0.0)).collect();
        let pairs = (1..=100).map(|p| (p, 10, p as f64 * 10.0)).collect();
        let reach = Reach::from_pairs(pairs, &placed, 5000.0);
        let edge = Edge {
            source: 10,
            target: 11,
            length_m: 20.0,
        };
        let (found, radius) = reach.around(&snap(0, 1, 0.5, 0.0), &edge);
        assert_eq!(found.len(), PER_NODE);
        // The 64th is 640 m from node 10, which is 10 m away.
        assert_eq!(radius, 650.0);
        assert_eq!(found[0], (0, 20.0));
    }
}
