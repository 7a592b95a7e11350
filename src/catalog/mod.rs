//! The catalog: datasets, their versions and the typed columns of each version's table.
//!
//! These are the types every other layer reads; `repo` holds the SQL over the catalog tables.

pub mod cache;
pub mod packages;
pub mod repo;

use serde::{Deserialize, Serialize};

use crate::db::ident::{Ident, QualifiedTable};

/// What a dataset holds; chooses the ingest profile and the citizen endpoints that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// Cadastre parcels (ALKIS Flurstücke).
    Parcels,
    /// Solar potential of roofs.
    Solar,
    /// Public defibrillators.
    Aed,
    /// Anything else.
    Generic,
    /// Buildings, one feature each with its footprint (CityGML LoD2, ALKIS AX_Gebaeude).
    Buildings,
    /// Roof surfaces, one 3D polygon each with area, tilt and azimuth (CityGML LoD2).
    Roofs,
    /// Addresses: official house coordinates, ALKIS Lagebezeichnungen.
    Addresses,
    /// An OpenStreetMap extract: the basemap's layers, its addresses and the walking network.
    Osm,
    /// Walking minutes from every address to the nearest public defibrillator, and the areas
    /// beyond a threshold (computed by `kreisgeo aed coverage`).
    Coverage,
}

impl DatasetKind {
    pub const ALL: [Self; 9] = [
        Self::Parcels,
        Self::Solar,
        Self::Aed,
        Self::Generic,
        Self::Buildings,
        Self::Roofs,
        Self::Addresses,
        Self::Osm,
        Self::Coverage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parcels => "parcels",
            Self::Solar => "solar",
            Self::Aed => "aed",
            Self::Generic => "generic",
            Self::Buildings => "buildings",
            Self::Roofs => "roofs",
            Self::Addresses => "addresses",
            Self::Osm => "osm",
            Self::Coverage => "coverage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "parcels" => Some(Self::Parcels),
            "solar" => Some(Self::Solar),
            "aed" => Some(Self::Aed),
            "generic" => Some(Self::Generic),
            "buildings" => Some(Self::Buildings),
            "roofs" => Some(Self::Roofs),
            "addresses" => Some(Self::Addresses),
            "osm" => Some(Self::Osm),
            "coverage" => Some(Self::Coverage),
            _ => None,
        }
    }
}

/// The storage type of an attribute column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Float,
    Boolean,
    Text,
    Json,
    /// ISO 8601 calendar date (`2014-02-14`).
    Date,
    /// ISO 8601 date and time without a zone (`2019-10-04T00:00:00`).
    Timestamp,
    /// ISO 8601 date and time in UTC (`2014-02-14T11:31:00Z`).
    TimestampTz,
}

impl ColumnType {
    /// The PostgreSQL type the column is created with.
    pub fn sql_type(self) -> &'static str {
        match self {
            Self::Integer => "bigint",
            Self::Float => "double precision",
            Self::Boolean => "boolean",
            Self::Text => "text",
            Self::Json => "jsonb",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::TimestampTz => "timestamptz",
        }
    }

    /// The type's name in the API (queryables and messages), as JSON Schema would say it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Float => "number",
            Self::Boolean => "boolean",
            Self::Text => "string",
            Self::Json => "JSON",
            Self::Date => "date",
            Self::Timestamp | Self::TimestampTz => "date-time",
        }
    }

    /// The JSON Schema `type` and `format` of the column's values as served (queryables,
    /// tileset layers).
    pub fn json_schema(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Integer => ("integer", None),
            Self::Float => ("number", None),
            Self::Boolean => ("boolean", None),
            Self::Date => ("string", Some("date")),
            Self::Timestamp | Self::TimestampTz => ("string", Some("date-time")),
            Self::Text | Self::Json => ("string", None),
        }
    }

    /// How a column of this type is selected for output: JSON and temporal values as text in
    /// exactly the form they were read in, so that they round-trip.
    pub fn select_expr(self, column: &Ident) -> String {
        match self {
            Self::Json => format!("{column}::text"),
            Self::Date => format!("to_char({column}, 'YYYY-MM-DD')"),
            Self::Timestamp => format!("to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"),
            Self::TimestampTz => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
            }
            _ => column.to_string(),
        }
    }
}

/// One attribute column of a version table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The sanitised SQL column name.
    pub name: String,
    /// The property name the API serves: the source file's, or for an attribute of a kind's
    /// profile its canonical name, the same in every county.
    pub original: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// The property name in the source file where the profile serves the column under its
    /// canonical name (`FLSTKENNZ` for `flurstueckskennzeichen`); shown in the queryables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Column {
    /// The property name in the source file: what an ingest reads the values by.
    pub fn source_name(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.original)
    }

    pub fn ident(&self) -> Ident {
        Ident::new(&self.name)
    }
}

/// One loaded version of a dataset.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: i64,
    pub dataset_id: String,
    pub table_name: String,
    pub columns: Vec<Column>,
    pub has_z: bool,
    pub feature_count: i64,
    /// Extent in CRS84 (minx, miny, maxx, maxy).
    pub bbox: Option<[f64; 4]>,
    /// The CRS of the source file, in which the table stores the geometries.
    pub source_crs: i32,
    /// Checksum of the file it was loaded from.
    pub source_sha256: String,
    /// The table has a `tile_size` column: each feature's size as the vector tiles thin by it
    /// (`tiles::mvt`), computed at load. Versions loaded before it existed have none.
    pub tile_sizes: bool,
    /// The version's copy for Web Mercator tiles, with each geometry also in EPSG:3857
    /// ([`crate::tiles::mercator`]); `None` until it is built, and for tables stored in 3857.
    pub tile_table: Option<String>,
    /// When the version was loaded, RFC 3339 as rendered by PostgreSQL.
    pub created_at: String,
}

impl Version {
    /// The table holding this version's features.
    pub fn table(&self) -> QualifiedTable {
        QualifiedTable::data(&self.table_name)
    }

    /// The geometry in `srid`: as stored when that is the table's CRS (exactly the source
    /// coordinates), transformed otherwise. `srid` is a served or catalog integer.
    pub fn geometry_in(&self, srid: i32) -> String {
        if srid == self.source_crs {
            "geom".to_string()
        } else {
            format!("ST_Transform(geom, {srid})")
        }
    }
}

/// A dataset as served: its metadata and the active version.
#[derive(Debug, Clone)]
pub struct Collection {
    pub id: String,
    pub kind: DatasetKind,
    pub title: String,
    pub description: Option<String>,
    pub version: Version,
    pub tiles: TileSettings,
}

/// How a dataset's vector tiles are cut (`kreisgeo datasets tiles`); unset fields take the
/// defaults of `tiles::mvt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileSettings {
    /// Most features per tile; the largest are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_features: Option<u32>,
    /// The first WebMercatorQuad zoom whose tiles carry attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_from_zoom: Option<u8>,
    /// The attributes tiles carry (served names); all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<String>>,
}

/// Checks a dataset id: lowercase ASCII letters, digits, `_` and `-`, 1–48 characters, starting
/// with a letter or digit. It becomes part of URLs and table names.
pub fn validate_dataset_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 48
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "dataset id '{id}' must be 1-48 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"
        ))
    }
}
