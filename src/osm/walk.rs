//! The walking network: which ways a pedestrian may use, and those ways cut into edges at the
//! nodes they share with other walkable ways, so that a router (pgRouting) meets the junctions
//! OSM draws and never the crossings it does not (a footbridge over a road shares no node with
//! it).

use std::collections::HashMap;

use geo::{Coord, Geodesic, Length, LineString};

use super::tags::Tags;

/// Highways a pedestrian uses whatever else is tagged.
const ALWAYS: &[&str] = &[
    "footway",
    "path",
    "pedestrian",
    "steps",
    "track",
    "residential",
    "service",
    "living_street",
    "unclassified",
    "road",
    "corridor",
];
/// Highways walked where a sidewalk or a foot permission is tagged.
const WITH_SIDEWALK: &[&str] = &[
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "cycleway",
    "bridleway",
];
/// Never walked (in Germany pedestrians are banned from Autobahn and Kraftfahrstraße).
const NEVER: &[&str] = &["motorway", "motorway_link", "trunk", "trunk_link"];

/// Whether a pedestrian may walk along this way.
pub fn walkable(tags: &Tags) -> bool {
    let Some(highway) = tags.get("highway") else {
        return false;
    };
    let foot = tags.get("foot");
    if foot == Some("no") || NEVER.contains(&highway) || tags.yes("motorroad") {
        return false;
    }
    let foot_allowed = matches!(foot, Some("yes" | "designated" | "permissive" | "official"));
    if tags.is("access", &["no", "private"]) && !foot_allowed {
        return false;
    }
    ALWAYS.contains(&highway)
        || (WITH_SIDEWALK.contains(&highway) && (foot_allowed || has_sidewalk(tags)))
}

fn has_sidewalk(tags: &Tags) -> bool {
    tags.any_with_prefix("sidewalk").any(|(key, value)| {
        if key == "sidewalk"
            || key == "sidewalk:both"
            || key == "sidewalk:left"
            || key == "sidewalk:right"
        {
            !matches!(value, "no" | "none" | "separate")
        } else {
            false
        }
    })
}

/// One edge of the walking network, between two junction (or end) nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub source: i64,
    pub target: i64,
    pub osm_id: i64,
    /// The way's `highway` value.
    pub highway: String,
    pub name: Option<String>,
    /// On the WGS 84 ellipsoid.
    pub length_m: f64,
    /// Edges of the connected piece of the network this edge belongs to (set by
    /// [`measure_pieces`]): a yard's path cut off from the streets is a piece of a few.
    pub piece_edges: i64,
    pub coords: Vec<Coord>,
}

/// Counts how many walkable ways use each node; ends count twice so that they always split.
#[derive(Default)]
pub struct NodeUse(HashMap<i64, u32>);

impl NodeUse {
    pub fn add_way(&mut self, nodes: &[i64]) {
        for n in nodes {
            *self.0.entry(*n).or_default() += 1;
        }
        for end in [nodes.first(), nodes.last()].into_iter().flatten() {
            *self.0.entry(*end).or_default() += 1;
        }
    }

    fn is_junction(&self, node: i64) -> bool {
        self.0.get(&node).is_some_and(|&n| n > 1)
    }
}

/// Cuts a walkable way into edges at its junctions. `coords` are the nodes' positions.
pub fn split(
    osm_id: i64,
    tags: &Tags,
    nodes: &[i64],
    coords: &[Coord],
    uses: &NodeUse,
) -> Vec<Edge> {
    let highway = tags.get("highway").unwrap_or_default().to_string();
    let name = tags.get("name").map(str::to_string);
    let mut edges = Vec::new();
    let mut start = 0;
    for i in 1..nodes.len() {
        if i == nodes.len() - 1 || uses.is_junction(nodes[i]) {
            let part = &coords[start..=i];
            // A way that revisits a node makes zero-length pieces; they route nowhere.
            if part.len() >= 2 && nodes[start] != nodes[i] || part.len() > 2 {
                let line = LineString::new(part.to_vec());
                edges.push(Edge {
                    source: nodes[start],
                    target: nodes[i],
                    osm_id,
                    highway: highway.clone(),
                    name: name.clone(),
                    length_m: Geodesic.length(&line),
                    piece_edges: 0,
                    coords: part.to_vec(),
                });
            }
            start = i;
        }
    }
    edges
}

/// Sets every edge's `piece_edges`: the size of its connected piece (union–find over the
/// edges' end nodes). Snapping onto a tiny piece would route nowhere.
pub fn measure_pieces(edges: &mut [Edge]) {
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut id = |n: i64, parent: &mut Vec<usize>| {
        *index.entry(n).or_insert_with(|| {
            parent.push(parent.len());
            parent.len() - 1
        })
    };
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let ends: Vec<(usize, usize)> = edges
        .iter()
        .map(|e| (id(e.source, &mut parent), id(e.target, &mut parent)))
        .collect();
    for &(a, b) in &ends {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra] = rb;
        }
    }
    let mut sizes: HashMap<usize, i64> = HashMap::new();
    let roots: Vec<usize> = ends.iter().map(|&(a, _)| root(&mut parent, a)).collect();
    for r in &roots {
        *sizes.entry(*r).or_default() += 1;
    }
    for (e, r) in edges.iter_mut().zip(roots) {
        e.piece_edges = sizes[&r];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        Tags::from_pairs(pairs)
    }

    #[test]
    fn the_rules_of_the_road_for_pedestrians() {
        assert!(walkable(&tags(&[("highway", "footway")])));
        assert!(walkable(&tags(&[("highway", "residential")])));
        assert!(!walkable(&tags(&[
            ("highway", "motorway"),
            ("foot", "yes")
        ])));
        assert!(!walkable(&tags(&[
            ("highway", "service"),
            ("access", "private")
        ])));
        assert!(walkable(&tags(&[
            ("highway", "service"),
            ("access", "private"),
            ("foot", "yes")
        ])));
        assert!(!walkable(&tags(&[("highway", "path"), ("foot", "no")])));
        assert!(!walkable(&tags(&[("highway", "primary")])));
        assert!(walkable(&tags(&[
            ("highway", "primary"),
            ("sidewalk", "both")
        ])));
        assert!(!walkable(&tags(&[
            ("highway", "primary"),
            ("sidewalk", "no")
        ])));
        assert!(walkable(&tags(&[
            ("highway", "secondary"),
            ("sidewalk:right", "yes")
        ])));
        assert!(!walkable(&tags(&[
            ("highway", "tertiary"),
            ("motorroad", "yes"),
            ("sidewalk", "both")
        ])));
        assert!(!walkable(&tags(&[("building", "yes")])));
    }

    #[test]
    fn a_way_is_cut_at_the_nodes_other_ways_share() {
        let mut uses = NodeUse::default();
        let main = [1, 2, 3, 4];
        let side = [3, 5];
        uses.add_way(&main);
        uses.add_way(&side);
        // ~111 m per 0.001° of latitude.
        let coords: Vec<Coord> = (0..4)
            .map(|i| Coord {
                x: 11.0,
                y: 49.5 + 0.001 * f64::from(i),
            })
            .collect();
        let edges = split(7, &tags(&[("highway", "footway")]), &main, &coords, &uses);
        assert_eq!(
            edges
                .iter()
                .map(|e| (e.source, e.target))
                .collect::<Vec<_>>(),
            vec![(1, 3), (3, 4)]
        );
        assert!(
            (edges[0].length_m - 222.3).abs() < 1.0,
            "{}",
            edges[0].length_m
        );
        assert_eq!(edges[1].coords.len(), 2);
        let mut more = edges.clone();
        more.extend(split(
            8,
            &tags(&[("highway", "footway")]),
            &[9, 10],
            &coords[..2],
            &uses,
        ));
        measure_pieces(&mut more);
        assert_eq!(
            more.iter().map(|e| e.piece_edges).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
    }
}
