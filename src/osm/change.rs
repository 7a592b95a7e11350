//! OsmChange files (`.osc`, `.osc.gz`: the format of OpenStreetMap's minutely, hourly and daily
//! diffs) applied to a dataset of OpenStreetMap features — an AED register read from an extract
//! or an Overpass query, whose features carry `osm_type` and `osm_id` — as a new version,
//! without reading the extract again.
//!
//! The rule, element by element in file order (a later change of the same element wins):
//! - `delete` removes the feature;
//! - `modify` replaces its position and tags; a feature whose tags no longer carry the
//!   dataset's defining tags leaves the dataset;
//! - `create` (or `modify` of an element not in the dataset) adds it when its tags carry the
//!   defining tags: `emergency=defibrillator` for an AED register; for other datasets the
//!   `key=value` pairs of OSM's primary keys (`amenity`, `emergency`, `shop`, `healthcare` …)
//!   that every feature of the dataset has in common.
//!
//! Nodes only: ways and relations need the geometry of nodes a diff does not hold, and are
//! counted as left out. The OSM extract itself (`--kind osm`) takes every element: it is read
//! again through the changes ([`crate::osm::overlay`]).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use sqlx::PgPool;

use crate::catalog::{self, DatasetKind};
use crate::error::Result;
use crate::ingest::{IngestError, IngestReport, IngestRequest, Progress};

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Modify,
    Delete,
}

/// A changed node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeChange {
    pub action: Action,
    pub id: i64,
    /// `None` for a delete (diffs may leave the position out).
    pub lon_lat: Option<(f64, f64)>,
    pub tags: BTreeMap<String, String>,
}

/// A changed way: its node list and tags (a `create` or `modify` holds the whole way).
#[derive(Debug, Clone, PartialEq)]
pub struct WayChange {
    pub action: Action,
    pub id: i64,
    pub nodes: Vec<i64>,
    pub tags: BTreeMap<String, String>,
}

/// A changed relation: its member ways (the only members the basemap reads) and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationChange {
    pub action: Action,
    pub id: i64,
    pub ways: Vec<i64>,
    pub tags: BTreeMap<String, String>,
}

/// An OsmChange file, read.
#[derive(Debug, Default)]
pub struct Changes {
    pub nodes: Vec<NodeChange>,
    pub ways: Vec<WayChange>,
    pub relations: Vec<RelationChange>,
}

impl Changes {
    /// Ways and relations, which a node register cannot take.
    pub fn other_elements(&self) -> u64 {
        (self.ways.len() + self.relations.len()) as u64
    }
}

/// The element whose children (`tag`, `nd`, `member`) are being read.
enum Open {
    None,
    Node(NodeChange),
    Way(WayChange),
    Relation(RelationChange),
}

impl Open {
    fn tags(&mut self) -> Option<(i64, &mut BTreeMap<String, String>)> {
        match self {
            Open::None => None,
            Open::Node(n) => Some((n.id, &mut n.tags)),
            Open::Way(w) => Some((w.id, &mut w.tags)),
            Open::Relation(r) => Some((r.id, &mut r.tags)),
        }
    }

    fn close(self, changes: &mut Changes) {
        match self {
            Open::None => {}
            Open::Node(n) => changes.nodes.push(n),
            Open::Way(w) => changes.ways.push(w),
            Open::Relation(r) => changes.relations.push(r),
        }
    }
}

/// Decompressed bytes an `.osc.gz` may grow to (a day's planet diff is about 1 GiB).
const MAX_DECOMPRESSED: u64 = 4 << 30;
/// Tags one element may have.
const MAX_TAGS: usize = 10_000;
/// Nodes of one way and members of one relation (OSM allows 2,000 nodes per way; the largest
/// real relations have tens of thousands of members).
const MAX_REFS: usize = 100_000;

/// Whether the file is an OsmChange document, plain or gzipped (by what it holds, not its
/// name: an upload keeps only the last extension).
pub fn is_osm_change(path: &Path, head: &[u8]) -> bool {
    if head.starts_with(&[0x1f, 0x8b]) {
        let Ok(file) = std::fs::File::open(path) else {
            return false;
        };
        let mut inflated = Vec::with_capacity(4096);
        let read = flate2::read::MultiGzDecoder::new(file)
            .take(4096)
            .read_to_end(&mut inflated);
        return read.is_ok() && String::from_utf8_lossy(&inflated).contains("<osmChange");
    }
    String::from_utf8_lossy(head).contains("<osmChange")
}

/// Reads an OsmChange file. XML without a DOCTYPE (no entities), gzip bounded.
pub fn read(path: &Path) -> std::result::Result<Changes, IngestError> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut head = [0u8; 2];
    let gz = (&file)
        .read(&mut head)
        .map_err(|e| IngestError::io(path, e))?
        == 2
        && head == [0x1f, 0x8b];
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let reader: Box<dyn BufRead> = if gz {
        Box::new(BufReader::new(Bounded {
            inner: flate2::read::MultiGzDecoder::new(file),
            left: MAX_DECOMPRESSED,
        }))
    } else {
        Box::new(BufReader::new(file))
    };
    parse(reader).map_err(|message| IngestError::Parse {
        message: format!("{}: {message}", path.display()),
    })
}

/// Errors once more than `left` bytes were read: a gzip bomb ends here.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::other(format!(
                "decompresses to more than {} GiB",
                MAX_DECOMPRESSED >> 30
            ))
        })?;
        Ok(n)
    }
}

pub(crate) fn parse(input: impl BufRead) -> std::result::Result<Changes, String> {
    let mut reader = quick_xml::Reader::from_reader(input);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut changes = Changes::default();
    let mut action: Option<Action> = None;
    let mut open = Open::None;
    let mut root = false;
    let decoder = reader.decoder();
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("byte {at}: {e}"))?;
        let (e, empty) = match event {
            Event::DocType(_) => {
                return Err(format!(
                    "byte {at}: a DOCTYPE is not accepted (DTDs and entities are refused)"
                ))
            }
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                match e.local_name().as_ref() {
                    b"node" | b"way" | b"relation" => {
                        std::mem::replace(&mut open, Open::None).close(&mut changes);
                    }
                    b"create" | b"modify" | b"delete" => action = None,
                    _ => {}
                }
                buf.clear();
                continue;
            }
            Event::Eof => break,
            _ => {
                buf.clear();
                continue;
            }
        };
        if !root {
            if e.local_name().as_ref() != b"osmChange" {
                return Err(format!(
                    "byte {at}: <{}> where an OsmChange document starts with <osmChange>",
                    String::from_utf8_lossy(e.name().as_ref())
                ));
            }
            root = true;
            buf.clear();
            continue;
        }
        match e.local_name().as_ref() {
            b"create" if !empty => action = Some(Action::Create),
            b"modify" if !empty => action = Some(Action::Modify),
            b"delete" if !empty => action = Some(Action::Delete),
            b"node" => open = Open::Node(start_node(&e, decoder, action, at)?),
            b"way" | b"relation" => {
                let (action, id) = start_element(&e, decoder, action, at)?;
                open = if e.local_name().as_ref() == b"way" {
                    Open::Way(WayChange {
                        action,
                        id,
                        nodes: Vec::new(),
                        tags: BTreeMap::new(),
                    })
                } else {
                    Open::Relation(RelationChange {
                        action,
                        id,
                        ways: Vec::new(),
                        tags: BTreeMap::new(),
                    })
                };
            }
            b"tag" => tag(&e, decoder, &mut open, at)?,
            b"nd" => {
                if let Open::Way(w) = &mut open {
                    let a = attrs(&e, decoder, at)?;
                    let node = a
                        .get("ref")
                        .and_then(|s| s.parse::<i64>().ok())
                        .ok_or_else(|| {
                            format!("byte {at}: way {}: an <nd> without a numeric ref", w.id)
                        })?;
                    if w.nodes.len() >= MAX_REFS {
                        return Err(format!(
                            "byte {at}: way {} has more than {MAX_REFS} nodes",
                            w.id
                        ));
                    }
                    w.nodes.push(node);
                }
            }
            b"member" => {
                if let Open::Relation(r) = &mut open {
                    let a = attrs(&e, decoder, at)?;
                    let member = a
                        .get("ref")
                        .and_then(|s| s.parse::<i64>().ok())
                        .ok_or_else(|| {
                            format!(
                                "byte {at}: relation {}: a <member> without a numeric ref",
                                r.id
                            )
                        })?;
                    if a.get("type").map(String::as_str) == Some("way") {
                        if r.ways.len() >= MAX_REFS {
                            return Err(format!(
                                "byte {at}: relation {} has more than {MAX_REFS} members",
                                r.id
                            ));
                        }
                        r.ways.push(member);
                    }
                }
            }
            _ => {}
        }
        if empty && matches!(e.local_name().as_ref(), b"node" | b"way" | b"relation") {
            std::mem::replace(&mut open, Open::None).close(&mut changes);
        }
        buf.clear();
    }
    if !root {
        return Err("no <osmChange> element".into());
    }
    Ok(changes)
}

fn attrs(
    e: &BytesStart<'_>,
    decoder: Decoder,
    at: u64,
) -> std::result::Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("byte {at}: {err}"))?;
        let value = a
            .decode_and_unescape_value(decoder)
            .map_err(|err| format!("byte {at}: {err}"))?;
        out.insert(
            String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
            value.into_owned(),
        );
    }
    Ok(out)
}

/// The action and id of a `<node>`, `<way>` or `<relation>`.
fn start_element(
    e: &BytesStart<'_>,
    decoder: Decoder,
    action: Option<Action>,
    at: u64,
) -> std::result::Result<(Action, i64), String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let Some(action) = action else {
        return Err(format!(
            "byte {at}: a <{name}> outside <create>, <modify> or <delete>"
        ));
    };
    let id = attrs(e, decoder, at)?
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("byte {at}: a <{name}> without a numeric id"))?;
    Ok((action, id))
}

fn start_node(
    e: &BytesStart<'_>,
    decoder: Decoder,
    action: Option<Action>,
    at: u64,
) -> std::result::Result<NodeChange, String> {
    let (action, id) = start_element(e, decoder, action, at)?;
    let a = attrs(e, decoder, at)?;
    let coordinate = |k: &str, limit: f64| -> std::result::Result<Option<f64>, String> {
        match a.get(k) {
            None => Ok(None),
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && v.abs() <= limit)
                .map(Some)
                .ok_or_else(|| format!("byte {at}: node {id}: {k}=\"{s}\" is not a {k}")),
        }
    };
    let lon_lat = match (coordinate("lon", 180.0)?, coordinate("lat", 90.0)?) {
        (Some(lon), Some(lat)) => Some((lon, lat)),
        (None, None) if action == Action::Delete => None,
        _ => {
            return Err(format!(
                "byte {at}: node {id} is created or modified without lat and lon"
            ))
        }
    };
    Ok(NodeChange {
        action,
        id,
        lon_lat,
        tags: BTreeMap::new(),
    })
}

fn tag(
    e: &BytesStart<'_>,
    decoder: Decoder,
    open: &mut Open,
    at: u64,
) -> std::result::Result<(), String> {
    let Some((id, tags)) = open.tags() else {
        return Ok(()); // Outside an element: nothing to tag.
    };
    if tags.len() >= MAX_TAGS {
        return Err(format!(
            "byte {at}: element {id} has more than {MAX_TAGS} tags"
        ));
    }
    let a = attrs(e, decoder, at)?;
    match (a.get("k"), a.get("v")) {
        (Some(k), Some(v)) => {
            tags.insert(k.clone(), v.clone());
            Ok(())
        }
        _ => Err(format!("byte {at}: a <tag> without k or v")),
    }
}

/// What applying a change file did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Applied {
    pub created: u64,
    pub modified: u64,
    pub deleted: u64,
    /// Nodes changed that are not (and do not become) features of the dataset.
    pub not_in_dataset: u64,
    /// Ways and relations, left out.
    pub other_elements: u64,
    /// The `key=value` pairs a node must carry to join.
    pub defining_tags: BTreeMap<String, String>,
}

/// A feature of the dataset: GeoJSON geometry text and properties by served name.
pub type Feature = (String, Map<String, Json>);

/// Applies `changes` to `features` (keyed by `osm_type`/`osm_id`), given the properties' served
/// names by OSM tag key or by SQL column name (`defibrillator:location` and
/// `defibrillator_location` → `defibrillator_location`; `emergency_phone` → `emergency:phone`).
pub fn apply<S: std::hash::BuildHasher>(
    features: Vec<Feature>,
    changes: &Changes,
    kind: DatasetKind,
    served: &HashMap<String, String, S>,
) -> std::result::Result<(Vec<Feature>, Applied), String> {
    let key = |p: &Map<String, Json>| -> Option<(String, i64)> {
        Some((
            p.get("osm_type")?.as_str()?.to_string(),
            p.get("osm_id")?.as_i64()?,
        ))
    };
    let mut order: Vec<(String, i64)> = Vec::with_capacity(features.len());
    let mut by_key: HashMap<(String, i64), Feature> = HashMap::with_capacity(features.len());
    for f in features {
        let k = key(&f.1).ok_or(
            "its features have no osm_type and osm_id: only a dataset of OpenStreetMap \
             features (an extract's or an Overpass answer's) takes OsmChange files",
        )?;
        order.push(k.clone());
        by_key.insert(k, f);
    }
    let defining = defining_tags(by_key.values().map(|f| &f.1), kind);
    let name_for = |tag: &str| -> String {
        served
            .get(tag)
            .or_else(|| served.get(&crate::ingest::schema::sanitize(tag)))
            .cloned()
            .unwrap_or_else(|| tag.to_string())
    };
    let joins =
        |tags: &BTreeMap<String, String>| defining.iter().all(|(k, v)| tags.get(k) == Some(v));
    let mut applied = Applied {
        other_elements: changes.other_elements(),
        defining_tags: defining.clone(),
        ..Applied::default()
    };
    for change in &changes.nodes {
        let k = ("node".to_string(), change.id);
        let present = by_key.contains_key(&k);
        match (change.action, change.lon_lat) {
            (Action::Delete, _) | (_, None) => {
                if by_key.remove(&k).is_some() {
                    applied.deleted += 1;
                } else {
                    applied.not_in_dataset += 1;
                }
            }
            (_, Some((lon, lat))) if joins(&change.tags) && !defining.is_empty() => {
                let mut props = Map::new();
                props.insert("osm_type".into(), Json::from("node"));
                props.insert("osm_id".into(), Json::from(change.id));
                for (tag, value) in &change.tags {
                    props.insert(name_for(tag), Json::from(value.as_str()));
                }
                let geometry =
                    serde_json::json!({"type": "Point", "coordinates": [lon, lat]}).to_string();
                if present {
                    applied.modified += 1;
                } else {
                    applied.created += 1;
                    order.push(k.clone());
                }
                by_key.insert(k, (geometry, props));
            }
            _ => {
                if by_key.remove(&k).is_some() {
                    // Its defining tags were taken away: no longer one of the dataset's.
                    applied.deleted += 1;
                } else {
                    applied.not_in_dataset += 1;
                }
            }
        }
    }
    let features = order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .collect();
    Ok((features, applied))
}

/// OSM's keys that say what a thing is (osm2pgsql's and the wiki's "primary features").
const PRIMARY_KEYS: &[&str] = &[
    "aerialway",
    "aeroway",
    "amenity",
    "barrier",
    "boundary",
    "building",
    "craft",
    "emergency",
    "geological",
    "healthcare",
    "highway",
    "historic",
    "landuse",
    "leisure",
    "man_made",
    "military",
    "natural",
    "office",
    "place",
    "power",
    "public_transport",
    "railway",
    "route",
    "shop",
    "sport",
    "telecom",
    "tourism",
    "water",
    "waterway",
];

/// What a node must carry to be one of the dataset's: an AED's tag, or the primary `key=value`
/// pairs every feature carries (by OSM tag key).
fn defining_tags<'a>(
    features: impl Iterator<Item = &'a Map<String, Json>>,
    kind: DatasetKind,
) -> BTreeMap<String, String> {
    if kind == DatasetKind::Aed {
        return BTreeMap::from([("emergency".to_string(), "defibrillator".to_string())]);
    }
    let mut common: Option<BTreeMap<String, String>> = None;
    for p in features {
        let tags: BTreeMap<String, String> = p
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "osm_type" | "osm_id"))
            .filter_map(|(k, v)| {
                // Primary keys have no colon: served under their own name.
                let primary = PRIMARY_KEYS.contains(&k.as_str());
                v.as_str()
                    .filter(|_| primary)
                    .map(|s| (k.clone(), s.to_string()))
            })
            .collect();
        common = Some(match common {
            None => tags,
            Some(c) => c
                .into_iter()
                .filter(|(k, v)| tags.get(k) == Some(v))
                .collect(),
        });
    }
    common.unwrap_or_default()
}

/// Loads the dataset with `req.path` (an OsmChange file) applied as a new version.
pub async fn ingest(
    pool: &PgPool,
    req: &IngestRequest,
    progress: Arc<dyn Progress>,
) -> Result<IngestReport> {
    let path = req.path.clone();
    let changes = crate::ingest::blocking(move || read(&path)).await?;
    let Some(active) = catalog::repo::find_collection(pool, &req.dataset).await? else {
        return Err(IngestError::Profile(format!(
            "an OsmChange file updates a dataset; '{}' has no version yet (load an extract or \
             an Overpass answer first)",
            req.dataset
        ))
        .into());
    };
    if active.kind == DatasetKind::Osm {
        return Box::pin(crate::osm::apply_change(
            pool, req, &active, &changes, progress,
        ))
        .await;
    }
    let version = &active.version;
    // The OSM tag behind each served name, as the profile renamed it.
    let mut served: HashMap<String, String> = HashMap::new();
    for c in &version.columns {
        served.insert(c.name.clone(), c.original.clone());
        if let Some(source) = &c.source {
            served.insert(source.clone(), c.original.clone());
        }
    }
    let features = crate::osm::store::features_as_geojson(pool, version).await?;
    let kind = active.kind;
    let (features, applied) = apply(features, &changes, kind, &served)
        .map_err(|e| IngestError::Profile(format!("dataset '{}': {e}", req.dataset)))?;
    if applied.created + applied.modified + applied.deleted == 0 {
        let mut phases = crate::ingest::Phases::new(progress.clone());
        let started = std::time::Instant::now();
        let report = crate::ingest::unchanged(
            pool,
            &req.dataset,
            None,
            crate::ingest::detect::Format::OsmChange,
            started,
            &mut phases,
        )
        .await?;
        if let Some(mut report) = report {
            report.details = Some(serde_json::to_value(&applied).unwrap_or_default());
            return Ok(report);
        }
    }
    if features.is_empty() {
        return Err(IngestError::Profile(format!(
            "the change would leave dataset '{}' without features; nothing was changed",
            req.dataset
        ))
        .into());
    }
    let file = crate::ingest::blocking(move || {
        crate::ingest::scratch::feature_collection("osc", features)
            .map_err(|e| IngestError::io(Path::new("osc.geojson"), e))
    })
    .await?;
    tracing::info!(
        dataset = %req.dataset,
        created = applied.created,
        modified = applied.modified,
        deleted = applied.deleted,
        left_out = applied.other_elements,
        "applied an OsmChange file"
    );
    let next = IngestRequest {
        path: file.path().to_path_buf(),
        kind,
        crs: None,
        mappings: Vec::new(),
        read: Default::default(),
        ..req.clone()
    };
    let mut report = Box::pin(crate::ingest::load_version(pool, &next, progress)).await?;
    report.format = "OsmChange".into();
    report.details = Some(serde_json::to_value(&applied).unwrap_or_default());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSC: &str = r#"<?xml version="1.0"?>
<osmChange version="0.6">
  <modify>
    <node id="1" lat="47.0" lon="8.0"><tag k="emergency" v="defibrillator"/><tag k="defibrillator:location" v="Foyer"/></node>
    <node id="2" lat="47.1" lon="8.1"><tag k="amenity" v="bench"/></node>
  </modify>
  <create>
    <node id="9" lat="47.2" lon="8.2"><tag k="emergency" v="defibrillator"/></node>
    <node id="10" lat="47.3" lon="8.3"/>
    <way id="5"><nd ref="1"/><tag k="highway" v="footway"/></way>
  </create>
  <delete><node id="3"/></delete>
</osmChange>"#;

    fn feature(id: i64) -> Feature {
        let mut p = Map::new();
        p.insert("osm_type".into(), Json::from("node"));
        p.insert("osm_id".into(), Json::from(id));
        p.insert("emergency".into(), Json::from("defibrillator"));
        ("{}".into(), p)
    }

    #[test]
    fn nodes_are_created_modified_and_deleted_by_the_defining_tags() {
        let changes = parse(OSC.as_bytes()).unwrap();
        assert_eq!(changes.nodes.len(), 5);
        assert_eq!(changes.other_elements(), 1);
        assert_eq!(changes.ways[0].nodes, [1]);
        assert_eq!(changes.ways[0].tags["highway"], "footway");
        let served = HashMap::from([(
            "defibrillator:location".to_string(),
            "defibrillator_location".to_string(),
        )]);
        let (out, applied) = apply(
            vec![feature(1), feature(2), feature(3), feature(4)],
            &changes,
            DatasetKind::Aed,
            &served,
        )
        .unwrap();
        let ids: Vec<i64> = out
            .iter()
            .map(|f| f.1["osm_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [1, 4, 9]);
        assert_eq!(out[0].1["defibrillator_location"], "Foyer");
        assert!(out[0].0.contains("[8.0,47.0]"), "{}", out[0].0);
        assert_eq!(
            (
                applied.created,
                applied.modified,
                applied.deleted,
                applied.not_in_dataset
            ),
            (1, 1, 2, 1)
        );
        assert_eq!(applied.defining_tags["emergency"], "defibrillator");
    }

    #[test]
    fn other_datasets_are_defined_by_their_common_primary_tags() {
        let pharmacy = |id: i64, name: &str| -> Feature {
            let mut p = Map::new();
            p.insert("osm_type".into(), Json::from("node"));
            p.insert("osm_id".into(), Json::from(id));
            p.insert("amenity".into(), Json::from("pharmacy"));
            p.insert("name".into(), Json::from(name));
            ("{}".into(), p)
        };
        let osc = r#"<osmChange><create>
            <node id="7" lat="50" lon="7"><tag k="amenity" v="pharmacy"/><tag k="name" v="C"/></node>
            <node id="8" lat="50" lon="7"><tag k="amenity" v="bench"/></node>
        </create></osmChange>"#;
        let (out, applied) = apply(
            vec![pharmacy(1, "A"), pharmacy(2, "B")],
            &parse(osc.as_bytes()).unwrap(),
            DatasetKind::Generic,
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(
            applied.defining_tags,
            BTreeMap::from([("amenity".to_string(), "pharmacy".to_string())]),
            "names differ, so only the primary tag defines"
        );
        assert_eq!((applied.created, applied.not_in_dataset), (1, 1));
    }

    #[test]
    fn hostile_change_files_are_refused() {
        let doctype = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><osmChange/>"#;
        assert!(parse(doctype.as_bytes()).unwrap_err().contains("DOCTYPE"));
        assert!(parse(&b"<osm/>"[..]).unwrap_err().contains("osmChange"));
        let bad = r#"<osmChange><create><node id="1" lat="95" lon="8"/></create></osmChange>"#;
        assert!(parse(bad.as_bytes()).unwrap_err().contains("lat"));
        let entity = r#"<osmChange><create><node id="1" lat="1" lon="8"><tag k="a" v="&x;"/></node></create></osmChange>"#;
        assert!(parse(entity.as_bytes()).is_err());
    }
}
