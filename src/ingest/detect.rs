//! Input format detection, from content first and the file name second.

use std::io::Read;
use std::path::Path;

use super::IngestError;

/// Formats kreisgeo reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    FlatGeobuf,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::GeoJson => "GeoJSON",
            Self::FlatGeobuf => "FlatGeobuf",
        }
    }
}

/// Looks at the first bytes (FlatGeobuf magic, a JSON object), then at the extension.
pub fn detect(path: &Path) -> Result<Format, IngestError> {
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| IngestError::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(b"fgb\x03") {
        return Ok(Format::FlatGeobuf);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Format::GeoJson);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("fgb") => Ok(Format::FlatGeobuf),
        Some("geojson" | "json") => Ok(Format::GeoJson),
        _ => Err(IngestError::UnknownFormat {
            path: path.display().to_string(),
        }),
    }
}
