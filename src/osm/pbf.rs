//! Reads an OSM PBF extract in three passes, each decoding the file's blocks in parallel:
//! relations (which ways make multipolygons and boundaries), ways (which ones the map, the
//! addresses or the walking network use), nodes (the positions of only those ways' nodes, and
//! the tagged nodes). Memory grows with what is kept, not with the file: 16 bytes per needed
//! node and the node lists of the kept ways.

use std::path::Path;

use geo::Coord;
use osmpbf::{BlobDecode, BlobReader, PrimitiveBlock, RelMemberType};
use rayon::prelude::*;

use super::layers;
use super::tags::Tags;
use super::walk;
use crate::ingest::IngestError;

/// A kept way.
#[derive(Debug)]
pub struct Way {
    pub id: i64,
    pub nodes: Vec<i64>,
    pub tags: Tags,
}

/// A kept relation: a multipolygon or an administrative boundary with its member ways.
#[derive(Debug)]
pub struct Relation {
    pub id: i64,
    pub tags: Tags,
    pub ways: Vec<i64>,
}

/// A tagged node the map shows (a place) or an address.
#[derive(Debug)]
pub struct Point {
    pub id: i64,
    pub tags: Tags,
    pub coord: Coord,
}

/// Node positions by id: ids sorted, positions in 1e-7 degrees beside them.
pub struct Positions {
    ids: Vec<i64>,
    at: Vec<[i32; 2]>,
}

/// Not a position: a node the extract lacks (ways cut at the extract's edge).
const MISSING: [i32; 2] = [i32::MIN, i32::MIN];

impl Positions {
    pub fn get(&self, id: i64) -> Option<Coord> {
        let i = self.ids.binary_search(&id).ok()?;
        let [lon, lat] = self.at[i];
        (self.at[i] != MISSING).then(|| Coord {
            x: f64::from(lon) * 1e-7,
            y: f64::from(lat) * 1e-7,
        })
    }

    /// The positions of all `nodes`, or `None` when one is missing.
    pub fn line(&self, nodes: &[i64]) -> Option<Vec<Coord>> {
        nodes.iter().map(|&n| self.get(n)).collect()
    }
}

/// What the three passes keep.
pub struct Extract {
    pub relations: Vec<Relation>,
    pub ways: Vec<Way>,
    pub points: Vec<Point>,
    pub positions: Positions,
    /// Elements of each kind read (nodes, ways, relations).
    pub read: [u64; 3],
}

/// Nodes per way above this are not a real way (OSM allows 2,000).
const MAX_WAY_NODES: usize = 100_000;
/// Member ways per relation above this are not kept (the largest real boundaries have a few
/// thousand).
const MAX_MEMBERS: usize = 100_000;

/// Reads `path`.
pub fn read(path: &Path) -> Result<Extract, IngestError> {
    // Overflowing deltas in a damaged file must not take the process down.
    std::panic::catch_unwind(|| read_passes(path)).unwrap_or_else(|_| {
        Err(IngestError::Parse {
            message: format!(
                "{}: a damaged OSM PBF block (its values overflow)",
                path.display()
            ),
        })
    })
}

fn read_passes(path: &Path) -> Result<Extract, IngestError> {
    let relations: Vec<(u64, Vec<Relation>)> = each_block(path, |block| {
        let mut read = 0;
        let mut kept = Vec::new();
        for group in block.groups() {
            for r in group.relations() {
                read += 1;
                let tags = Tags::keep(r.tags());
                if layers::for_relation(&tags).is_empty() {
                    continue;
                }
                let ways: Vec<i64> = r
                    .members()
                    .filter(|m| m.member_type == RelMemberType::Way)
                    .map(|m| m.member_id)
                    .take(MAX_MEMBERS + 1)
                    .collect();
                if ways.len() <= MAX_MEMBERS {
                    kept.push(Relation {
                        id: r.id(),
                        tags,
                        ways,
                    });
                }
            }
        }
        (read, kept)
    })?;
    let relations_read = relations.iter().map(|(n, _)| n).sum();
    // Blocks come back in any order: sorted by id, the feature ids are the same on every load.
    let mut relations: Vec<Relation> = relations.into_iter().flat_map(|(_, r)| r).collect();
    relations.sort_unstable_by_key(|r| r.id);
    let mut members: Vec<i64> = relations
        .iter()
        .flat_map(|r| r.ways.iter().copied())
        .collect();
    members.sort_unstable();
    members.dedup();

    let ways: Vec<(u64, Vec<Way>)> = each_block(path, |block| {
        let mut read = 0;
        let mut kept = Vec::new();
        for group in block.groups() {
            for w in group.ways() {
                read += 1;
                // Raw refs are delta-coded: their count is the nodes', their values are not.
                let count = w.raw_refs().len();
                if !(2..=MAX_WAY_NODES).contains(&count) {
                    continue;
                }
                let tags = Tags::keep(w.tags());
                let member = members.binary_search(&w.id()).is_ok();
                let nodes: Vec<i64> = w.refs().collect();
                let closed = nodes.first() == nodes.last();
                let wanted = member
                    || !layers::for_way(&tags, closed).is_empty()
                    || layers::address(&tags).is_some()
                    || walk::walkable(&tags);
                if wanted {
                    kept.push(Way {
                        id: w.id(),
                        nodes,
                        tags,
                    });
                }
            }
        }
        (read, kept)
    })?;
    let ways_read = ways.iter().map(|(n, _)| n).sum();
    let mut ways: Vec<Way> = ways.into_iter().flat_map(|(_, w)| w).collect();
    ways.sort_unstable_by_key(|w| w.id);
    let mut ids: Vec<i64> = ways.iter().flat_map(|w| w.nodes.iter().copied()).collect();
    ids.par_sort_unstable();
    ids.dedup();

    type Found = (u64, Vec<(usize, [i32; 2])>, Vec<Point>);
    let nodes: Vec<Found> = each_block(path, |block| {
        let mut read = 0;
        let mut found = Vec::new();
        let mut points = Vec::new();
        let mut visit = |id: i64, lon: i32, lat: i32, tags: Tags| {
            read += 1;
            if let Ok(i) = ids.binary_search(&id) {
                found.push((i, [lon, lat]));
            }
            if !tags.is_empty()
                && (layers::for_node(&tags).is_some() || layers::address(&tags).is_some())
            {
                let coord = Coord {
                    x: f64::from(lon) * 1e-7,
                    y: f64::from(lat) * 1e-7,
                };
                points.push(Point { id, tags, coord });
            }
        };
        for group in block.groups() {
            for n in group.dense_nodes() {
                visit(
                    n.id(),
                    n.decimicro_lon(),
                    n.decimicro_lat(),
                    Tags::keep(n.tags()),
                );
            }
            for n in group.nodes() {
                visit(
                    n.id(),
                    n.decimicro_lon(),
                    n.decimicro_lat(),
                    Tags::keep(n.tags()),
                );
            }
        }
        (read, found, points)
    })?;
    let mut at = vec![MISSING; ids.len()];
    let mut points = Vec::new();
    let mut nodes_read = 0;
    for (read, found, mut p) in nodes {
        nodes_read += read;
        for (i, position) in found {
            at[i] = position;
        }
        points.append(&mut p);
    }
    points.sort_unstable_by_key(|p| p.id);
    Ok(Extract {
        relations,
        ways,
        points,
        positions: Positions { ids, at },
        read: [nodes_read, ways_read, relations_read],
    })
}

/// Decodes every data block of the file on all cores and maps it with `f`.
fn each_block<T: Send>(
    path: &Path,
    f: impl Fn(&PrimitiveBlock) -> T + Sync + Send,
) -> Result<Vec<T>, IngestError> {
    let bad = |e: osmpbf::Error| IngestError::Parse {
        message: format!("{}: not a readable OSM PBF file: {e}", path.display()),
    };
    let reader = BlobReader::from_path(path).map_err(bad)?;
    reader
        .par_bridge()
        .filter_map(|blob| match blob {
            Err(e) => Some(Err(bad(e))),
            Ok(blob) => match blob.decode() {
                Ok(BlobDecode::OsmData(block)) => Some(Ok(f(&block))),
                Ok(BlobDecode::OsmHeader(_) | BlobDecode::Unknown(_)) => None,
                Err(e) => Some(Err(bad(e))),
            },
        })
        .collect()
}
