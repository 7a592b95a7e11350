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

/// Largest feature a FlatGeobuf file may declare (as for a GeoJSON feature).
const MAX_FEATURE_BYTES: u64 = super::bounded::MAX_JSON_FEATURE_BYTES;

/// Index entries of the packed R-tree: 40 bytes each (four f64 and a u64 offset).
const NODE_ITEM_BYTES: u64 = 40;

/// Checks what the file declares against what it holds before the reader believes it: the
/// flatgeobuf crate allocates each feature's declared size (up to 4 GiB) before reading it,
/// and panics on an index node size below 2.
fn check_layout(path: &Path, header: &flatgeobuf::Header<'_>) -> Result<(), IngestError> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |message: String| IngestError::Parse {
        message: format!("FlatGeobuf: {message}"),
    };
    let mut file = BufReader::with_capacity(
        1 << 16,
        File::open(path).map_err(|e| IngestError::io(path, e))?,
    );
    let length = file
        .get_ref()
        .metadata()
        .map_err(|e| IngestError::io(path, e))?
        .len();
    let mut size = [0u8; 4];
    file.seek(SeekFrom::Start(8))
        .and_then(|_| file.read_exact(&mut size))
        .map_err(|e| IngestError::io(path, e))?;
    let header_bytes = u64::from(u32::from_le_bytes(size));
    let (count, node_size) = (header.features_count(), header.index_node_size());
    let index = match (node_size, count) {
        (0, _) | (_, 0) => 0,
        (1, _) => return Err(bad("an index node size of 1".into())),
        (node_size, count) => {
            // The packed R-tree's size, in checked arithmetic: the count is the file's word.
            let (mut n, mut nodes) = (count, count);
            while n > 1 {
                n = n.div_ceil(u64::from(node_size));
                nodes = nodes.saturating_add(n);
            }
            nodes.saturating_mul(NODE_ITEM_BYTES)
        }
    };
    let mut at = 12u64.saturating_add(header_bytes).saturating_add(index);
    if at > length {
        return Err(bad(format!(
            "the header and index declare {at} bytes; the file has {length}"
        )));
    }
    file.seek(SeekFrom::Start(at))
        .map_err(|e| IngestError::io(path, e))?;
    let mut feature = 0u64;
    while at < length {
        file.read_exact(&mut size)
            .map_err(|_| bad(format!("feature {feature} is cut off")))?;
        let declared = u64::from(u32::from_le_bytes(size));
        if declared > MAX_FEATURE_BYTES || at + 4 + declared > length {
            return Err(bad(format!(
                "feature {feature} declares {declared} bytes; at most {} MiB and what the file holds are allowed",
                MAX_FEATURE_BYTES >> 20
            )));
        }
        // Within the buffer for small features: no system call per feature.
        file.seek_relative(declared as i64)
            .map_err(|e| IngestError::io(path, e))?;
        at += 4 + declared;
        feature += 1;
    }
    Ok(())
}

impl FormatReader for FgbFile {
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let file = File::open(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        let reader = FgbReader::open(BufReader::with_capacity(1 << 16, file)).map_err(|e| {
            IngestError::Parse {
                message: format!("not a readable FlatGeobuf file: {e}"),
            }
        })?;
        check_layout(&self.path, &reader.header())?;
        // The EPSG code, else what the header's WKT describes.
        let crs = reader.header().crs().and_then(|c| {
            if c.code() > 0 {
                return Some(c.code());
            }
            let wkt = c.wkt()?;
            let code = crate::crs::epsg_from_wkt(wkt);
            if code.is_none() {
                out.declare_unmatched_crs(wkt);
            }
            code
        });
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
