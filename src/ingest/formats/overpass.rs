//! Overpass API JSON (`[out:json]`), as OpenStreetMap extracts of defibrillators arrive: nodes
//! become points; ways and relations become points where the query asked for `out center`.
//! Properties are `osm_type`, `osm_id` and every tag.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, PropertyProcessor};
use serde::Deserialize;

use super::json_stream::{stream_array, ArraySpec};
use super::FormatReader;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

pub struct OverpassFile {
    path: PathBuf,
}

impl OverpassFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

#[derive(Deserialize)]
struct LatLon {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct Element {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
    lat: Option<f64>,
    lon: Option<f64>,
    center: Option<LatLon>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn emit(e: &Element, index: u64, out: &mut Normalizer<'_>) -> Result<(), IngestError> {
    let mut events = || -> geozero::error::Result<()> {
        out.feature_begin(index)?;
        out.property(0, "osm_type", &ColumnValue::String(&e.kind))?;
        out.property(1, "osm_id", &ColumnValue::Long(e.id))?;
        for (i, (key, value)) in e.tags.iter().enumerate() {
            out.property(i + 2, key, &ColumnValue::String(value))?;
        }
        let position = match (e.lat, e.lon, &e.center) {
            (Some(lat), Some(lon), _) => Some((lon, lat)),
            (_, _, Some(c)) => Some((c.lon, c.lat)),
            _ => None,
        };
        if let Some((lon, lat)) = position {
            out.geometry_begin()?;
            out.point_begin(0)?;
            out.xy(lon, lat, 0)?;
            out.point_end(0)?;
            out.geometry_end()?;
        }
        out.feature_end(index)
    };
    let result = events();
    out.finish(result)
}

impl FormatReader for OverpassFile {
    fn default_crs(&self) -> Option<i32> {
        Some(crate::crs::WGS84_SRID)
    }

    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let spec = ArraySpec {
            format: "Overpass JSON",
            array: "elements",
            item: "element",
        };
        stream_array(&self.path, &spec, &[], |index, e: Element, _| {
            emit(&e, index, out)
        })?;
        Ok(None)
    }
}
