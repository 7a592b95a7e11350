//! GeoJSON FeatureCollection input, streamed feature by feature.
//!
//! geozero's reader loads the whole document into memory and panics on short positions, so
//! kreisgeo streams the `features` array itself: members may come in any order, each feature is
//! parsed and emitted on its own, and the legacy `crs` member is honoured.

use std::path::{Path, PathBuf};

use geojson::{Position, Value as GeomValue};
use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, PropertyProcessor};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::json_stream::{stream_array, ArraySpec};
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
        Some(crate::crs::WGS84_SRID)
    }

    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let spec = ArraySpec {
            format: "GeoJSON",
            array: "features",
            item: "feature",
        };
        let streamed = stream_array(
            &self.path,
            &spec,
            &["type", "crs"],
            |index, f: RawFeature, kept| {
                // A crs member before the features is known now, to a reader that stops early.
                if index == 0 {
                    if let Some(srid) = declared_crs(kept)? {
                        out.declare_crs(srid);
                    }
                }
                emit_feature(&f, index, out)
            },
        );
        let kept = match streamed {
            Ok(kept) => kept,
            // A file that is one Feature (exports of a single boundary often are) is a
            // collection of one; only looked for when the file is no FeatureCollection.
            Err(e) => return self.lone_feature(out).unwrap_or(Err(e)),
        };
        match kept.get("type").and_then(Json::as_str) {
            Some("FeatureCollection") => {}
            other => {
                return Err(IngestError::Parse {
                    message: format!(
                        "GeoJSON: top-level type is {}, expected 'FeatureCollection'",
                        other.map_or_else(|| "missing".to_string(), |t| format!("'{t}'"))
                    ),
                })
            }
        }
        declared_crs(&kept)
    }
}

impl GeoJsonFile {
    /// Reads the file as a single GeoJSON Feature, if it is one (`None` otherwise).
    fn lone_feature(&self, out: &mut Normalizer<'_>) -> Option<Result<Option<i32>, IngestError>> {
        #[derive(Deserialize)]
        struct TypeOnly {
            #[serde(rename = "type")]
            kind: Option<String>,
        }
        let open = || {
            std::fs::File::open(&self.path)
                .ok()
                .map(std::io::BufReader::new)
        };
        let top: TypeOnly = serde_json::from_reader(open()?).ok()?;
        if top.kind.as_deref() != Some("Feature") {
            return None;
        }
        let feature: RawFeature = match serde_json::from_reader(open()?) {
            Ok(f) => f,
            Err(e) => {
                return Some(Err(IngestError::Parse {
                    message: format!("GeoJSON Feature: {e}"),
                }))
            }
        };
        Some(emit_feature(&feature, 0, out).map(|()| None))
    }
}

/// The EPSG code of the legacy `crs` member, if there is one.
fn declared_crs(kept: &Map<String, Json>) -> Result<Option<i32>, IngestError> {
    let Some(crs) = kept.get("crs") else {
        return Ok(None);
    };
    let name = crs
        .pointer("/properties/name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    crate::crs::parse(name)
        .map(Some)
        .ok_or_else(|| IngestError::Parse {
            message: format!("GeoJSON: unsupported crs member '{name}'"),
        })
}

/// A GeoJSON Feature as read; unknown members are ignored.
#[derive(Deserialize)]
pub(super) struct RawFeature {
    #[serde(default)]
    properties: Option<Map<String, Json>>,
    #[serde(default)]
    geometry: Option<geojson::Geometry>,
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
