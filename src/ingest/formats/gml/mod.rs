//! GML as authorities deliver it: WFS `GetFeature` answers (GML 3.2 and 3.1, WFS 2.0 and
//! 1.1), ALKIS NAS (a Bestandsdatenauszug, a NAS-WFS answer or bare features) and other
//! feature collections. Streamed: features are read one at a time into a small tree, their
//! attributes flattened ([`properties`]) and their geometry read ([`geometry`]); memory does
//! not grow with the file.
//!
//! A file may hold several feature types (layers): `--layer` chooses one; a parcels ingest
//! of NAS takes `AX_Flurstueck`; otherwise a file of one type is read and a file of several
//! is refused with the list of its types. CityGML buildings become buildings or roof
//! surfaces ([`citygml`]); several tiles are read as one dataset, a building that two tiles
//! both hold (it overhangs their boundary) once.

mod arc;
mod citygml;
mod geometry;
mod nas;
mod properties;
mod srs;
mod xml;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use geozero::{ColumnValue, FeatureProcessor, PropertyProcessor};

use self::geometry::GeomError;
use self::properties::Leaf;
use self::xml::{line_of, Element, Ns, Step, XmlStream};
use super::FormatReader;
use crate::catalog::DatasetKind;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

/// The feature types a NAS file gives a dataset of `kind` when no `--layer` is given: the
/// parcels, the buildings, the Lagebezeichnungen (with and without house number).
fn nas_layer(kind: Option<DatasetKind>) -> Option<&'static str> {
    match kind {
        Some(DatasetKind::Parcels) => Some("AX_Flurstueck"),
        Some(DatasetKind::Buildings) => Some("AX_Gebaeude"),
        Some(DatasetKind::Addresses) => Some("AX_Lagebezeichnung*"),
        _ => None,
    }
}

/// Whether feature type `name` is the layer `pattern` names (a trailing `*`: any type that
/// starts so).
fn layer_matches(pattern: &str, name: &str) -> bool {
    pattern
        .strip_suffix('*')
        .map_or(name == pattern, |prefix| name.starts_with(prefix))
}

pub struct GmlFile {
    /// The file, and the further tiles of the same set.
    paths: Vec<PathBuf>,
    layer: Option<String>,
    kind: Option<DatasetKind>,
}

impl GmlFile {
    pub fn new(
        path: &Path,
        more: &[PathBuf],
        layer: Option<String>,
        kind: Option<DatasetKind>,
    ) -> Self {
        Self {
            paths: std::iter::once(path.to_path_buf())
                .chain(more.iter().cloned())
                .collect(),
            layer,
            kind,
        }
    }
}

impl FormatReader for GmlFile {
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let mut walk = Walk {
            layer: self.layer.clone(),
            nas_layer: nas_layer(self.kind),
            city: if self.kind == Some(DatasetKind::Roofs) {
                citygml::Output::Roofs
            } else {
                citygml::Output::Buildings
            },
            chosen: None,
            types: BTreeMap::new(),
            default_srs: None,
            swap_axes: None,
            crs: None,
            index: 0,
            path: PathBuf::new(),
            buildings: HashSet::new(),
            saw_nas: false,
        };
        for path in &self.paths {
            walk.path.clone_from(path);
            walk.default_srs = None;
            let mut xml = XmlStream::open(path, "GML")?;
            match xml.next()? {
                Step::Start(root) if is_collection(&root) => walk.collection(&mut xml, out)?,
                Step::Start(root) => {
                    let tree = xml.read_tree(root)?;
                    walk.feature(&tree, out)?;
                }
                Step::End | Step::Eof => {
                    return Err(IngestError::Parse {
                        message: format!("GML: {} has no root element", path.display()),
                    })
                }
            }
        }
        walk.finish()?;
        Ok(walk.crs)
    }
}

/// `FeatureCollection`s of any schema, NAS's Bestandsdatenauszug, CityGML's `CityModel`.
fn is_collection(e: &Element) -> bool {
    e.name.ends_with("FeatureCollection")
        || (e.ns == Ns::CityCore && e.name == "CityModel")
        || (e.ns == Ns::Adv
            && matches!(
                e.name.as_str(),
                "AX_Bestandsdatenauszug"
                    | "AX_NutzerbezogeneBestandsdatenaktualisierung_NBA"
                    | "AX_Fortfuehrungsauftrag"
            ))
}

/// The elements of a collection that hold its features.
fn is_member(e: &Element) -> bool {
    match e.ns {
        Ns::Wfs => matches!(e.name.as_str(), "member" | "additionalObjects"),
        Ns::Gml => matches!(e.name.as_str(), "featureMember" | "featureMembers"),
        Ns::CityCore => e.name == "cityObjectMember",
        Ns::Adv => matches!(e.name.as_str(), "enthaelt" | "member"),
        _ => false,
    }
}

fn is_bounded_by(e: &Element) -> bool {
    e.name == "boundedBy" && matches!(e.ns, Ns::Gml | Ns::Wfs)
}

/// The state of one pass over a file.
struct Walk {
    layer: Option<String>,
    nas_layer: Option<&'static str>,
    /// The feature type read when no layer was named: the first one met.
    chosen: Option<String>,
    /// Features met per type.
    types: BTreeMap<String, u64>,
    default_srs: Option<srs::Srs>,
    swap_axes: Option<bool>,
    /// The EPSG code of the file's geometries.
    crs: Option<i32>,
    /// Features passed on.
    index: u64,
    /// The file being read.
    path: PathBuf,
    /// What CityGML buildings become.
    city: citygml::Output,
    /// The CityGML buildings read so far, by `gml:id`: a building in two tiles counts once.
    buildings: HashSet<String>,
    /// Whether the file holds NAS features (whose type a kind may choose).
    saw_nas: bool,
}

impl Walk {
    fn collection(
        &mut self,
        xml: &mut XmlStream,
        out: &mut Normalizer<'_>,
    ) -> Result<(), IngestError> {
        loop {
            match xml.next()? {
                Step::Start(e) if is_member(&e) => self.member(xml, out)?,
                Step::Start(e) if is_collection(&e) => self.collection(xml, out)?,
                Step::Start(e) if is_bounded_by(&e) => {
                    let tree = xml.read_tree(e)?;
                    self.bounded_by(&tree)?;
                }
                Step::Start(_) => xml.skip()?,
                Step::End | Step::Eof => return Ok(()),
            }
        }
    }

    fn member(&mut self, xml: &mut XmlStream, out: &mut Normalizer<'_>) -> Result<(), IngestError> {
        loop {
            match xml.next()? {
                Step::Start(e) if is_collection(&e) => self.collection(xml, out)?,
                Step::Start(e) => {
                    let tree = xml.read_tree(e)?;
                    self.feature(&tree, out)?;
                }
                Step::End => return Ok(()),
                Step::Eof => {
                    return Err(IngestError::Parse {
                        message: "GML: the file ends inside a member".into(),
                    })
                }
            }
        }
    }

    /// The CRS an envelope declares becomes the CRS of geometries that name none.
    fn bounded_by(&mut self, tree: &Element) -> Result<(), IngestError> {
        let Some(envelope) = tree.children.first() else {
            return Ok(());
        };
        if let Some(name) = envelope.attr(&Ns::None, "srsName") {
            match srs::parse(name) {
                Some(s) => self.default_srs = Some(s),
                None => {
                    return Err(IngestError::Parse {
                        message: format!(
                            "GML: line {}: unknown srsName \"{name}\"; give the CRS with --crs",
                            line_of(&self.path, envelope.offset)
                        ),
                    })
                }
            }
        }
        Ok(())
    }

    /// Whether a layer was named, or the kind chose one of the NAS file.
    fn layer_chosen(&self) -> bool {
        self.layer.is_some() || (self.saw_nas && self.nas_layer.is_some())
    }

    /// Whether features of `e`'s type are read.
    fn wanted(&mut self, e: &Element) -> bool {
        if is_citygml(&e.ns) {
            // A city model's other objects (bridges, relief, vegetation) are not buildings.
            let building = e.ns == Ns::CityBuilding && e.name == "Building";
            if building {
                *self.types.entry(e.name.clone()).or_default() += 1;
            }
            return building
                && e.gml_id()
                    .is_none_or(|id| self.buildings.insert(id.to_string()));
        }
        *self.types.entry(e.name.clone()).or_default() += 1;
        if let Some(layer) = &self.layer {
            return layer_matches(layer, &e.name);
        }
        self.saw_nas |= e.ns == Ns::Adv;
        if let Some(layer) = self.nas_layer.filter(|_| e.ns == Ns::Adv) {
            return layer_matches(layer, &e.name);
        }
        if let Some(chosen) = &self.chosen {
            return chosen == &e.name;
        }
        self.chosen = Some(e.name.clone());
        true
    }

    /// Refuses a file whose features were not all read for want of a layer, or that holds
    /// none of the layer asked for.
    fn finish(&self) -> Result<(), IngestError> {
        let listing = || {
            self.types
                .iter()
                .map(|(t, n)| format!("{t} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.layer_chosen() && self.types.len() > 1 {
            return Err(IngestError::Parse {
                message: format!(
                    "GML: the file holds several feature types: {}; choose one with --layer",
                    listing()
                ),
            });
        }
        let asked = self
            .layer
            .as_deref()
            .or(self.nas_layer.filter(|_| self.saw_nas));
        if let Some(layer) = asked {
            if !self.types.is_empty() && !self.types.keys().any(|t| layer_matches(layer, t)) {
                return Err(IngestError::Parse {
                    message: format!(
                        "GML: the file holds no {layer}; its feature types: {}",
                        listing()
                    ),
                });
            }
        }
        Ok(())
    }

    fn feature(&mut self, tree: &Element, out: &mut Normalizer<'_>) -> Result<(), IngestError> {
        if !self.wanted(tree) {
            return Ok(());
        }
        if !self.layer_chosen() && self.types.len() > 1 {
            // Several types and no choice: keep counting them for the message, read nothing.
            return Ok(());
        }
        let index = self.index;
        let at = |offset: u64| {
            format!(
                "line {}, {} gml:id=\"{}\"",
                line_of(&self.path, offset),
                tree.name,
                tree.gml_id().unwrap_or_default()
            )
        };
        let geometry_error = |e: GeomError| IngestError::Feature {
            index,
            field: Some(e.element.clone()),
            message: format!("{}: <{}> {}", at(e.offset), e.element, e.message),
        };
        let mut default_srs = self.default_srs;
        if let Some(envelope) = tree
            .child(&Ns::Gml, "boundedBy")
            .and_then(|b| b.children.first())
        {
            default_srs = envelope
                .attr(&Ns::None, "srsName")
                .and_then(srs::parse)
                .or(default_srs);
        }
        let mut reader = geometry::Reader::new(tree, default_srs, &mut self.swap_axes);
        let (records, id) = if tree.ns == Ns::CityBuilding {
            let records = citygml::records(tree, self.city, &mut reader).map_err(geometry_error)?;
            let id = (self.city == citygml::Output::Buildings)
                .then(|| tree.gml_id())
                .flatten();
            (records, id)
        } else {
            let (mut attrs, geometry) = properties::attributes(tree);
            if tree.ns == Ns::Adv && tree.name == "AX_Flurstueck" {
                kennzeichen(&mut attrs).map_err(|message| IngestError::Feature {
                    index,
                    field: Some("flurstueckskennzeichen".into()),
                    message: format!("{}: {message}", at(tree.offset)),
                })?;
            }
            let geometry = match geometry {
                Some(g) => {
                    let (geom, read) = reader.read(g).map_err(geometry_error)?;
                    Some((geom, read.has_z))
                }
                None => None,
            };
            (vec![citygml::Record { attrs, geometry }], tree.gml_id())
        };
        if let Some(srs) = reader
            .srs()
            .filter(|_| records.iter().any(|r| r.geometry.is_some()))
        {
            match self.crs {
                None => {
                    self.crs = Some(srs.epsg);
                    out.declare_crs(srs.epsg);
                }
                Some(first) if first != srs.epsg => {
                    return Err(IngestError::Feature {
                        index,
                        field: None,
                        message: format!(
                            "{}: a geometry in EPSG:{}, the file's first in EPSG:{first}; \
                             one file, one CRS",
                            at(tree.offset),
                            srs.epsg
                        ),
                    })
                }
                Some(_) => {}
            }
        }
        let nas = tree.ns == Ns::Adv;
        for record in records {
            let index = self.index;
            self.index += 1;
            let result = emit(id, nas, &record, index, out);
            out.finish(result)?;
        }
        Ok(())
    }
}

/// Sets the Flurstückskennzeichen from the parcel's parts; one the file writes must agree.
fn kennzeichen(attrs: &mut Vec<(String, Vec<Leaf>)>) -> Result<(), String> {
    let built = nas::flurstueckskennzeichen(attrs);
    let written = attrs
        .iter()
        .position(|(n, _)| n == "flurstueckskennzeichen");
    match (built, written) {
        (Ok(built), Some(i)) => {
            if attrs[i].1 != [Leaf::Text(built.clone())] {
                return Err(format!(
                    "the file writes {:?}, its parts make \"{built}\"",
                    attrs[i].1
                ));
            }
            Ok(())
        }
        (Ok(built), None) => {
            attrs.push(("flurstueckskennzeichen".into(), vec![Leaf::Text(built)]));
            Ok(())
        }
        (Err(_), Some(_)) => Ok(()),
        (Err(why), None) => Err(why),
    }
}

fn emit(
    id: Option<&str>,
    nas: bool,
    record: &citygml::Record,
    index: u64,
    out: &mut Normalizer<'_>,
) -> geozero::error::Result<()> {
    out.feature_begin(index)?;
    let mut i = 0;
    if let Some(id) = id {
        out.property(i, "gml_id", &ColumnValue::String(id))?;
        i += 1;
    }
    for (name, values) in &record.attrs {
        match values.as_slice() {
            [Leaf::Code(t)] => {
                out.property(i, name, &ColumnValue::String(t))?;
            }
            [Leaf::Json(j)] => {
                out.property(i, name, &ColumnValue::Json(j))?;
            }
            [Leaf::Text(t)] if nas && nas::is_key(name) => {
                out.property(i, name, &ColumnValue::String(t))?;
            }
            [Leaf::Text(t)] => match super::csv::cell_value(t, false) {
                Some(v) => {
                    out.property(i, name, &v)?;
                }
                None => out.null_property(name),
            },
            [Leaf::Null] => out.null_property(name),
            many => {
                let list: Vec<serde_json::Value> = many
                    .iter()
                    .map(|l| match l {
                        Leaf::Text(t) | Leaf::Code(t) => serde_json::Value::String(t.clone()),
                        Leaf::Json(j) => serde_json::from_str(j).unwrap_or_default(),
                        Leaf::Null => serde_json::Value::Null,
                    })
                    .collect();
                let json = serde_json::Value::Array(list).to_string();
                out.property(i, name, &ColumnValue::Json(&json))?;
            }
        }
        i += 1;
    }
    if let Some((g, has_z)) = &record.geometry {
        out.geometry_begin()?;
        geometry::emit(g, *has_z, out)?;
        out.geometry_end()?;
    }
    out.feature_end(index)
}

/// The namespaces of CityGML's modules.
fn is_citygml(ns: &Ns) -> bool {
    match ns {
        Ns::CityCore | Ns::CityBuilding | Ns::CityGeneric => true,
        Ns::Other(uri) => uri.starts_with("http://www.opengis.net/citygml/"),
        _ => false,
    }
}
