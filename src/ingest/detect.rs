//! Input format detection, from content first and the file name second.

use std::io::Read;
use std::path::Path;

use super::IngestError;

/// Formats kreisgeo reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    /// Delimited text with coordinate or WKT columns.
    Csv,
    /// Newline-delimited GeoJSON (one Feature per line) and RFC 8142 GeoJSON text sequences.
    GeoJsonSeq,
    FlatGeobuf,
    /// OGC GeoPackage (SQLite).
    GeoPackage,
    /// Overpass API JSON (OpenStreetMap elements).
    Overpass,
    /// ESRI Shapefile, zipped or as a `.shp` beside its siblings.
    Shapefile,
    /// GML: WFS answers, ALKIS NAS, CityGML.
    Gml,
    /// An OpenStreetMap PBF extract (`.osm.pbf`).
    OsmPbf,
    /// An OsmChange file (`.osc`, `.osc.gz`): changes applied to a dataset of OSM nodes.
    OsmChange,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::GeoJson => "GeoJSON",
            Self::GeoJsonSeq => "GeoJSONSeq",
            Self::FlatGeobuf => "FlatGeobuf",
            Self::Overpass => "Overpass JSON",
            Self::GeoPackage => "GeoPackage",
            Self::Shapefile => "Shapefile",
            Self::Gml => "GML",
            Self::OsmPbf => "OSM PBF",
            Self::OsmChange => "OsmChange",
        }
    }
}

/// Looks at the first bytes (FlatGeobuf magic, a JSON object), then at the extension.
pub fn detect(path: &Path) -> Result<Format, IngestError> {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| IngestError::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(b"fgb\x03") {
        return Ok(Format::FlatGeobuf);
    }
    // A zip is taken for a zipped Shapefile; a .shp starts with file code 9994 (big-endian).
    if head.starts_with(b"PK\x03\x04") {
        // A zip of GML tiles, else (as before) a zipped Shapefile.
        let gml = super::formats::archive::holds_gml(&super::formats::archive::names(path)?);
        return Ok(if gml { Format::Gml } else { Format::Shapefile });
    }
    if is_osm_pbf(head) {
        return Ok(Format::OsmPbf);
    }
    if crate::osm::change::is_osm_change(path, head) {
        return Ok(Format::OsmChange);
    }
    if head.starts_with(&[0x00, 0x00, 0x27, 0x0a]) {
        return Ok(Format::Shapefile);
    }
    // SQLite with the GeoPackage application id 'GPKG' at offset 68.
    if head.starts_with(b"SQLite format 3\0") && head.get(68..72) == Some(b"GPKG") {
        return Ok(Format::GeoPackage);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if text.first() == Some(&0x1E) {
        return Ok(Format::GeoJsonSeq);
    }
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(if first_line_is_feature(text) {
            Format::GeoJsonSeq
        } else if is_overpass(text) {
            Format::Overpass
        } else {
            Format::GeoJson
        });
    }
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') && is_gml(text) {
        return Ok(Format::Gml);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("fgb") => Ok(Format::FlatGeobuf),
        Some("csv" | "tsv" | "txt") => Ok(Format::Csv),
        Some("geojson" | "json") => Ok(Format::GeoJson),
        Some("geojsonl" | "geojsons" | "ndjson" | "jsonl") => Ok(Format::GeoJsonSeq),
        _ => Err(IngestError::UnknownFormat {
            path: path.display().to_string(),
        }),
    }
}

/// A PBF file opens with the length of its first blob header (big-endian, small) and that
/// header, whose type is `OSMHeader`.
fn is_osm_pbf(head: &[u8]) -> bool {
    let Some(len) = head
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    else {
        return false;
    };
    len < 64 * 1024
        && head
            .get(4..(4 + len as usize).min(head.len()))
            .is_some_and(|header| header.windows(9).any(|w| w == b"OSMHeader"))
}

/// XML in a GML namespace (GML 2, 3.1, 3.2; CityGML and NAS use them all).
fn is_gml(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.contains("http://www.opengis.net/gml")
}

/// Overpass responses open with their generator and `osm3s` metadata before `elements`.
fn is_overpass(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.contains("\"osm3s\"") || (text.contains("\"elements\"") && !text.contains("\"features\""))
}

/// A sequence starts with a whole Feature object on its first line; a FeatureCollection's first
/// line never is one.
fn first_line_is_feature(head: &[u8]) -> bool {
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&head[..end])
        .is_ok_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("Feature"))
}
