//! GeoPackage input (OGC 12-128r19), read with SQLite directly: the first feature table (or the
//! one asked for), its SRS from `gpkg_spatial_ref_sys`, geometries from GeoPackage binary.

use std::path::{Path, PathBuf};

use geozero::{ColumnValue, FeatureProcessor, GeozeroGeometry, PropertyProcessor};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::FormatReader;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

pub struct GpkgFile {
    path: PathBuf,
    layer: Option<String>,
}

impl GpkgFile {
    pub fn new(path: &Path, layer: Option<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            layer,
        }
    }
}

/// Longest string or blob a GeoPackage may hand over (SQLite's own limit is 1 GB, and a view
/// could compute one from nothing).
const MAX_VALUE_BYTES: i32 = 64 << 20;

/// Memory SQLite may use in this process, temporary storage included (held in memory, so that
/// this bounds it too).
const HEAP_LIMIT_BYTES: i64 = 1 << 30;

/// How long SQLite may work on one row before the read is stopped.
const ROW_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens a GeoPackage as the hostile file it may be: read-only, defensive, no views, no
/// triggers, no functions from the schema, values and memory bounded, and no row that takes
/// SQLite longer than [`ROW_BUDGET`]. Returns the connection and the mark to move after each
/// row.
fn open_hostile(path: &Path) -> Result<(Connection, RowClock), IngestError> {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    for (setting, on) in [
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
    ] {
        conn.set_db_config(setting, on).map_err(sql_err)?;
    }
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    conn.pragma_update(None, "temp_store", "MEMORY")
        .and_then(|()| conn.pragma_update(None, "hard_heap_limit", HEAP_LIMIT_BYTES))
        .and_then(|()| conn.pragma_update(None, "cell_size_check", true))
        .and_then(|()| conn.pragma_update(None, "mmap_size", 0))
        .map_err(sql_err)?;
    let clock = RowClock::default();
    let row_started = clock.0.clone();
    conn.progress_handler(
        10_000,
        Some(move || {
            let started = *row_started
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            started.elapsed() > ROW_BUDGET
        }),
    );
    Ok((conn, clock))
}

/// When SQLite started on the current row.
#[derive(Clone)]
struct RowClock(std::sync::Arc<std::sync::Mutex<std::time::Instant>>);

impl Default for RowClock {
    fn default() -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(
            std::time::Instant::now(),
        )))
    }
}

impl RowClock {
    fn next_row(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::time::Instant::now();
    }
}

/// Refuses a name of `gpkg_contents` that is not an ordinary table of the file (a view runs
/// SQL; a virtual table, a module's code).
fn require_table(conn: &Connection, name: &str) -> Result<(), IngestError> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .ok();
    match kind.as_deref() {
        Some("table") => Ok(()),
        _ => Err(IngestError::Parse {
            message: format!(
                "GeoPackage: '{name}' is not an ordinary table (views and virtual tables are not read)"
            ),
        }),
    }
}

fn sql_err(e: rusqlite::Error) -> IngestError {
    let message = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => format!(
            "SQLite worked more than {} s on one row; the file is not read",
            ROW_BUDGET.as_secs()
        ),
        Some(rusqlite::ErrorCode::OutOfMemory) => format!(
            "reading it needs more than the {} MiB SQLite may use",
            HEAP_LIMIT_BYTES >> 20
        ),
        Some(rusqlite::ErrorCode::TooBig) => {
            format!("a value is larger than {} MiB", MAX_VALUE_BYTES >> 20)
        }
        _ => e.to_string(),
    };
    IngestError::Parse {
        message: format!("GeoPackage: {message}"),
    }
}

/// SQLite identifier quoting (the table and column names come from the file).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The standard WKB inside a GeoPackage geometry blob, or `None` for an empty geometry.
fn gpkg_wkb(blob: &[u8]) -> Result<Option<&[u8]>, String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("not a GeoPackage geometry (no 'GP' magic)".into());
    }
    let flags = blob[3];
    if flags & 0b1_0000 != 0 {
        return Ok(None);
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => return Err(format!("invalid envelope code {other}")),
    };
    blob.get(8 + envelope..)
        .map(Some)
        .ok_or_else(|| "truncated geometry".to_string())
}

struct Layer {
    table: String,
    geometry_column: String,
    srs_id: i64,
}

impl GpkgFile {
    fn layer(&self, conn: &Connection) -> Result<Layer, IngestError> {
        let mut stmt = conn
            .prepare(
                "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c \
                 JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
                 WHERE c.data_type = 'features' ORDER BY c.table_name",
            )
            .map_err(sql_err)?;
        let layers: Vec<Layer> = stmt
            .query_map([], |r| {
                Ok(Layer {
                    table: r.get(0)?,
                    geometry_column: r.get(1)?,
                    srs_id: r.get(2)?,
                })
            })
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        let names = || {
            layers
                .iter()
                .map(|l| l.table.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(wanted) = &self.layer {
            let all = names();
            layers
                .into_iter()
                .find(|l| &l.table == wanted)
                .ok_or_else(|| IngestError::Parse {
                    message: format!("GeoPackage: no feature table '{wanted}' (tables: {all})"),
                })
        } else {
            if layers.len() > 1 {
                tracing::warn!(tables = %names(), "GeoPackage has several feature tables; reading the first (choose with --layer)");
            }
            layers.into_iter().next().ok_or_else(|| IngestError::Parse {
                message: "GeoPackage: no feature table".into(),
            })
        }
    }
}

impl FormatReader for GpkgFile {
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let (conn, clock) = open_hostile(&self.path)?;
        for table in [
            "gpkg_contents",
            "gpkg_geometry_columns",
            "gpkg_spatial_ref_sys",
        ] {
            require_table(&conn, table)?;
        }
        let layer = self.layer(&conn)?;
        require_table(&conn, &layer.table)?;
        // An EPSG code, else what the definition describes: GDAL writes a CRS it could not
        // identify as organisation NONE with only its WKT (a Gauß-Krüger Shapefile's .prj).
        let crs: Option<i32> = conn
            .query_row(
                "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
                [layer.srs_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i32>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .ok()
            .and_then(|(org, code, definition)| {
                if org.eq_ignore_ascii_case("EPSG") && code > 0 {
                    return Some(code);
                }
                let definition = definition.filter(|d| d != "undefined")?;
                let code = crate::crs::epsg_from_wkt(&definition);
                if code.is_none() {
                    out.declare_unmatched_crs(&definition);
                }
                code
            });
        if let Some(code) = crs {
            out.declare_crs(code);
        }

        // The integer primary key is GeoPackage's feature id, not an attribute.
        let mut info = conn
            .prepare(&format!("PRAGMA table_info({})", quote(&layer.table)))
            .map_err(sql_err)?;
        let columns: Vec<(String, bool)> = info
            .query_map([], |r| {
                Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)? > 0))
            })
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        let order = columns
            .iter()
            .find(|(_, pk)| *pk)
            .map_or_else(|| "rowid".into(), |(n, _)| quote(n));
        let attributes: Vec<String> = columns
            .into_iter()
            .filter(|(name, pk)| !pk && *name != layer.geometry_column)
            .map(|(name, _)| name)
            .collect();
        out.declare_columns(&attributes)?;

        let mut select = String::from("SELECT ");
        select.push_str(&quote(&layer.geometry_column));
        for a in &attributes {
            select.push_str(", ");
            select.push_str(&quote(a));
        }
        select.push_str(&format!(" FROM {} ORDER BY {order}", quote(&layer.table)));
        let mut stmt = conn.prepare(&select).map_err(sql_err)?;
        let mut rows = stmt.query([]).map_err(sql_err)?;
        let mut index = 0u64;
        loop {
            clock.next_row();
            let Some(row) = rows.next().map_err(sql_err)? else {
                break;
            };
            let at = |field: &str, message: String| IngestError::Feature {
                index,
                field: Some(field.to_string()),
                message,
            };
            let geozero_err = |e: geozero::error::GeozeroError| at("geometry", e.to_string());
            out.feature_begin(index).map_err(geozero_err)?;
            for (i, name) in attributes.iter().enumerate() {
                let text;
                let value = match row.get_ref(i + 1).map_err(sql_err)? {
                    ValueRef::Null => {
                        out.null_property(name);
                        continue;
                    }
                    ValueRef::Integer(n) => ColumnValue::Long(n),
                    ValueRef::Real(f) => ColumnValue::Double(f),
                    ValueRef::Text(t) => {
                        text = String::from_utf8_lossy(t);
                        ColumnValue::String(&text)
                    }
                    ValueRef::Blob(b) => ColumnValue::Binary(b),
                };
                out.property(i, name, &value).map_err(geozero_err)?;
            }
            if let ValueRef::Blob(blob) = row.get_ref(0).map_err(sql_err)? {
                if let Some(wkb) = gpkg_wkb(blob).map_err(|m| at(&layer.geometry_column, m))? {
                    out.geometry_begin().map_err(geozero_err)?;
                    geozero::wkb::Wkb(wkb)
                        .process_geom(out)
                        .map_err(geozero_err)?;
                    out.geometry_end().map_err(geozero_err)?;
                }
            }
            // The sink's own error (the normaliser keeps it) wins over geozero's string.
            let ended = out.feature_end(index);
            out.finish(ended)?;
            index += 1;
        }
        Ok(crs)
    }
}

#[cfg(test)]
mod tests {
    use super::gpkg_wkb;

    #[test]
    fn header_sizes() {
        let mut blob = b"GP\x00\x02".to_vec(); // little-endian, envelope code 1 (xy)
        blob.extend_from_slice(&25832i32.to_le_bytes());
        blob.extend_from_slice(&[0u8; 32]);
        blob.extend_from_slice(b"WKB");
        assert_eq!(gpkg_wkb(&blob), Ok(Some(&b"WKB"[..])));
        assert_eq!(gpkg_wkb(b"GP\x00\x10\x00\x00\x00\x00"), Ok(None));
        assert!(gpkg_wkb(b"XX\x00\x00\x00\x00\x00\x00").is_err());
        assert!(gpkg_wkb(b"GP\x00\x0a\x00\x00\x00\x00").is_err());
    }
}
