//! Input formats. A format is one [`FormatReader`]: it streams its features as geozero events
//! into the [`Normalizer`]; everything after that (schema, CRS, COPY) is shared.

pub mod archive;
mod bounded;
mod csv;
mod fgb;
mod geojson;
mod geojson_seq;
mod gml;
mod gpkg;
mod json_stream;
mod overpass;
mod shp;

use std::path::Path;

use super::detect::Format;
use super::normalize::Normalizer;
use super::IngestError;

/// Format-specific reading options; `None` fields are detected from the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// CSV: column with longitude / easting.
    pub x: Option<String>,
    /// CSV: column with latitude / northing.
    pub y: Option<String>,
    /// CSV: column with WKT geometries.
    pub wkt: Option<String>,
    /// CSV: field delimiter.
    pub delimiter: Option<u8>,
    /// Layer (table) of a multi-layer file such as a GeoPackage, or feature type of a GML file.
    pub layer: Option<String>,
    /// The kind of dataset being loaded, for formats whose reading depends on it (NAS: the
    /// feature type of a parcels dataset; CityGML: buildings or roofs). Set by the ingest
    /// from its request.
    pub kind: Option<crate::catalog::DatasetKind>,
    /// Further files of the same set, read after the first as one dataset (CityGML tiles).
    pub more_files: Vec<std::path::PathBuf>,
}

/// A readable input file. Each call to [`FormatReader::read`] reads the file from its start.
pub trait FormatReader: Send {
    /// CRS to assume when the file declares none (GeoJSON: CRS84 per RFC 7946).
    fn default_crs(&self) -> Option<i32> {
        None
    }

    /// Streams every feature into `out` and returns the CRS (EPSG code) the file declares.
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError>;
}

pub use shp::{unpack_once, Unpacked};

/// The reader for `format` over `path`.
pub fn open(format: Format, path: &Path, options: &ReadOptions) -> Box<dyn FormatReader> {
    match format {
        Format::Csv => Box::new(self::csv::CsvFile::new(path, options.clone())),
        Format::GeoJson => Box::new(geojson::GeoJsonFile::new(path)),
        Format::GeoJsonSeq => Box::new(geojson_seq::GeoJsonSeqFile::new(path)),
        Format::FlatGeobuf => Box::new(fgb::FgbFile::new(path)),
        Format::Gml => Box::new(gml::GmlFile::new(
            path,
            &options.more_files,
            options.layer.clone(),
            options.kind,
        )),
        Format::GeoPackage => Box::new(gpkg::GpkgFile::new(path, options.layer.clone())),
        Format::Overpass => Box::new(overpass::OverpassFile::new(path)),
        Format::Shapefile => Box::new(shp::ShpFile::new(path)),
        Format::OsmPbf | Format::OsmChange => Box::new(Layered(format)),
    }
}

/// A format of several layers and tables of its own (OSM PBF): [`crate::osm`] loads it, never
/// this single-table pipeline.
struct Layered(Format);

impl FormatReader for Layered {
    fn read(&mut self, _out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        Err(IngestError::Parse {
            message: format!(
                "{} files are loaded by their own ingest (kind osm)",
                self.0.name()
            ),
        })
    }
}
