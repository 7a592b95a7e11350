//! Zips as hostile input: each entry's bytes are counted as they come out (the sizes a zip
//! declares are the sender's word), an entry may unpack to at most [`MAX_RATIO`] times its
//! packed size and a zip to [`MAX_UNPACKED_BYTES`]; entries are written under names kreisgeo
//! chooses, so no path in the zip ever becomes a path on disk.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::ingest::IngestError;

/// Largest share of a zip's own size one entry may unpack to (DBFs of mostly blank fields
/// reach 30–50, GML 10–20; a zip bomb, thousands).
pub const MAX_RATIO: u64 = 100;

/// Entries up to this size may unpack at any ratio (a small `.prj` or an empty `.dbf`).
pub const RATIO_FREE_BYTES: u64 = 1 << 20;

/// Most bytes one zip may unpack to: a Land's parcels as a Shapefile fit.
pub const MAX_UNPACKED_BYTES: u64 = 16 << 30;

/// Most entries a zip of tiles may have.
pub const MAX_ENTRIES: usize = 100_000;

/// Whether `path` starts as a zip does.
pub fn is_zip(path: &Path) -> Result<bool, IngestError> {
    let mut magic = [0u8; 4];
    let read = File::open(path).and_then(|mut f| f.read(&mut magic));
    match read {
        Ok(4) => Ok(magic == *b"PK\x03\x04"),
        Ok(_) => Ok(false),
        Err(e) => Err(IngestError::io(path, e)),
    }
}

/// The names of a zip's entries.
pub fn names(path: &Path) -> Result<Vec<String>, IngestError> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let archive =
        zip::ZipArchive::new(file).map_err(|e| parse_err(format!("not a readable zip: {e}")))?;
    Ok(archive.file_names().map(str::to_string).collect())
}

fn parse_err(message: impl Into<String>) -> IngestError {
    IngestError::Parse {
        message: format!("zip: {}", message.into()),
    }
}

/// What a whole zip of `zip_bytes` may unpack to: the ratio applies to the zip as it is on
/// disk too, since the sizes its entries declare are the sender's word (entries may even
/// share their data).
pub fn budget(zip_bytes: u64) -> u64 {
    zip_bytes
        .saturating_mul(MAX_RATIO)
        .clamp(RATIO_FREE_BYTES, MAX_UNPACKED_BYTES)
}

/// Writes entry `name` of `archive` to `target`, within the bounds; `unpacked` counts the
/// bytes the zip has unpacked to so far, `budget` what it may ([`budget`]).
pub fn extract<R: io::Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    target: &Path,
    unpacked: &mut u64,
    budget: u64,
) -> Result<(), IngestError> {
    let entry = archive
        .by_name(name)
        .map_err(|e| parse_err(format!("{name}: {e}")))?;
    let allowed = (entry.compressed_size().max(1).saturating_mul(MAX_RATIO))
        .max(RATIO_FREE_BYTES)
        .min(budget.saturating_sub(*unpacked));
    let mut out = File::create(target).map_err(|e| IngestError::io(target, e))?;
    let written =
        io::copy(&mut entry.take(allowed + 1), &mut out).map_err(|e| IngestError::io(target, e))?;
    if written > allowed {
        drop(out);
        let _ = fs::remove_file(target);
        return Err(parse_err(format!(
            "{name} unpacks to more than {allowed} bytes (at most {MAX_RATIO} times its packed \
             size, {} GiB per zip); is it a zip bomb?",
            MAX_UNPACKED_BYTES >> 30
        )));
    }
    *unpacked += written;
    Ok(())
}

/// Extensions of the single-file formats a zip may carry (one file, besides notes).
const SINGLE: &[&str] = &[
    "geojson", "json", "geojsonl", "ndjson", "csv", "tsv", "fgb", "gpkg", "pbf",
];

/// The one data file of a zip that holds a single-file format (a zipped GeoJSON or CSV, as
/// open-data portals publish them, with a licence note beside it); `None` when the zip holds
/// a Shapefile, GML or several data files.
pub fn single_data_file(names: &[String]) -> Option<&String> {
    if names
        .iter()
        .any(|n| matches!(extension(n).as_deref(), Some("shp")) || is_gml_name(n))
    {
        return None;
    }
    let mut data = names.iter().filter(|n| {
        !n.ends_with('/') && extension(n).is_some_and(|e| SINGLE.contains(&e.as_str()))
    });
    let one = data.next()?;
    data.next().is_none().then_some(one)
}

/// A zip's one data file, unpacked (bounded) into a temporary directory under its extension.
pub struct Single {
    _dir: tempfile::TempDir,
    pub file: PathBuf,
}

/// Unpacks the zip's [`single_data_file`], if it has one.
pub fn unpack_single(path: &Path) -> Result<Option<Single>, IngestError> {
    if !is_zip(path)? {
        return Ok(None);
    }
    let names = names(path)?;
    let Some(name) = single_data_file(&names) else {
        return Ok(None);
    };
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let budget = budget(file.metadata().map_err(|e| IngestError::io(path, e))?.len());
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| parse_err(format!("not a readable zip: {e}")))?;
    let dir =
        tempfile::tempdir().map_err(|e| IngestError::io(Path::new("temporary directory"), e))?;
    // The name is kreisgeo's; only the extension is the zip's (the readers look at it).
    let ext = extension(name).unwrap_or_default();
    let target = dir.path().join(format!("data.{ext}"));
    let mut unpacked = 0;
    extract(&mut archive, name, &target, &mut unpacked, budget)?;
    Ok(Some(Single {
        _dir: dir,
        file: target,
    }))
}

/// The GML files (`.gml`, `.xml`) of a zip of tiles, unpacked into a temporary directory in
/// the order of their names.
pub struct Tiles {
    _dir: tempfile::TempDir,
    pub files: Vec<PathBuf>,
}

/// The lower-case extension of an entry name.
fn extension(name: &str) -> Option<String> {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn is_gml_name(name: &str) -> bool {
    !name.ends_with('/') && matches!(extension(name).as_deref(), Some("gml" | "xml"))
}

/// Whether the zip's entries are GML tiles rather than a Shapefile.
pub fn holds_gml(names: &[String]) -> bool {
    !names.iter().any(|n| extension(n).as_deref() == Some("shp"))
        && names.iter().any(|n| is_gml_name(n))
}

pub fn unpack_tiles(path: &Path) -> Result<Tiles, IngestError> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let budget = budget(file.metadata().map_err(|e| IngestError::io(path, e))?.len());
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| parse_err(format!("not a readable zip: {e}")))?;
    let mut names: Vec<String> = archive
        .file_names()
        .filter(|n| is_gml_name(n))
        .map(str::to_string)
        .collect();
    if names.len() > MAX_ENTRIES {
        return Err(parse_err(format!("more than {MAX_ENTRIES} files")));
    }
    if names.is_empty() {
        return Err(parse_err("the zip holds no .gml or .xml file"));
    }
    names.sort();
    if let Some([twice, _]) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(parse_err(format!("{twice} is in the zip twice")));
    }
    let dir =
        tempfile::tempdir().map_err(|e| IngestError::io(Path::new("temporary directory"), e))?;
    let mut unpacked = 0u64;
    let mut files = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let target = dir.path().join(format!("{i:06}.gml"));
        extract(&mut archive, name, &target, &mut unpacked, budget)?;
        files.push(target);
    }
    Ok(Tiles { _dir: dir, files })
}
