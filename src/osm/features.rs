//! Turns what the PBF passes kept into rows: the basemap and address features of the version
//! table, and the edges of the walking network.

use std::collections::BTreeMap;

use geo::{ChamberlainDuquetteArea, Coord, Geometry, InteriorPoint, LineString, Point, Polygon};

use super::layers::{self, Address, Layer, Mapping};
use super::pbf::{Extract, Positions};
use super::rings::{self, Assembled, Member};
use super::tags::Tags;
use super::walk::{self, Edge, NodeUse};
use crate::ingest::IngestError;

/// One feature of the version table.
#[derive(Debug)]
pub struct Row<'a> {
    pub layer: Layer,
    pub class: &'a str,
    pub subclass: Option<&'a str>,
    pub tags: &'a Tags,
    pub address: Option<&'a Address>,
    pub osm_type: &'static str,
    pub osm_id: i64,
    /// Of areas, in m² on the ellipsoid: the basemap leaves small ones out at low zooms.
    pub area_m2: Option<f64>,
    pub geometry: Geometry,
}

/// What the extract gave, for the ingest report.
#[derive(Debug, Default, serde::Serialize)]
pub struct Counts {
    /// Features per layer.
    pub layers: BTreeMap<&'static str, u64>,
    /// Edges of the walking network.
    pub walk_edges: u64,
    /// Multipolygons and boundaries whose member ways do not close into rings (usually cut by
    /// the extract's edge); left out.
    pub open_relations: u64,
    /// Ways with nodes the extract lacks; drawn as far as their nodes go.
    pub cut_ways: u64,
}

/// Calls `row` for every feature and returns the walking network's edges.
pub fn emit(
    extract: &Extract,
    mut row: impl FnMut(Row<'_>) -> Result<(), IngestError>,
) -> Result<(Vec<Edge>, Counts), IngestError> {
    let mut counts = Counts::default();
    let count = |counts: &mut Counts, layer: Layer| {
        *counts.layers.entry(layer.as_str()).or_default() += 1;
    };
    for p in &extract.points {
        let geometry = Geometry::Point(Point(p.coord));
        if let Some(m) = layers::for_node(&p.tags) {
            count(&mut counts, m.layer);
            row(mapped(&m, &p.tags, "node", p.id, None, geometry.clone()))?;
        }
        if let Some(a) = layers::address(&p.tags) {
            count(&mut counts, Layer::Address);
            row(address_row(&a, &p.tags, "node", p.id, geometry))?;
        }
    }

    let mut uses = NodeUse::default();
    for w in extract.ways.iter().filter(|w| walk::walkable(&w.tags)) {
        uses.add_way(&w.nodes);
    }
    let mut edges = Vec::new();
    for w in &extract.ways {
        let runs = present_runs(&extract.positions, &w.nodes);
        let whole = runs.len() == 1 && runs[0].0.len() == w.nodes.len();
        if !whole {
            counts.cut_ways += 1;
        }
        if walk::walkable(&w.tags) {
            for (nodes, coords) in &runs {
                edges.extend(walk::split(w.id, &w.tags, nodes, coords, &uses));
            }
        }
        let closed = w.nodes.first() == w.nodes.last();
        let mappings = layers::for_way(&w.tags, closed);
        let address = layers::address(&w.tags);
        if mappings.is_empty() && address.is_none() {
            continue;
        }
        let area = (whole && closed && w.nodes.len() >= 4)
            .then(|| Polygon::new(LineString::new(runs[0].1.clone()), Vec::new()));
        for m in &mappings {
            let geometry = match (&area, m.area) {
                (Some(polygon), true) => Geometry::Polygon(polygon.clone()),
                (None, true) => continue,
                (_, false) => match lines(&runs) {
                    Some(g) => g,
                    None => continue,
                },
            };
            count(&mut counts, m.layer);
            let area_m2 = m.area.then(|| geometry_area(&geometry));
            row(mapped(m, &w.tags, "way", w.id, area_m2, geometry))?;
        }
        if let (Some(a), Some(point)) = (address, label_point(area.as_ref(), &runs)) {
            count(&mut counts, Layer::Address);
            row(address_row(
                &a,
                &w.tags,
                "way",
                w.id,
                Geometry::Point(point),
            ))?;
        }
    }
    counts.walk_edges = edges.len() as u64;

    let by_id: BTreeMap<i64, &super::pbf::Way> = extract.ways.iter().map(|w| (w.id, w)).collect();
    for r in &extract.relations {
        let members: Option<Vec<Member<'_>>> = r
            .ways
            .iter()
            .map(|id| {
                let w = by_id.get(id)?;
                Some(Member {
                    nodes: &w.nodes,
                    coords: extract.positions.line(&w.nodes)?,
                })
            })
            .collect();
        let assembled = match members {
            Some(members) => rings::assemble(&members),
            None => Assembled::Open,
        };
        let Assembled::Polygons(polygons) = assembled else {
            counts.open_relations += 1;
            continue;
        };
        if polygons.0.is_empty() {
            counts.open_relations += 1;
            continue;
        }
        let area_m2 = polygons.chamberlain_duquette_unsigned_area();
        for m in layers::for_relation(&r.tags) {
            count(&mut counts, m.layer);
            let geometry = Geometry::MultiPolygon(polygons.clone());
            row(mapped(
                &m,
                &r.tags,
                "relation",
                r.id,
                Some(area_m2),
                geometry,
            ))?;
        }
        if let Some(a) = layers::address(&r.tags) {
            if let Some(point) = polygons.interior_point() {
                count(&mut counts, Layer::Address);
                row(address_row(
                    &a,
                    &r.tags,
                    "relation",
                    r.id,
                    Geometry::Point(point),
                ))?;
            }
        }
    }
    Ok((edges, counts))
}

fn mapped<'a>(
    m: &'a Mapping,
    tags: &'a Tags,
    osm_type: &'static str,
    osm_id: i64,
    area_m2: Option<f64>,
    geometry: Geometry,
) -> Row<'a> {
    Row {
        layer: m.layer,
        class: &m.class,
        subclass: m.subclass.as_deref(),
        tags,
        address: None,
        osm_type,
        osm_id,
        area_m2,
        geometry,
    }
}

fn address_row<'a>(
    a: &'a Address,
    tags: &'a Tags,
    osm_type: &'static str,
    osm_id: i64,
    geometry: Geometry,
) -> Row<'a> {
    Row {
        layer: Layer::Address,
        class: if tags.get("entrance").is_some() {
            "entrance"
        } else if tags.get("building").is_some() {
            "building"
        } else {
            "point"
        },
        subclass: None,
        tags,
        address: Some(a),
        osm_type,
        osm_id,
        area_m2: None,
        geometry,
    }
}

type Run = (Vec<i64>, Vec<Coord>);

/// The stretches of a way whose nodes the extract holds (all of it, for a way inside).
fn present_runs(positions: &Positions, nodes: &[i64]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut current: Run = (Vec::new(), Vec::new());
    for &n in nodes {
        match positions.get(n) {
            Some(c) => {
                current.0.push(n);
                current.1.push(c);
            }
            None => {
                if current.0.len() >= 2 {
                    runs.push(std::mem::take(&mut current));
                } else {
                    current = (Vec::new(), Vec::new());
                }
            }
        }
    }
    if current.0.len() >= 2 {
        runs.push(current);
    }
    runs
}

fn lines(runs: &[Run]) -> Option<Geometry> {
    match runs {
        [] => None,
        [one] => Some(Geometry::LineString(LineString::new(one.1.clone()))),
        many => Some(Geometry::MultiLineString(geo::MultiLineString::new(
            many.iter().map(|r| LineString::new(r.1.clone())).collect(),
        ))),
    }
}

fn geometry_area(g: &Geometry) -> f64 {
    match g {
        Geometry::Polygon(p) => p.chamberlain_duquette_unsigned_area(),
        Geometry::MultiPolygon(p) => p.chamberlain_duquette_unsigned_area(),
        _ => 0.0,
    }
}

/// Where the address of a way goes: inside its area, or on its line.
fn label_point(area: Option<&Polygon>, runs: &[Run]) -> Option<Point> {
    match area {
        Some(p) => p.interior_point(),
        None => runs
            .first()
            .map(|r| LineString::new(r.1.clone()))
            .and_then(|l| l.interior_point()),
    }
}
