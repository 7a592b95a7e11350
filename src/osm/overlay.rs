//! The OsmChange files applied to an OSM extract since it was loaded, folded into one overlay:
//! the latest state of every element they touched (or that it was deleted). A version of an
//! extract is its PBF file (kept as it was loaded) read through its overlay, the way
//! `osmium apply-changes` reads a file through diffs, so a diff's ways find the positions of the
//! nodes it does not hold in the extract.
//!
//! The overlay is stored as an OsmChange document of its own (gzipped), written and read back
//! by this module: one format for what comes in and what is kept.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::change::{Action, Changes};
use super::tags::Tags;

/// A node's latest state: its position in 1e-7 degrees (as a PBF holds it) and its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub at: [i32; 2],
    pub tags: Tags,
}

/// A way's latest state.
#[derive(Debug, Clone, PartialEq)]
pub struct Way {
    pub nodes: Vec<i64>,
    pub tags: Tags,
}

/// A relation's latest state (its member ways).
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub ways: Vec<i64>,
    pub tags: Tags,
}

/// The latest state of each changed element by id; `None` when it was deleted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    pub nodes: BTreeMap<i64, Option<Node>>,
    pub ways: BTreeMap<i64, Option<Way>>,
    pub relations: BTreeMap<i64, Option<Relation>>,
}

/// What the extract holds of the overlay's elements (found while reading it).
#[derive(Debug, Default)]
pub struct InBase {
    pub nodes: Vec<i64>,
    pub ways: Vec<i64>,
    pub relations: Vec<i64>,
    /// Nodes the overlay's ways use that the extract holds (unchanged), sorted.
    pub way_nodes: Vec<i64>,
}

fn decimicro(degrees: f64) -> i32 {
    // Within ±180° the product fits an i32 (as in every PBF).
    (degrees * 1e7).round() as i32
}

fn tags(map: &BTreeMap<String, String>) -> Tags {
    Tags::keep(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.ways.is_empty() && self.relations.is_empty()
    }

    /// Elements in the overlay (changed or deleted).
    pub fn len(&self) -> usize {
        self.nodes.len() + self.ways.len() + self.relations.len()
    }

    /// Folds `changes` in, element by element in file order: a later state wins.
    pub fn apply(&mut self, changes: &Changes) {
        for n in &changes.nodes {
            let state = match (n.action, n.lon_lat) {
                (Action::Delete, _) | (_, None) => None,
                (_, Some((lon, lat))) => Some(Node {
                    at: [decimicro(lon), decimicro(lat)],
                    tags: tags(&n.tags),
                }),
            };
            self.nodes.insert(n.id, state);
        }
        for w in &changes.ways {
            let state = (w.action != Action::Delete).then(|| Way {
                nodes: w.nodes.clone(),
                tags: tags(&w.tags),
            });
            self.ways.insert(w.id, state);
        }
        for r in &changes.relations {
            let state = (r.action != Action::Delete).then(|| Relation {
                ways: r.ways.clone(),
                tags: tags(&r.tags),
            });
            self.relations.insert(r.id, state);
        }
    }

    /// Keeps what matters to the extract: every element the extract holds (changed or
    /// deleted); new nodes within `bbox` (lon/lat: a later diff's way may use them; `None`: no
    /// new node for that reason); new ways with a node the extract holds (`placed`, or among
    /// `in_base.way_nodes`) or a kept new node, and the nodes they use; new relations with a kept member way (`held_way`: one
    /// the extract holds). A planet diff applied to a county keeps only the county's changes.
    pub fn retain_relevant(
        &mut self,
        in_base: &InBase,
        bbox: Option<[f64; 4]>,
        placed: impl Fn(i64) -> bool,
        held_way: impl Fn(i64) -> bool,
    ) {
        let held = |list: &[i64], id: i64| list.binary_search(&id).is_ok();
        let inside = |at: [i32; 2]| {
            bbox.is_some_and(|[x0, y0, x1, y1]| {
                let (x, y) = (f64::from(at[0]) * 1e-7, f64::from(at[1]) * 1e-7);
                (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
            })
        };
        let node_kept = |id: i64, n: &Option<Node>| {
            held(&in_base.nodes, id) || n.as_ref().is_some_and(|n| inside(n.at))
        };
        let nodes = &self.nodes;
        let located = |n: i64| match nodes.get(&n) {
            Some(state) => state.is_some() && node_kept(n, state),
            None => placed(n) || held(&in_base.way_nodes, n),
        };
        self.ways.retain(|id, w| {
            held(&in_base.ways, *id)
                || w.as_ref()
                    .is_some_and(|w| w.nodes.iter().any(|&n| located(n)))
        });
        let mut used: Vec<i64> = self
            .ways
            .values()
            .flatten()
            .flat_map(|w| w.nodes.iter().copied())
            .collect();
        used.sort_unstable();
        self.nodes
            .retain(|id, n| node_kept(*id, n) || (n.is_some() && held(&used, *id)));
        let ways = &self.ways;
        self.relations.retain(|id, r| {
            held(&in_base.relations, *id)
                || r.as_ref().is_some_and(|r| {
                    r.ways.iter().any(|w| match ways.get(w) {
                        Some(state) => state.is_some(),
                        None => held_way(*w),
                    })
                })
        });
    }

    /// Ids the overlay holds now that `before` held: what [`Overlay::retain_relevant`] left
    /// out, by kind (nodes, ways, relations), each sorted.
    pub fn left_out(&self, before: &Overlay) -> [Vec<i64>; 3] {
        fn gone<T>(before: &BTreeMap<i64, T>, now: &BTreeMap<i64, T>) -> Vec<i64> {
            before
                .keys()
                .filter(|k| !now.contains_key(k))
                .copied()
                .collect()
        }
        [
            gone(&before.nodes, &self.nodes),
            gone(&before.ways, &self.ways),
            gone(&before.relations, &self.relations),
        ]
    }

    /// The overlay as a gzipped OsmChange document (elements by id: the same overlay is the
    /// same bytes).
    pub fn to_osc_gz(&self) -> std::io::Result<Vec<u8>> {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        out.write_all(b"<osmChange version=\"0.6\" generator=\"kreisgeo\">\n<delete>\n")?;
        for (id, _) in self.nodes.iter().filter(|(_, n)| n.is_none()) {
            writeln!(out, "<node id=\"{id}\"/>")?;
        }
        for (id, _) in self.ways.iter().filter(|(_, w)| w.is_none()) {
            writeln!(out, "<way id=\"{id}\"/>")?;
        }
        for (id, _) in self.relations.iter().filter(|(_, r)| r.is_none()) {
            writeln!(out, "<relation id=\"{id}\"/>")?;
        }
        out.write_all(b"</delete>\n<modify>\n")?;
        for (id, n) in &self.nodes {
            let Some(n) = n else { continue };
            write!(
                out,
                "<node id=\"{id}\" lon=\"{}\" lat=\"{}\">",
                f64::from(n.at[0]) * 1e-7,
                f64::from(n.at[1]) * 1e-7
            )?;
            write_tags(&mut out, &n.tags)?;
            out.write_all(b"</node>\n")?;
        }
        for (id, w) in &self.ways {
            let Some(w) = w else { continue };
            write!(out, "<way id=\"{id}\">")?;
            for n in &w.nodes {
                write!(out, "<nd ref=\"{n}\"/>")?;
            }
            write_tags(&mut out, &w.tags)?;
            out.write_all(b"</way>\n")?;
        }
        for (id, r) in &self.relations {
            let Some(r) = r else { continue };
            write!(out, "<relation id=\"{id}\">")?;
            for w in &r.ways {
                write!(out, "<member type=\"way\" ref=\"{w}\" role=\"\"/>")?;
            }
            write_tags(&mut out, &r.tags)?;
            out.write_all(b"</relation>\n")?;
        }
        out.write_all(b"</modify>\n</osmChange>\n")?;
        out.finish()
    }

    /// Reads an overlay [`Overlay::to_osc_gz`] wrote.
    pub fn from_osc_gz(bytes: &[u8]) -> Result<Self, String> {
        let mut xml = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut xml)
            .map_err(|e| format!("a kept overlay is not gzip: {e}"))?;
        let changes = super::change::parse(xml.as_slice())?;
        let mut overlay = Self::default();
        overlay.apply(&changes);
        Ok(overlay)
    }
}

fn write_tags(out: &mut impl Write, tags: &Tags) -> std::io::Result<()> {
    for (k, v) in tags.iter() {
        write!(
            out,
            "<tag k=\"{}\" v=\"{}\"/>",
            quick_xml::escape::escape(k),
            quick_xml::escape::escape(v)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSC: &str = r#"<osmChange>
      <create>
        <node id="1" lat="49.5" lon="11.25"><tag k="addr:street" v="Am &quot;Bach&quot; &amp; Co"/><tag k="addr:housenumber" v="3"/></node>
        <way id="7"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/><tag k="surface" v="gravel"/></way>
        <relation id="9"><member type="way" ref="7" role="outer"/><member type="node" ref="1" role=""/><tag k="type" v="multipolygon"/></relation>
      </create>
      <delete><node id="4"/><way id="8"/></delete>
      <modify><node id="1" lat="49.6" lon="11.3"><tag k="place" v="hamlet"/></node></modify>
    </osmChange>"#;

    const QUOTED: &str = r#"<osmChange><create>
        <node id="5" lat="-33.25" lon="-70.5"><tag k="addr:street" v="Am &quot;Bach&quot; &amp; Co"/></node>
    </create></osmChange>"#;

    #[test]
    fn a_later_state_wins_and_the_overlay_survives_its_own_format() {
        let mut overlay = Overlay::default();
        overlay.apply(&super::super::change::parse(OSC.as_bytes()).unwrap());
        let node = overlay.nodes[&1].as_ref().unwrap();
        assert_eq!(node.at, [113_000_000, 496_000_000]);
        assert_eq!(node.tags.get("place"), Some("hamlet"));
        assert_eq!(
            node.tags.get("addr:street"),
            None,
            "the modify holds the whole node"
        );
        let way = overlay.ways[&7].as_ref().unwrap();
        assert_eq!(way.nodes, [1, 2]);
        assert_eq!(
            way.tags.get("surface"),
            None,
            "tags no layer reads are not kept"
        );
        assert_eq!(overlay.relations[&9].as_ref().unwrap().ways, [7]);
        assert_eq!(
            (overlay.nodes[&4].clone(), overlay.ways[&8].clone()),
            (None, None)
        );

        // Kept as its own OsmChange document and read back, the overlay is the same.
        let mut quoted = overlay.clone();
        quoted.apply(&super::super::change::parse(QUOTED.as_bytes()).unwrap());
        let bytes = quoted.to_osc_gz().unwrap();
        let back = Overlay::from_osc_gz(&bytes).unwrap();
        assert_eq!(back, quoted);
        assert_eq!(
            back.nodes[&5].as_ref().unwrap().tags.get("addr:street"),
            Some("Am \"Bach\" & Co")
        );
        assert_eq!(
            bytes,
            back.to_osc_gz().unwrap(),
            "the same overlay, the same bytes"
        );
    }

    #[test]
    fn only_what_concerns_the_extract_is_kept() {
        let mut overlay = Overlay::default();
        overlay.apply(&super::super::change::parse(OSC.as_bytes()).unwrap());
        // Node 4 and way 8 are deleted but were never in the extract; node 1 lies outside.
        let in_base = InBase::default();
        let mut far = overlay.clone();
        far.retain_relevant(&in_base, Some([6.0, 47.0, 7.0, 48.0]), |_| false, |_| false);
        assert!(far.is_empty(), "{far:?}");
        let mut near = overlay.clone();
        near.retain_relevant(
            &in_base,
            Some([11.0, 49.0, 12.0, 50.0]),
            |n| n == 1,
            |w| w == 7,
        );
        assert_eq!(
            (near.nodes.len(), near.ways.len(), near.relations.len()),
            (1, 1, 1)
        );
        let mut held = overlay;
        held.retain_relevant(
            &InBase {
                nodes: vec![4],
                ways: vec![8],
                relations: vec![],
                way_nodes: vec![],
            },
            None,
            |_| false,
            |_| false,
        );
        assert_eq!(
            (held.nodes.len(), held.ways.len()),
            (1, 1),
            "deletes of held elements stay"
        );
    }
}
