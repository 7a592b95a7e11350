//! Newline-delimited GeoJSON (GeoJSONSeq, "GeoJSONL"): one Feature per line, optionally with the
//! RFC 8142 record separator. Blank lines are skipped; errors name the line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::bounded::{refusal, Bounded, MAX_JSON_FEATURE_BYTES};
use super::geojson::{emit_feature, RawFeature};
use super::FormatReader;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

pub struct GeoJsonSeqFile {
    path: PathBuf,
}

impl GeoJsonSeqFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl FormatReader for GeoJsonSeqFile {
    fn default_crs(&self) -> Option<i32> {
        Some(crate::crs::WGS84_SRID)
    }

    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let file = File::open(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        let (file, mark) = Bounded::new(file, MAX_JSON_FEATURE_BYTES, "line");
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut line = String::new();
        let mut number = 0u64;
        let mut index = 0u64;
        loop {
            line.clear();
            number += 1;
            mark.next_record();
            let read = reader.read_line(&mut line).map_err(|e| match refusal(&e) {
                Some(message) => IngestError::Parse {
                    message: format!("GeoJSONSeq line {number}: {message}"),
                },
                None => IngestError::io(&self.path, e),
            })?;
            if read == 0 {
                return Ok(None);
            }
            let text = line.trim_start_matches('\u{1e}').trim();
            if text.is_empty() {
                continue;
            }
            let feature: RawFeature =
                serde_json::from_str(text).map_err(|e| IngestError::Parse {
                    message: format!("GeoJSONSeq line {number}: {e}"),
                })?;
            emit_feature(&feature, index, out)?;
            index += 1;
        }
    }
}
