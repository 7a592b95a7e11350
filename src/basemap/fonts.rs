//! The basemap's glyphs: MapLibre SDF glyph ranges (`{fontstack}/{start}-{end}.pbf`) rendered
//! from DejaVu Sans, which the build embeds from Debian's fonts-dejavu-core (it covers German
//! and the Latin Extended letters of Sorbian place names). A range is rendered the first time
//! it is asked for and kept: there are at most 256 ranges per font.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;

use crate::error::{Error, Result};

/// The fontstacks the style names.
pub const REGULAR: &str = "DejaVu Sans Book";
pub const BOLD: &str = "DejaVu Sans Bold";

#[cfg(basemap_fonts)]
const FILES: [&[u8]; 2] = [
    include_bytes!(concat!(env!("OUT_DIR"), "/basemap-regular.ttf")),
    include_bytes!(concat!(env!("OUT_DIR"), "/basemap-bold.ttf")),
];
#[cfg(not(basemap_fonts))]
const FILES: [&[u8]; 2] = [&[], &[]];

fn faces() -> &'static [Option<glyphore_core::FontFace>; 2] {
    static FACES: OnceLock<[Option<glyphore_core::FontFace>; 2]> = OnceLock::new();
    FACES.get_or_init(|| FILES.map(|bytes| glyphore_core::FontFace::parse(bytes).ok()))
}

/// Rendered glyph ranges by (font, first code point).
#[derive(Debug, Clone, Default)]
pub struct Glyphs {
    ranges: Arc<RwLock<HashMap<(usize, u32), Bytes>>>,
}

impl Glyphs {
    /// The glyphs of `start..=end` in the first font of `stack` (a comma-separated list, as
    /// MapLibre asks) that this server has.
    pub async fn range(&self, stack: &str, range: &str) -> Result<Bytes> {
        let start = parse_range(range)?;
        let font = stack
            .split(',')
            .find_map(|name| [REGULAR, BOLD].iter().position(|f| *f == name.trim()))
            .ok_or_else(|| {
                Error::not_found("font (this server has DejaVu Sans Book and Bold)", stack)
            })?;
        if let Some(hit) = self.read().get(&(font, start)) {
            return Ok(hit.clone());
        }
        let rendered = tokio::task::spawn_blocking(move || render(font, start))
            .await
            .map_err(|e| Error::Internal(format!("glyph renderer failed: {e}")))??;
        if let Ok(mut ranges) = self.ranges.write() {
            ranges.insert((font, start), rendered.clone());
        }
        Ok(rendered)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(usize, u32), Bytes>> {
        self.ranges
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn render(font: usize, start: u32) -> Result<Bytes> {
    let face = faces()[font].as_ref().ok_or_else(|| {
        Error::not_found(
            "font (fonts-dejavu-core was missing when this binary was built)",
            ["DejaVu Sans Book", "DejaVu Sans Bold"][font],
        )
    })?;
    glyphore_core::generate_range(face, start)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("glyphs {start}: {e}")))
}

/// `0-255` → 0; a range must be one of MapLibre's: 256 code points from a multiple of 256.
fn parse_range(range: &str) -> Result<u32> {
    let bad = || {
        Error::invalid(
            "range",
            format!("'{range}' is no glyph range (e.g. 0-255, 256-511, up to 65280-65535)"),
        )
    };
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let (start, end): (u32, u32) = (
        start.parse().map_err(|_| bad())?,
        end.parse().map_err(|_| bad())?,
    );
    if start % 256 != 0 || end != start + 255 || end > 65535 {
        return Err(bad());
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_maplibres_blocks_of_256() {
        assert_eq!(parse_range("0-255").unwrap(), 0);
        assert_eq!(parse_range("256-511").unwrap(), 256);
        for bad in ["1-256", "0-511", "65536-65791", "a-b", "0", "-1-254"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }

    #[cfg(basemap_fonts)]
    #[test]
    fn the_embedded_fonts_are_the_stacks_the_style_names() {
        let [regular, bold] = faces();
        assert_eq!(regular.as_ref().unwrap().fontstack_name(), REGULAR);
        assert_eq!(bold.as_ref().unwrap().fontstack_name(), BOLD);
        // Latin-1 has ä, ö, ü, ß; Latin Extended-A the Sorbian Ł, ě, ć.
        let covered = regular.as_ref().unwrap().covered_ranges();
        assert!(
            covered.contains(&0) && covered.contains(&256),
            "{covered:?}"
        );
    }
}
