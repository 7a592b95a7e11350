//! GeoJSON (RFC 7946) FeatureCollection and Feature output.

use std::io::Write;

use geozero::{CoordDimensions, GeozeroGeometry};

use super::{FeatureEncoder, PageEnd};
use crate::catalog::Version;
use crate::error::{Error, Result};
use crate::ogc::{media, Link};
use crate::value::{FeatureRow, Value};

/// Writes features of one version with the property names of the source file.
pub struct GeoJsonEncoder {
    /// Property names, JSON-escaped once.
    keys: Vec<String>,
    dims: CoordDimensions,
    first: bool,
}

impl GeoJsonEncoder {
    pub fn new(version: &Version) -> Self {
        Self {
            keys: version
                .columns
                .iter()
                .map(|c| serde_json::Value::String(c.original.clone()).to_string())
                .collect(),
            dims: if version.has_z {
                CoordDimensions::xyz()
            } else {
                CoordDimensions::xy()
            },
            first: true,
        }
    }

    /// One `Feature` object, with `links` when it is served on its own.
    pub fn write_feature(
        &self,
        out: &mut Vec<u8>,
        row: &FeatureRow,
        links: Option<&[Link]>,
    ) -> Result<()> {
        out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
        let _ = write!(out, "{}", row.fid);
        out.extend_from_slice(b",\"geometry\":");
        write_geometry_dims(out, row, self.dims)?;
        out.extend_from_slice(b",\"properties\":{");
        let mut first = true;
        for (key, value) in self.keys.iter().zip(&row.values) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(key.as_bytes());
            out.push(b':');
            write_value(out, value.as_ref());
        }
        for (key, value) in &row.extra {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *out, key);
            out.push(b':');
            write_value(out, value.as_ref());
        }
        out.push(b'}');
        if let Some(links) = links {
            out.extend_from_slice(b",\"links\":");
            let _ = serde_json::to_writer(&mut *out, links);
        }
        out.push(b'}');
        Ok(())
    }
}

/// A feature's geometry as a GeoJSON geometry object (`null` without one).
pub(super) fn write_geometry(out: &mut Vec<u8>, row: &FeatureRow, has_z: bool) -> Result<()> {
    let dims = if has_z {
        CoordDimensions::xyz()
    } else {
        CoordDimensions::xy()
    };
    write_geometry_dims(out, row, dims)
}

fn write_geometry_dims(out: &mut Vec<u8>, row: &FeatureRow, dims: CoordDimensions) -> Result<()> {
    let Some(ewkb) = &row.geometry else {
        out.extend_from_slice(b"null");
        return Ok(());
    };
    let mut writer = geozero::geojson::GeoJsonWriter::with_dims(&mut *out, dims);
    geozero::wkb::Ewkb(ewkb.as_slice())
        .process_geom(&mut writer)
        .map_err(|e| Error::Internal(format!("feature {}: geometry encoding: {e}", row.fid)))
}

/// The members of a FeatureCollection after its features: counts, time stamp and links.
pub(super) fn collection_end(out: &mut Vec<u8>, page: &PageEnd) {
    out.extend_from_slice(b"],\"numberReturned\":");
    let _ = write!(out, "{}", page.number_returned);
    if let Some(matched) = page.number_matched {
        let _ = write!(out, ",\"numberMatched\":{matched}");
    }
    out.extend_from_slice(b",\"timeStamp\":");
    let _ = serde_json::to_writer(&mut *out, &crate::time::now_rfc3339());
    out.extend_from_slice(b",\"links\":");
    let _ = serde_json::to_writer(&mut *out, &page.links);
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, value: Option<&Value>) {
    match value {
        None => out.extend_from_slice(b"null"),
        Some(Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Some(Value::Int(n)) => {
            let _ = write!(out, "{n}");
        }
        Some(Value::Float(f)) => {
            // serde_json writes the shortest round-trip form and null for NaN/∞.
            let _ = serde_json::to_writer(&mut *out, f);
        }
        Some(Value::Text(s)) => {
            let _ = serde_json::to_writer(&mut *out, s);
        }
        Some(Value::Json(raw)) => out.extend_from_slice(raw.as_bytes()),
    }
}

impl FeatureEncoder for GeoJsonEncoder {
    fn content_type(&self) -> &'static str {
        media::GEOJSON
    }

    fn begin(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    }

    fn feature(&mut self, out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        self.write_feature(out, row, None)
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        collection_end(out, page);
        Ok(())
    }
}
