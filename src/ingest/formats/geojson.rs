//! GeoJSON FeatureCollection input, streamed feature by feature.
//!
//! geozero's reader loads the whole document into memory and panics on short positions, so
//! kreisgeo walks the top-level object with serde itself: members may come in any order, each
//! feature is parsed and emitted on its own, and the legacy `crs` member is honoured.

use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use geojson::{Position, Value as GeomValue};
use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, PropertyProcessor};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::FormatReader;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

pub struct GeoJsonFile {
    path: PathBuf,
}

impl GeoJsonFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl FormatReader for GeoJsonFile {
    fn default_crs(&self) -> Option<i32> {
        Some(crate::crs::STORAGE_SRID)
    }

    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let file = File::open(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, file));
        let state = RefCell::new(State {
            out,
            crs: None,
            failure: None,
            index: 0,
        });
        let result = TopLevel(&state)
            .deserialize(&mut de)
            .and_then(|()| de.end());
        let mut state = state.into_inner();
        if let Some(failure) = state.failure.take() {
            return Err(failure);
        }
        result.map_err(|e| IngestError::Parse {
            message: format!("GeoJSON: {e} (feature index {})", state.index),
        })?;
        Ok(state.crs)
    }
}

struct State<'n, 'a> {
    out: &'n mut Normalizer<'a>,
    crs: Option<i32>,
    /// The first real error; serde only carries strings.
    failure: Option<IngestError>,
    index: u64,
}

/// The top-level object: `type`, `crs`, `features`, anything else ignored.
struct TopLevel<'s, 'n, 'a>(&'s RefCell<State<'n, 'a>>);

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut saw_features = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let t: String = map.next_value()?;
                    if t != "FeatureCollection" {
                        return Err(de::Error::custom(format!(
                            "top-level type is '{t}', expected 'FeatureCollection'"
                        )));
                    }
                }
                "crs" => {
                    let crs: Json = map.next_value()?;
                    let name = crs
                        .pointer("/properties/name")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    let code = crate::crs::parse(name).ok_or_else(|| {
                        de::Error::custom(format!("unsupported crs member '{name}'"))
                    })?;
                    self.0.borrow_mut().crs = Some(code);
                }
                "features" => {
                    saw_features = true;
                    map.next_value_seed(Features(self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if saw_features {
            Ok(())
        } else {
            Err(de::Error::custom(
                "no 'features' member: not a FeatureCollection",
            ))
        }
    }
}

/// The `features` array, processed one element at a time.
struct Features<'s, 'n, 'a>(&'s RefCell<State<'n, 'a>>);

impl<'de> DeserializeSeed<'de> for Features<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// A GeoJSON Feature as read; unknown members are ignored.
#[derive(Deserialize)]
pub(super) struct RawFeature {
    #[serde(default)]
    properties: Option<Map<String, Json>>,
    #[serde(default)]
    geometry: Option<geojson::Geometry>,
}

impl<'de> Visitor<'de> for Features<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of GeoJSON features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let feature = match seq.next_element::<RawFeature>() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            };
            let mut state = self.0.borrow_mut();
            let index = state.index;
            if let Err(e) = emit_feature(&feature, index, state.out) {
                let message = e.to_string();
                if state.failure.is_none() {
                    state.failure = Some(e);
                }
                return Err(de::Error::custom(message));
            }
            state.index += 1;
        }
    }
}

pub(super) fn emit_feature(
    f: &RawFeature,
    index: u64,
    out: &mut Normalizer<'_>,
) -> Result<(), IngestError> {
    let mut events = || -> geozero::error::Result<()> {
        out.feature_begin(index)?;
        if let Some(props) = &f.properties {
            emit_properties(props, out)?;
        }
        if let Some(geometry) = &f.geometry {
            out.geometry_begin()?;
            emit_geometry(&geometry.value, 0, true, out)?;
            out.geometry_end()?;
        }
        out.feature_end(index)
    };
    let result = events();
    out.finish(result)
}

fn emit_properties(
    props: &Map<String, Json>,
    out: &mut Normalizer<'_>,
) -> geozero::error::Result<()> {
    for (i, (key, value)) in props.iter().enumerate() {
        let text;
        let column = match value {
            Json::Null => {
                out.null_property(key);
                continue;
            }
            Json::Bool(b) => ColumnValue::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(v), _) => ColumnValue::Long(v),
                (None, Some(v)) => ColumnValue::ULong(v),
                _ => ColumnValue::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => ColumnValue::String(s),
            Json::Array(_) | Json::Object(_) => {
                text = value.to_string();
                ColumnValue::Json(&text)
            }
        };
        out.property(i, key, &column)?;
    }
    Ok(())
}

fn emit_coord(p: &Position, idx: usize, out: &mut Normalizer<'_>) -> geozero::error::Result<()> {
    match p.as_slice() {
        [x, y] => out.xy(*x, *y, idx),
        [x, y, z, ..] => out.coordinate(*x, *y, Some(*z), None, None, None, idx),
        _ => Err(geozero::error::GeozeroError::Geometry(format!(
            "a position needs at least 2 numbers, got {}",
            p.len()
        ))),
    }
}

fn emit_line(
    line: &[Position],
    tagged: bool,
    idx: usize,
    out: &mut Normalizer<'_>,
) -> geozero::error::Result<()> {
    out.linestring_begin(tagged, line.len(), idx)?;
    for (i, p) in line.iter().enumerate() {
        emit_coord(p, i, out)?;
    }
    out.linestring_end(tagged, idx)
}

fn emit_polygon(
    rings: &[Vec<Position>],
    tagged: bool,
    idx: usize,
    out: &mut Normalizer<'_>,
) -> geozero::error::Result<()> {
    out.polygon_begin(tagged, rings.len(), idx)?;
    for (i, ring) in rings.iter().enumerate() {
        emit_line(ring, false, i, out)?;
    }
    out.polygon_end(tagged, idx)
}

fn emit_geometry(
    g: &GeomValue,
    idx: usize,
    tagged: bool,
    out: &mut Normalizer<'_>,
) -> geozero::error::Result<()> {
    match g {
        GeomValue::Point(p) => {
            out.point_begin(idx)?;
            emit_coord(p, 0, out)?;
            out.point_end(idx)
        }
        GeomValue::MultiPoint(points) => {
            out.multipoint_begin(points.len(), idx)?;
            for (i, p) in points.iter().enumerate() {
                emit_coord(p, i, out)?;
            }
            out.multipoint_end(idx)
        }
        GeomValue::LineString(line) => emit_line(line, tagged, idx, out),
        GeomValue::MultiLineString(lines) => {
            out.multilinestring_begin(lines.len(), idx)?;
            for (i, line) in lines.iter().enumerate() {
                emit_line(line, false, i, out)?;
            }
            out.multilinestring_end(idx)
        }
        GeomValue::Polygon(rings) => emit_polygon(rings, tagged, idx, out),
        GeomValue::MultiPolygon(polygons) => {
            out.multipolygon_begin(polygons.len(), idx)?;
            for (i, rings) in polygons.iter().enumerate() {
                emit_polygon(rings, false, i, out)?;
            }
            out.multipolygon_end(idx)
        }
        GeomValue::GeometryCollection(members) => {
            out.geometrycollection_begin(members.len(), idx)?;
            for (i, m) in members.iter().enumerate() {
                emit_geometry(&m.value, i, true, out)?;
            }
            out.geometrycollection_end(idx)
        }
    }
}
