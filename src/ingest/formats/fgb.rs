//! FlatGeobuf input, read sequentially (no seeking, no index needed).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use flatgeobuf::FgbReader;
use geozero::GeozeroDatasource;

use super::FormatReader;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

pub struct FgbFile {
    path: PathBuf,
}

impl FgbFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl FormatReader for FgbFile {
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let file = File::open(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        let reader = FgbReader::open(BufReader::with_capacity(1 << 16, file)).map_err(|e| {
            IngestError::Parse {
                message: format!("not a readable FlatGeobuf file: {e}"),
            }
        })?;
        let crs = reader
            .header()
            .crs()
            .map(|c| c.code())
            .filter(|code| *code > 0);
        if let Some(code) = crs {
            out.declare_crs(code);
        }
        let columns: Vec<String> = reader
            .header()
            .columns()
            .map(|cols| cols.iter().map(|c| c.name().to_string()).collect())
            .unwrap_or_default();
        out.declare_columns(&columns)?;
        let mut features = reader.select_all_seq().map_err(|e| IngestError::Parse {
            message: format!("FlatGeobuf: {e}"),
        })?;
        let result = features.process(out);
        out.finish(result)?;
        Ok(crs)
    }
}
