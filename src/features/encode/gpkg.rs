//! GeoPackage 1.3 output (a SQLite file, as GDAL and QGIS open it): one feature table with the
//! source's attribute names and types, geometries in GeoPackage binary with their envelopes,
//! the CRS's definition from PostGIS. Written to a temporary file and copied out at the end, so
//! memory stays small whatever the size.
//!
//! Names come from the catalog (dataset id, the source's attribute names); they are quoted as
//! SQLite identifiers here because this SQL runs on the temporary file, not on PostgreSQL.

use std::io::Write;

use geozero::bounds::BoundsProcessor;
use geozero::wkb::Ewkb;
use geozero::{CoordDimensions, GeozeroGeometry, ToWkb};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

use super::{FeatureEncoder, PageEnd};
use crate::catalog::{ColumnType, Version};
use crate::error::{Error, Result};
use crate::value::{FeatureRow, Value};

pub const GEOPACKAGE: &str = "application/geopackage+sqlite3";

/// "GPKG" as the SQLite application id, and version 1.3.0.
const APPLICATION_ID: i32 = 0x4750_4B47;
const USER_VERSION: i32 = 10300;

pub struct GpkgEncoder {
    file: tempfile::NamedTempFile,
    db: Option<Connection>,
    table: String,
    srid: i32,
    dims: CoordDimensions,
    insert: String,
    extent: Option<[f64; 4]>,
}

fn failed(e: rusqlite::Error) -> Error {
    Error::Internal(format!("GeoPackage writer: {e}"))
}

/// A SQLite identifier: in double quotes, inner quotes doubled.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl GpkgEncoder {
    /// A GeoPackage for `version` in `srid`, whose OGC WKT definition is `wkt`.
    pub fn new(version: &Version, srid: i32, wkt: &str) -> Result<Self> {
        let file = tempfile::NamedTempFile::new()
            .map_err(|e| Error::Internal(format!("GeoPackage file: {e}")))?;
        let db = Connection::open(file.path()).map_err(failed)?;
        let table = version.dataset_id.clone();
        let mut columns = String::new();
        for c in &version.columns {
            let ty = match c.ty {
                ColumnType::Integer => "INTEGER",
                ColumnType::Float => "DOUBLE",
                ColumnType::Boolean => "BOOLEAN",
                ColumnType::Text | ColumnType::Json => "TEXT",
                ColumnType::Date => "DATE",
                ColumnType::Timestamp | ColumnType::TimestampTz => "DATETIME",
            };
            columns.push_str(&format!(", {} {ty}", quote(&c.original)));
        }
        let (srs_name, organization) = if srid == crate::crs::WGS84_SRID {
            ("WGS 84 geodetic", "EPSG")
        } else {
            ("", "EPSG")
        };
        db.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {USER_VERSION};
             PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
               organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
               definition TEXT NOT NULL, description TEXT);
             CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
               data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
               last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
               min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
               CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
             CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL,
               column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
               srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
               CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
               CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
               CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
             INSERT INTO gpkg_spatial_ref_sys VALUES
               ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),
               ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL);
             CREATE TABLE {table} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
               geom GEOMETRY{columns});
             BEGIN;",
            table = quote(&table),
        ))
        .map_err(failed)?;
        db.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?2, ?4, NULL)",
            rusqlite::params![
                if srs_name.is_empty() {
                    format!("EPSG:{srid}")
                } else {
                    srs_name.to_string()
                },
                srid,
                organization,
                wkt
            ],
        )
        .map_err(failed)?;
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) \
             VALUES (?1, 'features', ?1, ?2)",
            rusqlite::params![table, srid],
        )
        .map_err(failed)?;
        db.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', 'GEOMETRY', ?2, ?3, 0)",
            rusqlite::params![table, srid, i32::from(version.has_z)],
        )
        .map_err(failed)?;
        let placeholders: String = (0..version.columns.len())
            .map(|i| format!(", ?{}", i + 3))
            .collect();
        let names: String = version
            .columns
            .iter()
            .map(|c| format!(", {}", quote(&c.original)))
            .collect();
        Ok(Self {
            file,
            db: Some(db),
            insert: format!(
                "INSERT INTO {} (fid, geom{names}) VALUES (?1, ?2{placeholders})",
                quote(&table)
            ),
            table,
            srid,
            dims: if version.has_z {
                CoordDimensions::xyz()
            } else {
                CoordDimensions::xy()
            },
            extent: None,
        })
    }

    /// GeoPackage binary: header with the SRS and the envelope, then ISO WKB.
    fn geometry(&mut self, ewkb: &[u8]) -> Result<Vec<u8>> {
        let mut bounds = BoundsProcessor::new();
        Ewkb(ewkb)
            .process_geom(&mut bounds)
            .map_err(|e| Error::Internal(format!("GeoPackage geometry: {e}")))?;
        let envelope = match bounds.bounds() {
            Some(b) => {
                let e = self
                    .extent
                    .get_or_insert([b.min_x(), b.min_y(), b.max_x(), b.max_y()]);
                e[0] = e[0].min(b.min_x());
                e[1] = e[1].min(b.min_y());
                e[2] = e[2].max(b.max_x());
                e[3] = e[3].max(b.max_y());
                vec![b.min_x(), b.max_x(), b.min_y(), b.max_y()]
            }
            None => Vec::new(),
        };
        Ewkb(ewkb)
            .to_gpkg_wkb(self.dims, Some(self.srid), envelope)
            .map_err(|e| Error::Internal(format!("GeoPackage geometry: {e}")))
    }
}

impl FeatureEncoder for GpkgEncoder {
    fn content_type(&self) -> &'static str {
        GEOPACKAGE
    }

    fn begin(&mut self, _out: &mut Vec<u8>) {}

    fn feature(&mut self, _out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        let geometry = match &row.geometry {
            Some(ewkb) => SqlValue::Blob(self.geometry(ewkb)?),
            None => SqlValue::Null,
        };
        let mut values = Vec::with_capacity(row.values.len() + 2);
        values.push(SqlValue::Integer(row.fid));
        values.push(geometry);
        for v in &row.values {
            values.push(match v {
                None => SqlValue::Null,
                Some(Value::Int(n)) => SqlValue::Integer(*n),
                Some(Value::Float(f)) => SqlValue::Real(*f),
                Some(Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
                Some(Value::Text(s) | Value::Json(s)) => SqlValue::Text(s.clone()),
            });
        }
        let Some(db) = self.db.as_ref() else {
            return Ok(());
        };
        db.prepare_cached(&self.insert)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
            .map_err(|e| Error::Internal(format!("feature {}: GeoPackage: {e}", row.fid)))?;
        Ok(())
    }

    fn shows_number_matched(&self) -> bool {
        false
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        self.end_into(out, page)
    }

    fn end_into(&mut self, out: &mut dyn Write, _page: &PageEnd) -> Result<()> {
        let Some(db) = self.db.take() else {
            return Ok(());
        };
        if let Some([min_x, min_y, max_x, max_y]) = self.extent {
            db.execute(
                "UPDATE gpkg_contents SET min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5 \
                 WHERE table_name = ?1",
                rusqlite::params![self.table, min_x, min_y, max_x, max_y],
            )
            .map_err(failed)?;
        }
        db.execute_batch("COMMIT;").map_err(failed)?;
        db.close().map_err(|(_, e)| failed(e))?;
        let mut file = std::fs::File::open(self.file.path())
            .map_err(|e| Error::Internal(format!("GeoPackage file: {e}")))?;
        std::io::copy(&mut file, out)
            .map_err(|e| Error::Internal(format!("GeoPackage file: {e}")))?;
        Ok(())
    }
}
