//! Tile matrix sets and tile addressing.
//!
//! OGC API Tiles paths are `{tileMatrix}/{tileRow}/{tileCol}` = z/y/x; XYZ clients say z/x/y.
//! This module is the one place that knows both.

use crate::error::{Error, Result};

/// Identifier of the only tile matrix set so far.
pub const WEB_MERCATOR_QUAD: &str = "WebMercatorQuad";

/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 24;

/// A tile of WebMercatorQuad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileCoord {
    /// Validates an OGC-ordered address (matrix, row, column) against the matrix set.
    pub fn from_ogc(tms: &str, matrix: &str, row: &str, col: &str) -> Result<Self> {
        if tms != WEB_MERCATOR_QUAD {
            return Err(Error::not_found("tile matrix set", tms));
        }
        let z: u8 = parse_part("tileMatrix", matrix)?;
        let y: u32 = parse_part("tileRow", row)?;
        let x: u32 = parse_part("tileCol", col)?;
        if z > MAX_ZOOM {
            return Err(Error::not_found(
                "tile matrix",
                format!("{tms}/{z} (deepest is {MAX_ZOOM})"),
            ));
        }
        let size = 1u64 << z;
        if u64::from(x) >= size || u64::from(y) >= size {
            return Err(Error::not_found(
                "tile",
                format!("{tms}/{z}/{y}/{x} (row and column must be below {size})"),
            ));
        }
        Ok(Self { z, x, y })
    }
}

fn parse_part<T: std::str::FromStr>(name: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::invalid(name, format!("'{s}' is not a non-negative integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let t = TileCoord::from_ogc(WEB_MERCATOR_QUAD, "3", "2", "5").unwrap();
        assert_eq!((t.z, t.x, t.y), (3, 5, 2));
        assert!(matches!(
            TileCoord::from_ogc(WEB_MERCATOR_QUAD, "3", "8", "0"),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            TileCoord::from_ogc(WEB_MERCATOR_QUAD, "25", "0", "0"),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            TileCoord::from_ogc(WEB_MERCATOR_QUAD, "a", "0", "0"),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            TileCoord::from_ogc("Foo", "0", "0", "0"),
            Err(Error::NotFound { .. })
        ));
    }
}
