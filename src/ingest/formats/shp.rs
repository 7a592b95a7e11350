//! Shapefile input: a `.zip` holding `.shp`, `.shx`, `.dbf` and optionally `.prj` and `.cpg`, or a
//! `.shp` next to its siblings. The CRS comes from the `.prj`, the attribute encoding from the
//! `.cpg` (else the DBF's language driver id, else Windows-1252 as GDAL assumes).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use geozero::shp::ShpReader;

use super::FormatReader;
use crate::ingest::normalize::Normalizer;
use crate::ingest::IngestError;

pub struct ShpFile {
    path: PathBuf,
}

impl ShpFile {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

fn parse_err(message: impl Into<String>) -> IngestError {
    IngestError::Parse {
        message: format!("Shapefile: {}", message.into()),
    }
}

/// The parts of one Shapefile, in a directory of their own.
struct Parts {
    /// Keeps an unpacked zip alive while it is read.
    _dir: Option<tempfile::TempDir>,
    shp: PathBuf,
}

/// A zipped Shapefile unpacked for the whole ingest, so that its passes (survey, load) read
/// the unpacked files instead of unpacking again.
pub struct Unpacked {
    _dir: tempfile::TempDir,
    /// The `.shp` with its siblings beside it.
    pub shp: PathBuf,
}

/// Unpacks `path` if it is a zip; `None` for a `.shp` as it is.
pub fn unpack_once(path: &Path) -> Result<Option<Unpacked>, IngestError> {
    if !super::archive::is_zip(path)? {
        return Ok(None);
    }
    let parts = unpack(path)?;
    Ok(parts._dir.map(|dir| Unpacked {
        _dir: dir,
        shp: parts.shp,
    }))
}

/// Unpacks the `.shp` of a zip and its siblings (same stem) into a temporary directory.
fn unpack(zip_path: &Path) -> Result<Parts, IngestError> {
    let file = File::open(zip_path).map_err(|e| IngestError::io(zip_path, e))?;
    let budget = super::archive::budget(
        file.metadata()
            .map_err(|e| IngestError::io(zip_path, e))?
            .len(),
    );
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| parse_err(format!("not a readable zip: {e}")))?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    let shps: Vec<&String> = names
        .iter()
        .filter(|n| n.to_lowercase().ends_with(".shp"))
        .collect();
    let shp_name = match shps.as_slice() {
        [one] => (*one).clone(),
        [] => return Err(parse_err("the zip holds no .shp file")),
        many => {
            return Err(parse_err(format!(
                "the zip holds several .shp files ({}); zip one dataset per file",
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let stem = &shp_name[..shp_name.len() - 4];
    let dir =
        tempfile::tempdir().map_err(|e| IngestError::io(Path::new("temporary directory"), e))?;
    let mut shp = None;
    let mut unpacked = 0u64;
    for name in names
        .iter()
        .filter(|n| n.len() == stem.len() + 4 && n.starts_with(stem))
    {
        let ext = name[stem.len() + 1..].to_lowercase();
        if !["shp", "shx", "dbf", "prj", "cpg"].contains(&ext.as_str()) {
            continue;
        }
        let target = dir.path().join(format!("data.{ext}"));
        super::archive::extract(&mut archive, name, &target, &mut unpacked, budget)?;
        if ext == "shp" {
            shp = Some(target);
        }
    }
    Ok(Parts {
        shp: shp.ok_or_else(|| parse_err("the zip holds no .shp file"))?,
        _dir: Some(dir),
    })
}

/// A sibling file whatever the case of its extension.
fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_string(), ext.to_uppercase()]
        .into_iter()
        .map(|e| shp.with_extension(e))
        .find(|p| p.is_file())
}

/// The DBF language driver id that makes the reader decode as the `.cpg` says.
fn ldid_for_cpg(cpg: &str) -> Option<u8> {
    let c = cpg.trim().to_ascii_uppercase().replace(['-', '_', ' '], "");
    match c.as_str() {
        "UTF8" | "65001" => Some(0xF0),
        "1252" | "CP1252" | "WINDOWS1252" | "ANSI1252" | "ISO88591" | "88591" | "LATIN1" => {
            Some(0x03)
        }
        "850" | "CP850" | "OEM850" => Some(0x02),
        "437" | "CP437" => Some(0x01),
        _ => None,
    }
}

/// Rewrites the DBF's language driver id so that the reader decodes with the `.cpg` encoding.
fn apply_cpg(dbf: &Path, cpg: &Path, scratch: &Path) -> Result<PathBuf, IngestError> {
    let text = fs::read_to_string(cpg).map_err(|e| IngestError::io(cpg, e))?;
    let Some(ldid) = ldid_for_cpg(&text) else {
        tracing::warn!(
            cpg = text.trim(),
            "unknown .cpg encoding; using the DBF's own"
        );
        return Ok(dbf.to_path_buf());
    };
    let target = scratch.join("data.dbf");
    if target != dbf {
        fs::copy(dbf, &target).map_err(|e| IngestError::io(dbf, e))?;
    }
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&target)
        .map_err(|e| IngestError::io(&target, e))?;
    let mut header = [0u8; 32];
    f.read_exact(&mut header)
        .map_err(|e| IngestError::io(&target, e))?;
    f.seek(SeekFrom::Start(29))
        .and_then(|_| f.write_all(&[ldid]))
        .map_err(|e| IngestError::io(&target, e))?;
    Ok(target)
}

impl FormatReader for ShpFile {
    fn read(&mut self, out: &mut Normalizer<'_>) -> Result<Option<i32>, IngestError> {
        let mut parts = if super::archive::is_zip(&self.path)? {
            unpack(&self.path)?
        } else {
            Parts {
                _dir: None,
                shp: self.path.clone(),
            }
        };
        let crs = match sibling(&parts.shp, "prj") {
            Some(prj) => {
                let wkt = fs::read_to_string(&prj).map_err(|e| IngestError::io(&prj, e))?;
                let code = crate::crs::epsg_from_wkt(&wkt);
                if code.is_none() {
                    out.declare_unmatched_crs(&wkt);
                }
                code
            }
            None => None,
        };
        if let Some(code) = crs {
            out.declare_crs(code);
        }
        let dbf = sibling(&parts.shp, "dbf")
            .ok_or_else(|| parse_err("the .dbf with the attributes is missing"))?;
        let shx = sibling(&parts.shp, "shx");
        let dbf = match sibling(&parts.shp, "cpg") {
            Some(cpg) => {
                let scratch = if let Some(dir) = &parts._dir {
                    dir.path().to_path_buf()
                } else {
                    let dir = tempfile::tempdir()
                        .map_err(|e| IngestError::io(Path::new("temporary directory"), e))?;
                    let path = dir.path().to_path_buf();
                    parts._dir = Some(dir);
                    path
                };
                apply_cpg(&dbf, &cpg, &scratch)?
            }
            None => dbf,
        };

        let open = |p: &Path| {
            File::open(p)
                .map(io::BufReader::new)
                .map_err(|e| IngestError::io(p, e))
        };
        let mut reader = ShpReader::new(open(&parts.shp)?).map_err(|e| parse_err(e.to_string()))?;
        if let Some(shx) = shx {
            reader
                .add_index_source(open(&shx)?)
                .map_err(|e| parse_err(e.to_string()))?;
        }
        reader
            .add_dbf_source(open(&dbf)?)
            .map_err(|e| parse_err(format!(".dbf: {e}")))?;
        let failed = reader
            .iter_features(out)
            .map_err(|e| parse_err(e.to_string()))?
            .enumerate()
            .find_map(|(index, record)| record.err().map(|e| (index, e)))
            .map(|(index, e)| IngestError::Feature {
                index: index as u64,
                field: None,
                message: format!("Shapefile: {e}"),
            });
        // geozero's iterator drops the processor's own errors; the normaliser kept them.
        out.finish(Ok(()))?;
        match failed {
            Some(e) => Err(e),
            None => Ok(crs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpg_names() {
        assert_eq!(ldid_for_cpg("UTF-8\n"), Some(0xF0));
        assert_eq!(ldid_for_cpg("ANSI 1252"), Some(0x03));
        assert_eq!(ldid_for_cpg("klingon"), None);
    }
}
