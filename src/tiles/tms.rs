//! Tile matrix sets and tile addressing.
//!
//! OGC API Tiles paths are `{tileMatrix}/{tileRow}/{tileCol}` = z/y/x; XYZ clients say z/x/y.
//! This module is the one place that knows both.

use crate::crs::Bbox;
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

impl TileCoord {
    /// The tile's bounds in WGS 84 lon/lat, grown by `margin` tile widths on each side (the
    /// render buffer), clamped to the matrix. Web Mercator is separable, so this rectangle is
    /// exactly the tile's.
    pub fn lon_lat_bounds(&self, margin: f64) -> Bbox {
        let n = f64::from(1u32 << self.z);
        let lon = |x: f64| (x / n * 360.0 - 180.0).clamp(-180.0, 180.0);
        let lat = |y: f64| {
            let y = y.clamp(0.0, n);
            (std::f64::consts::PI * (1.0 - 2.0 * y / n))
                .sinh()
                .atan()
                .to_degrees()
        };
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        Bbox::lon_lat(
            lon(x - margin),
            lat(y + 1.0 + margin),
            lon(x + 1.0 + margin),
            lat(y - margin),
        )
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
    fn bounds() {
        let world = TileCoord { z: 0, x: 0, y: 0 }.lon_lat_bounds(0.0);
        assert_eq!((world.min_x, world.max_x), (-180.0, 180.0));
        assert!((world.max_y - 85.051_128_779_806_6).abs() < 1e-9);
        // z10 tile over Lüneburg.
        let t = TileCoord {
            z: 10,
            x: 541,
            y: 332,
        }
        .lon_lat_bounds(0.0);
        assert!(t.min_x < 10.41 && 10.41 < t.max_x && t.min_y < 53.25 && 53.25 < t.max_y);
    }

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
