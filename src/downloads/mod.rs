//! Bulk downloads: every served version as whole files (GeoJSON, CSV, FlatGeobuf with its
//! spatial index, GeoPackage), built once in the background and stored in PostgreSQL, served
//! with ranges so that a FlatGeobuf client reads just the features of a bounding box.

pub mod build;
pub mod listing;
pub mod store;

use serde::Serialize;
use utoipa::ToSchema;

use crate::crs::WGS84_SRID;

/// The projected CRS the German Länder publish in; FlatGeobuf and GeoPackage come in it too.
pub const UTM32_SRID: i32 = 25832;

/// One kind of download file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub format: Format,
    /// 4326 means CRS84 (longitude first), as GeoJSON and the OGC API serve it.
    pub srid: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    FlatGeobuf,
    GeoPackage,
}

impl Format {
    /// The name stored in `catalog.downloads.format`.
    pub fn code(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Csv => "csv",
            Self::FlatGeobuf => "fgb",
            Self::GeoPackage => "gpkg",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::GeoJson, Self::Csv, Self::FlatGeobuf, Self::GeoPackage]
            .into_iter()
            .find(|f| f.code() == code)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::GeoJson => "application/geo+json",
            Self::Csv => "text/csv",
            Self::FlatGeobuf => "application/flatgeobuf",
            Self::GeoPackage => "application/geopackage+sqlite3",
        }
    }

    /// Code in the EU file-type vocabulary, where it has one.
    pub fn eu_file_type(self) -> Option<&'static str> {
        match self {
            Self::GeoJson => Some("GEOJSON"),
            Self::Csv => Some("CSV"),
            Self::GeoPackage => Some("GPKG"),
            Self::FlatGeobuf => None,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::GeoJson => "GeoJSON",
            Self::Csv => "CSV",
            Self::FlatGeobuf => "FlatGeobuf",
            Self::GeoPackage => "GeoPackage",
        }
    }
}

/// Every file each version gets: CRS84 in all formats, EPSG:25832 also for FlatGeobuf and
/// GeoPackage (the GIS formats, where a county's users work in UTM).
pub const FILES: [FileKind; 6] = [
    FileKind::new(Format::GeoJson, WGS84_SRID),
    FileKind::new(Format::Csv, WGS84_SRID),
    FileKind::new(Format::FlatGeobuf, WGS84_SRID),
    FileKind::new(Format::FlatGeobuf, UTM32_SRID),
    FileKind::new(Format::GeoPackage, WGS84_SRID),
    FileKind::new(Format::GeoPackage, UTM32_SRID),
];

impl FileKind {
    pub const fn new(format: Format, srid: i32) -> Self {
        Self { format, srid }
    }

    /// The file name of a dataset's download: `aed.fgb`, `aed_25832.fgb` …
    pub fn file_name(self, dataset: &str) -> String {
        let extension = self.format.code();
        if self.srid == WGS84_SRID {
            format!("{dataset}.{extension}")
        } else {
            format!("{dataset}_{}.{extension}", self.srid)
        }
    }

    /// The kind a file name asks for, given the dataset.
    pub fn from_file_name(dataset: &str, name: &str) -> Option<Self> {
        FILES.into_iter().find(|k| k.file_name(dataset) == name)
    }
}

/// A built download, as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Download {
    #[serde(skip)]
    pub kind: FileKind,
    /// File name, e.g. `aed_25832.fgb`.
    pub name: String,
    pub href: String,
    #[schema(example = "application/flatgeobuf")]
    pub media_type: &'static str,
    /// The CRS of the coordinates.
    #[schema(example = "http://www.opengis.net/def/crs/OGC/1.3/CRS84")]
    pub crs: String,
    /// The dataset version the file holds.
    pub version: i64,
    pub bytes: i64,
    /// SHA-256 of the file, hex; also its ETag.
    pub sha256: String,
    pub features: i64,
    /// When it was built (ISO 8601, UTC).
    pub created: String,
}
