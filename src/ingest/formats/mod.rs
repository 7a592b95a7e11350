//! Input formats. A format is one [`FormatReader`]: it streams its features as geozero events
//! into the [`Normalizer`]; everything after that (schema, CRS, COPY) is shared.

mod csv;
mod fgb;
mod geojson;
mod geojson_seq;
mod json_stream;
mod overpass;

use std::path::Path;

pub use self::csv::CsvOptions;
use super::detect::Format;
use super::normalize::Normalizer;
use super::IngestError;

/// A readable input file. Each call to [`FormatReader::read`] reads the file from its start.
pub trait FormatReader: Send {
    /// CRS to assume when the file declares none (GeoJSON: CRS84 per RFC 7946).
    fn default_crs(&self) -> Option<i32> {
        None
    }

    /// Streams every feature into `out` and returns the CRS (EPSG code) the file declares.
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError>;
}

/// The reader for `format` over `path`.
pub fn open(format: Format, path: &Path, csv: &CsvOptions) -> Box<dyn FormatReader> {
    match format {
        Format::Csv => Box::new(self::csv::CsvFile::new(path, csv.clone())),
        Format::GeoJson => Box::new(geojson::GeoJsonFile::new(path)),
        Format::GeoJsonSeq => Box::new(geojson_seq::GeoJsonSeqFile::new(path)),
        Format::FlatGeobuf => Box::new(fgb::FgbFile::new(path)),
        Format::Overpass => Box::new(overpass::OverpassFile::new(path)),
    }
}
