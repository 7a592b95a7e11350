//! Multipolygon assembly: the member ways of a relation joined end to end into closed rings,
//! and the rings nested into polygons with holes by containment (the `outer`/`inner` roles are
//! often wrong in real data, the geometry is not).

use std::collections::HashMap;

use geo::{Contains, Coord, LineString, MultiPolygon, Polygon};

/// One member way: its node ids and their coordinates (lon, lat).
pub struct Member<'a> {
    pub nodes: &'a [i64],
    pub coords: Vec<Coord>,
}

/// Rings per relation above this are not nested (that would be quadratic); such a relation is
/// reported unassembled.
pub const MAX_RINGS: usize = 5_000;

/// What assembly gave: the polygons, or why there are none.
#[derive(Debug)]
pub enum Assembled {
    Polygons(MultiPolygon),
    /// Some member ways do not close into rings (the extract cut the relation, or it is broken).
    Open,
    TooManyRings,
}

/// Joins the members into rings and nests them.
pub fn assemble(members: &[Member<'_>]) -> Assembled {
    let Some(rings) = close_rings(members) else {
        return Assembled::Open;
    };
    if rings.len() > MAX_RINGS {
        return Assembled::TooManyRings;
    }
    Assembled::Polygons(nest(rings))
}

/// Chains the member ways by shared end nodes; `None` when one chain stays open.
fn close_rings(members: &[Member<'_>]) -> Option<Vec<LineString>> {
    let mut by_end: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        if m.nodes.len() < 2 || m.nodes.len() != m.coords.len() {
            return None;
        }
        by_end.entry(m.nodes[0]).or_default().push(i);
        by_end.entry(*m.nodes.last()?).or_default().push(i);
    }
    let mut used = vec![false; members.len()];
    let mut rings = Vec::new();
    for start in 0..members.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let first = members[start].nodes[0];
        let mut last = *members[start].nodes.last()?;
        let mut coords = members[start].coords.clone();
        while last != first {
            let next = by_end.get(&last)?.iter().copied().find(|&i| !used[i])?;
            used[next] = true;
            let m = &members[next];
            if m.nodes[0] == last {
                coords.extend_from_slice(&m.coords[1..]);
                last = *m.nodes.last()?;
            } else {
                coords.extend(m.coords[..m.coords.len() - 1].iter().rev());
                last = m.nodes[0];
            }
        }
        if coords.len() >= 4 {
            rings.push(LineString::new(coords));
        }
    }
    Some(rings)
}

/// Nests rings by containment: a ring inside an even number of others is an outer ring, inside
/// an odd number a hole of the smallest ring around it.
fn nest(rings: Vec<LineString>) -> MultiPolygon {
    use geo::Area;
    let mut rings: Vec<(f64, Polygon)> = rings
        .into_iter()
        .map(|r| {
            let p = Polygon::new(r, Vec::new());
            (p.unsigned_area(), p)
        })
        .collect();
    // Largest first: a ring's container is always placed before it.
    rings.sort_by(|a, b| b.0.total_cmp(&a.0));
    // (depth, parent) per ring.
    let mut placed: Vec<(usize, Option<usize>)> = Vec::with_capacity(rings.len());
    for i in 0..rings.len() {
        // A point inside the ring, not a vertex: rings may touch their container at a vertex.
        let probe = centre(&rings[i].1);
        let parent = (0..i).rev().find(|&j| rings[j].1.contains(&probe));
        let depth = parent.map_or(0, |p| placed[p].0 + 1);
        placed.push((depth, parent));
    }
    let mut holes: Vec<Vec<LineString>> = vec![Vec::new(); rings.len()];
    for (i, &(depth, parent)) in placed.iter().enumerate() {
        if depth % 2 == 1 {
            if let Some(p) = parent {
                holes[p].push(rings[i].1.exterior().clone());
            }
        }
    }
    let polygons = rings
        .into_iter()
        .zip(placed)
        .zip(holes)
        .filter(|((_, (depth, _)), _)| depth % 2 == 0)
        .map(|(((_, p), _), holes)| {
            let (exterior, _) = p.into_inner();
            Polygon::new(exterior, holes)
        })
        .collect();
    MultiPolygon::new(polygons)
}

/// A point strictly inside the ring.
fn centre(p: &Polygon) -> Coord {
    use geo::InteriorPoint;
    p.interior_point().map_or(p.exterior().0[0], |pt| pt.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, size: f64) -> Vec<Coord> {
        vec![
            Coord { x, y },
            Coord { x: x + size, y },
            Coord {
                x: x + size,
                y: y + size,
            },
            Coord { x, y: y + size },
            Coord { x, y },
        ]
    }

    #[test]
    fn two_halves_of_an_outer_ring_and_a_hole_make_one_polygon() {
        let outer = square(0.0, 0.0, 10.0);
        // The outer ring split into two ways, the second one reversed.
        let a_nodes = [1, 2, 3];
        let b_nodes = [1, 4, 3];
        let a = Member {
            nodes: &a_nodes,
            coords: outer[0..3].to_vec(),
        };
        let b = Member {
            nodes: &b_nodes,
            coords: vec![outer[4], outer[3], outer[2]],
        };
        let hole_nodes = [10, 11, 12, 13, 10];
        let hole = Member {
            nodes: &hole_nodes,
            coords: square(2.0, 2.0, 2.0),
        };
        let Assembled::Polygons(mp) = assemble(&[hole, a, b]) else {
            panic!("not assembled")
        };
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);
        use geo::Area;
        assert!((mp.unsigned_area() - 96.0).abs() < 1e-9);
    }

    #[test]
    fn an_island_in_a_lake_is_an_outer_ring_again() {
        let n1 = [1, 2, 3, 4, 1];
        let n2 = [5, 6, 7, 8, 5];
        let n3 = [9, 10, 11, 12, 9];
        let Assembled::Polygons(mp) = assemble(&[
            Member {
                nodes: &n1,
                coords: square(0.0, 0.0, 10.0),
            },
            Member {
                nodes: &n2,
                coords: square(2.0, 2.0, 6.0),
            },
            Member {
                nodes: &n3,
                coords: square(4.0, 4.0, 2.0),
            },
        ]) else {
            panic!("not assembled")
        };
        assert_eq!(mp.0.len(), 2);
    }

    #[test]
    fn an_open_chain_is_reported() {
        let n = [1, 2, 3];
        let open = Member {
            nodes: &n,
            coords: square(0.0, 0.0, 1.0)[..3].to_vec(),
        };
        assert!(matches!(assemble(&[open]), Assembled::Open));
    }
}
