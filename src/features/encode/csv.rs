//! CSV output: one row per feature, `id`, the attributes under their source names, and the
//! geometry as WKT in the last column (as GDAL's CSV driver writes and reads it).

use geozero::{CoordDimensions, GeozeroGeometry};

use super::{FeatureEncoder, PageEnd};
use crate::catalog::Version;
use crate::error::{Error, Result};
use crate::value::FeatureRow;

pub const CSV: &str = "text/csv; charset=utf-8";

pub struct CsvEncoder {
    header: Vec<String>,
    dims: CoordDimensions,
}

impl CsvEncoder {
    pub fn new(version: &Version) -> Self {
        let mut header = vec!["id".to_string()];
        header.extend(version.columns.iter().map(|c| c.original.clone()));
        header.push("wkt".to_string());
        Self {
            header,
            dims: if version.has_z {
                CoordDimensions::xyz()
            } else {
                CoordDimensions::xy()
            },
        }
    }
}

fn write_record(out: &mut Vec<u8>, fields: &[String]) -> Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer
        .write_record(fields)
        .and_then(|()| writer.flush().map_err(csv::Error::from))
        .map_err(|e| Error::Internal(format!("CSV encoding: {e}")))
}

impl FeatureEncoder for CsvEncoder {
    fn content_type(&self) -> &'static str {
        CSV
    }

    fn begin(&mut self, out: &mut Vec<u8>) {
        let _ = write_record(out, &self.header);
    }

    fn feature(&mut self, out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        let mut fields = Vec::with_capacity(self.header.len());
        fields.push(row.fid.to_string());
        for value in &row.values {
            fields.push(
                value
                    .as_ref()
                    .map(|v| v.to_text().into_owned())
                    .unwrap_or_default(),
            );
        }
        let wkt = match &row.geometry {
            Some(ewkb) => {
                let mut text = Vec::new();
                let mut writer = geozero::wkt::WktWriter::with_dims(&mut text, self.dims);
                geozero::wkb::Ewkb(ewkb.as_slice())
                    .process_geom(&mut writer)
                    .map_err(|e| {
                        Error::Internal(format!("feature {}: WKT encoding: {e}", row.fid))
                    })?;
                String::from_utf8(text).unwrap_or_default()
            }
            None => String::new(),
        };
        fields.push(wkt);
        write_record(out, &fields)
    }

    fn shows_number_matched(&self) -> bool {
        false
    }

    fn end(&mut self, _out: &mut Vec<u8>, _page: &PageEnd) -> Result<()> {
        Ok(())
    }
}
