//! CSV input: points from longitude/latitude (or x/y) columns, or any geometry from a WKT column.
//!
//! German office exports differ from the RFC: `;` as delimiter with decimal commas, Windows-1252
//! instead of UTF-8. The delimiter is taken from the header line, the encoding from the first
//! megabyte, the geometry columns from well-known header names unless given explicitly. Values
//! are typed only when unambiguous: numbers with leading zeros (AGS `03355`) stay text.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, GeozeroGeometry, PropertyProcessor};

use super::bounded::{Bounded, MAX_CSV_RECORD_BYTES};
use super::{FormatReader, ReadOptions};
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

const X_NAMES: &[&str] = &[
    "lon",
    "lng",
    "long",
    "longitude",
    "x",
    "laenge",
    "längengrad",
    "laengengrad",
    "rechtswert",
    "easting",
];
const Y_NAMES: &[&str] = &[
    "lat",
    "latitude",
    "y",
    "breite",
    "breitengrad",
    "hochwert",
    "northing",
];
const WKT_NAMES: &[&str] = &[
    "wkt",
    "geometry",
    "geom",
    "the_geom",
    "wkt_geom",
    "geometrie",
];

pub struct CsvFile {
    path: PathBuf,
    options: ReadOptions,
}

impl CsvFile {
    pub fn new(path: &Path, options: ReadOptions) -> Self {
        Self {
            path: path.to_path_buf(),
            options,
        }
    }
}

/// Where the geometry comes from, as column positions.
enum GeometrySource {
    Point { x: usize, y: usize },
    Wkt(usize),
}

/// How the file is laid out, learned from its first megabyte.
struct Layout {
    delimiter: u8,
    utf8: bool,
}

fn sniff(path: &Path, forced: Option<u8>) -> Result<Layout, IngestError> {
    let mut head = Vec::with_capacity(1 << 20);
    File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
        .map_err(|e| IngestError::io(path, e))?;
    // A cut in the middle of a multi-byte character at the end is not an encoding error.
    let utf8 = match std::str::from_utf8(&head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let header = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = forced.unwrap_or_else(|| {
        let count = |d: u8| header.iter().filter(|&&b| b == d).count();
        [b';', b'\t', b'|', b',']
            .into_iter()
            .max_by_key(|&d| (count(d), d == b','))
            .unwrap_or(b',')
    });
    Ok(Layout { delimiter, utf8 })
}

fn decode(bytes: &[u8], utf8: bool) -> String {
    if utf8 {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_string();
        }
    }
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

fn find(
    headers: &[String],
    wanted: Option<&str>,
    names: &[&str],
    what: &str,
) -> Result<Option<usize>, IngestError> {
    let lower: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    match wanted {
        Some(w) => lower
            .iter()
            .position(|h| *h == w.to_lowercase())
            .map(Some)
            .ok_or_else(|| IngestError::Parse {
                message: format!(
                    "CSV: no {what} column '{w}'; the header has: {}",
                    headers.join(", ")
                ),
            }),
        None => Ok(names.iter().find_map(|n| lower.iter().position(|h| h == n))),
    }
}

fn geometry_source(headers: &[String], o: &ReadOptions) -> Result<GeometrySource, IngestError> {
    if o.wkt.is_some() || (o.x.is_none() && o.y.is_none()) {
        if let Some(i) = find(headers, o.wkt.as_deref(), WKT_NAMES, "WKT")? {
            return Ok(GeometrySource::Wkt(i));
        }
    }
    let x = find(headers, o.x.as_deref(), X_NAMES, "x/longitude")?;
    let y = find(headers, o.y.as_deref(), Y_NAMES, "y/latitude")?;
    match (x, y) {
        (Some(x), Some(y)) => Ok(GeometrySource::Point { x, y }),
        _ => Err(IngestError::Parse {
            message: format!(
                "CSV: no geometry columns found (looked for longitude/latitude, x/y or WKT; name them \
                 with --x-field/--y-field or --wkt-field); the header has: {}",
                headers.join(", ")
            ),
        }),
    }
}

/// A number in the file's convention: `.` always, `,` as decimal separator unless it is the
/// delimiter.
fn parse_number(s: &str, decimal_comma: bool) -> Option<f64> {
    let s = s.trim();
    let normal = if decimal_comma {
        s.replace(',', ".")
    } else {
        s.to_string()
    };
    normal.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The typed value of a cell, only where unambiguous.
pub(super) fn cell_value(s: &str, decimal_comma: bool) -> Option<ColumnValue<'_>> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    let leading_zero = digits.len() > 1
        && digits.starts_with('0')
        && !digits.starts_with("0.")
        && !digits.starts_with("0,");
    if !leading_zero && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = t.parse::<i64>() {
            return Some(ColumnValue::Long(n));
        }
    }
    let numeric = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || (decimal_comma && b == b','));
    if !leading_zero && numeric && digits.bytes().filter(|&b| b == b'.' || b == b',').count() == 1 {
        if let Some(f) = parse_number(t, decimal_comma) {
            return Some(ColumnValue::Double(f));
        }
    }
    match t {
        "true" | "TRUE" | "True" => Some(ColumnValue::Bool(true)),
        "false" | "FALSE" | "False" => Some(ColumnValue::Bool(false)),
        _ => Some(ColumnValue::String(s)),
    }
}

impl FormatReader for CsvFile {
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let layout = sniff(&self.path, self.options.delimiter)?;
        let decimal_comma = layout.delimiter != b',';
        let file = File::open(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        let (file, mark) = Bounded::new(file, MAX_CSV_RECORD_BYTES, "line");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(layout.delimiter)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 16, file));
        let parse_err = |e: csv::Error| IngestError::Parse {
            message: format!("CSV: {e}"),
        };
        let headers: Vec<String> = reader
            .byte_headers()
            .map_err(parse_err)?
            .iter()
            .map(|h| {
                decode(h, layout.utf8)
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let source = geometry_source(&headers, &self.options)?;
        let geometry_columns: Vec<usize> = match source {
            GeometrySource::Point { x, y } => vec![x, y],
            GeometrySource::Wkt(i) => vec![i],
        };
        out.declare_columns(
            &headers
                .iter()
                .enumerate()
                .filter(|(i, _)| !geometry_columns.contains(i))
                .map(|(_, h)| h.clone())
                .collect::<Vec<_>>(),
        )?;

        let mut record = csv::ByteRecord::new();
        let mut index = 0u64;
        loop {
            mark.next_record();
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(IngestError::Parse {
                        message: format!("CSV, line {}: {e}", reader.position().line()),
                    })
                }
            }
            let line = record.position().map_or(0, csv::Position::line);
            let cells: Vec<String> = record.iter().map(|c| decode(c, layout.utf8)).collect();
            let at = |field: &str, message: String| IngestError::Feature {
                index,
                field: Some(field.to_string()),
                message: format!("line {line}: {message}"),
            };
            let geozero_err = |e: geozero::error::GeozeroError| at("geometry", e.to_string());
            out.feature_begin(index).map_err(geozero_err)?;
            for (i, name) in headers.iter().enumerate() {
                if geometry_columns.contains(&i) {
                    continue;
                }
                match cells.get(i).and_then(|c| cell_value(c, decimal_comma)) {
                    Some(v) => {
                        out.property(i, name, &v).map_err(geozero_err)?;
                    }
                    None => out.null_property(name),
                }
            }
            let cell = |i: usize| cells.get(i).map(|c| c.trim()).unwrap_or_default();
            match source {
                GeometrySource::Point { x, y } => {
                    let (xs, ys) = (cell(x), cell(y));
                    if !(xs.is_empty() && ys.is_empty()) {
                        let number = |i: usize, s: &str| {
                            parse_number(s, decimal_comma)
                                .ok_or_else(|| at(&headers[i], format!("'{s}' is not a number")))
                        };
                        let (xv, yv) = (number(x, xs)?, number(y, ys)?);
                        out.geometry_begin()
                            .and_then(|()| out.point_begin(0))
                            .and_then(|()| out.xy(xv, yv, 0))
                            .and_then(|()| out.point_end(0))
                            .and_then(|()| out.geometry_end())
                            .map_err(geozero_err)?;
                    }
                }
                GeometrySource::Wkt(i) => {
                    let text = cell(i);
                    if !text.is_empty() {
                        // The WKT parser recurses per parenthesis, before any event reaches
                        // the normaliser's own bound.
                        if wkt_nesting(text) > MAX_WKT_NESTING {
                            return Err(at(
                                &headers[i],
                                format!("WKT nested deeper than {MAX_WKT_NESTING} parentheses"),
                            ));
                        }
                        out.geometry_begin().map_err(geozero_err)?;
                        geozero::wkt::Wkt(text)
                            .process_geom(out)
                            .map_err(|e| at(&headers[i], format!("not valid WKT: {e}")))?;
                        out.geometry_end().map_err(geozero_err)?;
                    }
                }
            }
            // The sink's own error (the normaliser keeps it) wins over geozero's string.
            let ended = out.feature_end(index);
            out.finish(ended)?;
            index += 1;
        }
        Ok(None)
    }
}

/// Deepest parentheses of a WKT geometry: a multipolygon has three, one in a geometry
/// collection four.
const MAX_WKT_NESTING: usize = 3 + crate::ingest::normalize::MAX_COLLECTION_DEPTH;

/// How deep the parentheses of `text` nest.
fn wkt_nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_only_when_unambiguous() {
        assert!(matches!(
            cell_value("42", false),
            Some(ColumnValue::Long(42))
        ));
        assert!(matches!(
            cell_value("03355", false),
            Some(ColumnValue::String("03355"))
        ));
        assert!(matches!(cell_value("0.5", false), Some(ColumnValue::Double(f)) if f == 0.5));
        assert!(matches!(cell_value("51,25", true), Some(ColumnValue::Double(f)) if f == 51.25));
        assert!(matches!(
            cell_value("51,25", false),
            Some(ColumnValue::String(_))
        ));
        assert!(matches!(
            cell_value("1.234.567", false),
            Some(ColumnValue::String(_))
        ));
        assert!(matches!(
            cell_value("12a", false),
            Some(ColumnValue::String(_))
        ));
        assert!(matches!(
            cell_value("true", false),
            Some(ColumnValue::Bool(true))
        ));
        assert!(cell_value("  ", false).is_none());
    }

    #[test]
    fn windows_1252_is_decoded() {
        assert_eq!(decode(b"L\xfcneburg", false), "Lüneburg");
        assert_eq!(decode("Lüneburg".as_bytes(), true), "Lüneburg");
    }
}
