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
use super::overlay::{InBase, Overlay};
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

/// Reads `path`, through `overlay` (the change files applied since): an element the overlay
/// holds is read as the overlay has it, or not at all when deleted. Also says which of the
/// overlay's elements the file holds.
pub fn read(path: &Path, overlay: Option<&Overlay>) -> Result<(Extract, InBase), IngestError> {
    let empty = Overlay::default();
    let overlay = overlay.unwrap_or(&empty);
    // Overflowing deltas in a damaged file must not take the process down.
    std::panic::catch_unwind(|| read_passes(path, overlay)).unwrap_or_else(|_| {
        Err(IngestError::Parse {
            message: format!(
                "{}: a damaged OSM PBF block (its values overflow)",
                path.display()
            ),
        })
    })
}

/// A relation the basemap draws, or `None`.
fn kept_relation(id: i64, tags: Tags, ways: Vec<i64>) -> Option<Relation> {
    (!layers::for_relation(&tags).is_empty() && ways.len() <= MAX_MEMBERS).then_some(Relation {
        id,
        tags,
        ways,
    })
}

/// A way the map, the addresses or the walking network use, or `None`.
fn kept_way(id: i64, tags: Tags, nodes: Vec<i64>, member: bool) -> Option<Way> {
    let closed = nodes.first() == nodes.last();
    let wanted = member
        || !layers::for_way(&tags, closed).is_empty()
        || layers::address(&tags).is_some()
        || walk::walkable(&tags);
    wanted.then_some(Way { id, nodes, tags })
}

/// A tagged node the map shows, or `None`.
fn kept_point(id: i64, [lon, lat]: [i32; 2], tags: Tags) -> Option<Point> {
    (!tags.is_empty() && (layers::for_node(&tags).is_some() || layers::address(&tags).is_some()))
        .then(|| Point {
            id,
            tags,
            coord: Coord {
                x: f64::from(lon) * 1e-7,
                y: f64::from(lat) * 1e-7,
            },
        })
}

fn read_passes(path: &Path, overlay: &Overlay) -> Result<(Extract, InBase), IngestError> {
    let relations: Vec<(u64, Vec<Relation>, Vec<i64>)> = each_block(path, |block| {
        let mut read = 0;
        let mut kept = Vec::new();
        let mut changed = Vec::new();
        for group in block.groups() {
            for r in group.relations() {
                read += 1;
                if overlay.relations.contains_key(&r.id()) {
                    changed.push(r.id());
                    continue;
                }
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
                kept.extend(kept_relation(r.id(), tags, ways));
            }
        }
        (read, kept, changed)
    })?;
    let mut in_base = InBase::default();
    let relations_read = relations.iter().map(|(n, _, _)| n).sum();
    // Blocks come back in any order: sorted by id, the feature ids are the same on every load.
    let mut relations: Vec<Relation> = relations
        .into_iter()
        .flat_map(|(_, r, changed)| {
            in_base.relations.extend(changed);
            r
        })
        .collect();
    relations.extend(overlay.relations.iter().filter_map(|(id, r)| {
        let r = r.as_ref()?;
        kept_relation(*id, r.tags.clone(), r.ways.clone())
    }));
    relations.sort_unstable_by_key(|r| r.id);
    let mut members: Vec<i64> = relations
        .iter()
        .flat_map(|r| r.ways.iter().copied())
        .collect();
    members.sort_unstable();
    members.dedup();

    let ways: Vec<(u64, Vec<Way>, Vec<i64>)> = each_block(path, |block| {
        let mut read = 0;
        let mut kept = Vec::new();
        let mut changed = Vec::new();
        for group in block.groups() {
            for w in group.ways() {
                read += 1;
                if overlay.ways.contains_key(&w.id()) {
                    changed.push(w.id());
                    continue;
                }
                // Raw refs are delta-coded: their count is the nodes', their values are not.
                let count = w.raw_refs().len();
                if !(2..=MAX_WAY_NODES).contains(&count) {
                    continue;
                }
                let member = members.binary_search(&w.id()).is_ok();
                kept.extend(kept_way(
                    w.id(),
                    Tags::keep(w.tags()),
                    w.refs().collect(),
                    member,
                ));
            }
        }
        (read, kept, changed)
    })?;
    let ways_read = ways.iter().map(|(n, _, _)| n).sum();
    let mut ways: Vec<Way> = ways
        .into_iter()
        .flat_map(|(_, w, changed)| {
            in_base.ways.extend(changed);
            w
        })
        .collect();
    ways.extend(overlay.ways.iter().filter_map(|(id, w)| {
        let w = w
            .as_ref()
            .filter(|w| (2..=MAX_WAY_NODES).contains(&w.nodes.len()))?;
        let member = members.binary_search(id).is_ok();
        kept_way(*id, w.tags.clone(), w.nodes.clone(), member)
    }));
    ways.sort_unstable_by_key(|w| w.id);
    let mut ids: Vec<i64> = ways.iter().flat_map(|w| w.nodes.iter().copied()).collect();
    ids.par_sort_unstable();
    ids.dedup();

    // The unchanged nodes the overlay's ways use: whether the extract holds them decides
    // whether those ways concern it (see `Overlay::retain_relevant`).
    let mut overlay_refs: Vec<i64> = overlay
        .ways
        .values()
        .flatten()
        .flat_map(|w| w.nodes.iter().copied())
        .filter(|n| !overlay.nodes.contains_key(n))
        .collect();
    overlay_refs.sort_unstable();
    overlay_refs.dedup();
    type Found = (u64, Vec<(usize, [i32; 2])>, Vec<Point>, Vec<i64>, Vec<i64>);
    let nodes: Vec<Found> = each_block(path, |block| {
        let mut read = 0;
        let mut found = Vec::new();
        let mut points = Vec::new();
        let mut changed = Vec::new();
        let mut referenced = Vec::new();
        let mut visit = |id: i64, lon: i32, lat: i32, tags: &dyn Fn() -> Tags| {
            read += 1;
            if overlay.nodes.contains_key(&id) {
                changed.push(id);
                return;
            }
            if overlay_refs.binary_search(&id).is_ok() {
                referenced.push(id);
            }
            if let Ok(i) = ids.binary_search(&id) {
                found.push((i, [lon, lat]));
            }
            points.extend(kept_point(id, [lon, lat], tags()));
        };
        for group in block.groups() {
            for n in group.dense_nodes() {
                visit(n.id(), n.decimicro_lon(), n.decimicro_lat(), &|| {
                    Tags::keep(n.tags())
                });
            }
            for n in group.nodes() {
                visit(n.id(), n.decimicro_lon(), n.decimicro_lat(), &|| {
                    Tags::keep(n.tags())
                });
            }
        }
        (read, found, points, changed, referenced)
    })?;
    let mut at = vec![MISSING; ids.len()];
    let mut points = Vec::new();
    let mut nodes_read = 0;
    for (read, found, mut p, changed, referenced) in nodes {
        nodes_read += read;
        for (i, position) in found {
            at[i] = position;
        }
        points.append(&mut p);
        in_base.nodes.extend(changed);
        in_base.way_nodes.extend(referenced);
    }
    for (id, n) in &overlay.nodes {
        let Some(n) = n else { continue };
        if let Ok(i) = ids.binary_search(id) {
            at[i] = n.at;
        }
        points.extend(kept_point(*id, n.at, n.tags.clone()));
    }
    points.sort_unstable_by_key(|p| p.id);
    for list in [
        &mut in_base.nodes,
        &mut in_base.ways,
        &mut in_base.relations,
    ] {
        list.sort_unstable();
    }
    Ok((
        Extract {
            relations,
            ways,
            points,
            positions: Positions { ids, at },
            read: [nodes_read, ways_read, relations_read],
        },
        in_base,
    ))
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
