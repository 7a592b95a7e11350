//! FlatGeobuf output: the page as one FlatGeobuf file with its spatial index, in the requested
//! CRS, so that GDAL, QGIS and the flatgeobuf libraries read it as they read a download.
//!
//! FlatGeobuf puts the header (feature count, extent) and the index before the features, so the
//! file can only be written once the page is complete; the features wait in the writer's
//! temporary file, not in memory.

use flatgeobuf::{ColumnType as FgbType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::error::Result as GeozeroResult;
use geozero::{ColumnValue, GeomProcessor, GeozeroGeometry, PropertyProcessor};

use super::{FeatureEncoder, PageEnd};
use crate::catalog::{ColumnType, Version};
use crate::crs::ApiCrs;
use crate::error::{Error, Result};
use crate::value::{FeatureRow, Value};

pub const FLATGEOBUF: &str = "application/flatgeobuf";

pub struct FgbEncoder {
    writer: Option<FgbWriter<'static>>,
    names: Vec<String>,
}

impl FgbEncoder {
    pub fn new(version: &Version, crs: &ApiCrs) -> Result<Self> {
        let failed = |e: flatgeobuf::Error| Error::Internal(format!("FlatGeobuf writer: {e}"));
        let mut writer = FgbWriter::create_with_options(
            &version.dataset_id,
            GeometryType::Unknown,
            FgbWriterOptions {
                write_index: true,
                detect_type: false,
                promote_to_multi: false,
                has_z: version.has_z,
                crs: FgbCrs {
                    code: crs.srid,
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .map_err(failed)?;
        for c in &version.columns {
            let ty = match c.ty {
                ColumnType::Integer => FgbType::Long,
                ColumnType::Float => FgbType::Double,
                ColumnType::Boolean => FgbType::Bool,
                ColumnType::Text => FgbType::String,
                ColumnType::Json => FgbType::Json,
                ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz => {
                    FgbType::DateTime
                }
            };
            writer.add_column(&c.original, ty, |_, column| column.nullable = true);
        }
        Ok(Self {
            writer: Some(writer),
            names: version.columns.iter().map(|c| c.original.clone()).collect(),
        })
    }
}

fn write_properties<P: PropertyProcessor>(
    feature: &mut P,
    names: &[String],
    values: &[Option<Value>],
) {
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        let value = match value {
            None => continue,
            Some(Value::Int(n)) => ColumnValue::Long(*n),
            Some(Value::Float(f)) => ColumnValue::Double(*f),
            Some(Value::Bool(b)) => ColumnValue::Bool(*b),
            Some(Value::Text(s)) => ColumnValue::String(s),
            Some(Value::Json(s)) => ColumnValue::Json(s),
        };
        // The writer's property events cannot fail.
        let _ = feature.property(i, name, &value);
    }
}

/// A geometry that emits nothing: a feature without one.
struct NoGeometry;

impl GeozeroGeometry for NoGeometry {
    fn process_geom<P: GeomProcessor>(&self, _processor: &mut P) -> GeozeroResult<()> {
        Ok(())
    }
}

impl FeatureEncoder for FgbEncoder {
    fn content_type(&self) -> &'static str {
        FLATGEOBUF
    }

    fn begin(&mut self, _out: &mut Vec<u8>) {}

    fn feature(&mut self, _out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let names = &self.names;
        let values = &row.values;
        let written = match &row.geometry {
            Some(ewkb) => writer.add_feature_geom(geozero::wkb::Ewkb(ewkb.as_slice()), |f| {
                write_properties(f, names, values);
            }),
            None => writer.add_feature_geom(NoGeometry, |f| write_properties(f, names, values)),
        };
        written.map_err(|e| Error::Internal(format!("feature {}: FlatGeobuf: {e}", row.fid)))
    }

    fn shows_number_matched(&self) -> bool {
        false
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        self.end_into(out, page)
    }

    fn end_into(&mut self, out: &mut dyn std::io::Write, _page: &PageEnd) -> Result<()> {
        match self.writer.take() {
            Some(writer) => writer
                .write(out)
                .map_err(|e| Error::Internal(format!("FlatGeobuf writer: {e}"))),
            None => Ok(()),
        }
    }
}
