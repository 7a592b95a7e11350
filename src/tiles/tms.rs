//! Tile matrix sets (OGC Two Dimensional Tile Matrix Set 2.0) and tile addressing.
//!
//! OGC API Tiles paths are `{tileMatrix}/{tileRow}/{tileCol}` = z/y/x; XYZ clients say z/x/y.
//! This module is the one place that knows both. Both sets served are quadtrees with 256-pixel
//! tiles whose origin is the top-left corner, so one description covers them.

use serde_json::{json, Value as Json};

use crate::crs::{Bbox, Point};
use crate::error::{Error, Result};

/// Identifier of the Web Mercator set every web map uses.
pub const WEB_MERCATOR_QUAD: &str = "WebMercatorQuad";

/// Identifier of the AdV tiling scheme for Germany in ETRS89 / UTM 32N, as ldproxy and
/// basemap.de (`DE_EPSG_25832_ADV`) define it.
pub const ADV_25832: &str = "AdV_25832";

/// Pixels per tile side, and the size of a pixel in metres OGC scale denominators assume.
const TILE_PIXELS: f64 = 256.0;
const PIXEL_METRES: f64 = 0.00028;

/// A quadtree tile matrix set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileMatrixSet {
    pub id: &'static str,
    pub title: &'static str,
    /// The OGC URI of a registered set, if it has one.
    pub uri: Option<&'static str>,
    pub srid: i32,
    /// Top-left corner of tile 0/0/0, in the set's CRS (easting, northing).
    pub origin: (f64, f64),
    /// Side of tile 0/0/0 in CRS units.
    pub size: f64,
    pub max_zoom: u8,
}

/// The sets served, Web Mercator first.
pub const TILE_MATRIX_SETS: &[TileMatrixSet] = &[
    TileMatrixSet {
        id: WEB_MERCATOR_QUAD,
        title: "Google Maps Compatible for the World",
        uri: Some("http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"),
        srid: 3857,
        origin: (-20_037_508.342_789_244, 20_037_508.342_789_244),
        size: 40_075_016.685_578_49,
        max_zoom: 24,
    },
    TileMatrixSet {
        id: ADV_25832,
        title: "AdV tiling scheme using ETRS89 / UTM zone 32N covering Germany",
        uri: None,
        srid: 25832,
        origin: (-46_133.17, 6_301_219.54),
        size: 1_252_344.271_424_33,
        max_zoom: 14,
    },
];

impl TileMatrixSet {
    /// The set with this identifier, or a 404 naming the ones served.
    pub fn find(id: &str) -> Result<&'static Self> {
        TILE_MATRIX_SETS.iter().find(|t| t.id == id).ok_or_else(|| {
            let known: Vec<&str> = TILE_MATRIX_SETS.iter().map(|t| t.id).collect();
            Error::not_found(
                "tile matrix set",
                format!("{id} (served: {})", known.join(", ")),
            )
        })
    }

    /// Side of one tile at zoom `z`, in CRS units.
    pub fn tile_size(&self, z: u8) -> f64 {
        self.size / f64::from(1u32 << z)
    }

    /// The tile's rectangle in the set's CRS, grown by `margin` tile widths on every side.
    pub fn bounds(&self, t: TileCoord, margin: f64) -> Bbox {
        let side = self.tile_size(t.z);
        let (x, y) = (f64::from(t.x), f64::from(t.y));
        Bbox {
            min_x: self.origin.0 + (x - margin) * side,
            min_y: self.origin.1 - (y + 1.0 + margin) * side,
            max_x: self.origin.0 + (x + 1.0 + margin) * side,
            max_y: self.origin.1 - (y - margin) * side,
            srid: self.srid,
        }
    }

    /// The CRS as an OGC URI.
    pub fn crs_uri(&self) -> String {
        format!("http://www.opengis.net/def/crs/EPSG/0/{}", self.srid)
    }

    /// The definition document (OGC Two Dimensional Tile Matrix Set 2.0, JSON encoding).
    pub fn definition(&self) -> Json {
        let matrices: Vec<Json> = (0..=self.max_zoom)
            .map(|z| {
                let cell = self.tile_size(z) / TILE_PIXELS;
                let n = 1u64 << z;
                json!({
                    "id": z.to_string(),
                    "scaleDenominator": cell / PIXEL_METRES,
                    "cellSize": cell,
                    "cornerOfOrigin": "topLeft",
                    "pointOfOrigin": [self.origin.0, self.origin.1],
                    "tileWidth": TILE_PIXELS,
                    "tileHeight": TILE_PIXELS,
                    "matrixWidth": n,
                    "matrixHeight": n,
                })
            })
            .collect();
        let mut doc = json!({
            "id": self.id,
            "title": self.title,
            "crs": self.crs_uri(),
            "orderedAxes": ["E", "N"],
            "tileMatrices": matrices,
        });
        if let Some(uri) = self.uri {
            doc["uri"] = uri.into();
        }
        doc
    }

    /// The tile that contains `p` (in the set's CRS) at zoom `z`, if the matrix covers it.
    pub fn tile_at(&self, p: Point, z: u8) -> Option<TileCoord> {
        let side = self.tile_size(z);
        let x = ((p.x - self.origin.0) / side).floor();
        let y = ((self.origin.1 - p.y) / side).floor();
        let n = f64::from(1u32 << z);
        if !((0.0..n).contains(&x) && (0.0..n).contains(&y)) {
            return None;
        }
        // In range by the check above.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(TileCoord {
            z,
            x: x as u32,
            y: y as u32,
        })
    }
}

/// A tile of a tile matrix set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileCoord {
    /// Validates an OGC-ordered address (matrix, row, column) against the matrix set.
    pub fn from_ogc(
        tms: &str,
        matrix: &str,
        row: &str,
        col: &str,
    ) -> Result<(&'static TileMatrixSet, Self)> {
        let set = TileMatrixSet::find(tms)?;
        let z: u8 = parse_part("tileMatrix", matrix)?;
        let y: u32 = parse_part("tileRow", row)?;
        let x: u32 = parse_part("tileCol", col)?;
        if z > set.max_zoom {
            return Err(Error::not_found(
                "tile matrix",
                format!("{tms}/{z} (deepest is {})", set.max_zoom),
            ));
        }
        let size = 1u64 << z;
        if u64::from(x) >= size || u64::from(y) >= size {
            return Err(Error::not_found(
                "tile",
                format!("{tms}/{z}/{y}/{x} (row and column must be below {size})"),
            ));
        }
        Ok((set, Self { z, x, y }))
    }

    /// A WebMercatorQuad tile's bounds in WGS 84 lon/lat, grown by `margin` tile widths on each
    /// side (the render buffer), clamped to the matrix. Web Mercator is separable, so this
    /// rectangle is exactly the tile's.
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
        let merc = TileMatrixSet::find(WEB_MERCATOR_QUAD).unwrap();
        let b = merc.bounds(TileCoord { z: 1, x: 1, y: 0 }, 0.0);
        assert_eq!((b.min_x, b.max_y), (0.0, merc.origin.1));
    }

    #[test]
    fn adv_grid() {
        let adv = TileMatrixSet::find(ADV_25832).unwrap();
        // Level 0 is one tile at scale 1:17,471,320.75, as the AdV and ldproxy define it.
        let zero = &adv.definition()["tileMatrices"][0];
        assert!((zero["scaleDenominator"].as_f64().unwrap() - 17_471_320.750_897_4).abs() < 1e-3);
        assert_eq!(
            adv.definition()["tileMatrices"].as_array().unwrap().len(),
            15
        );
        // Lüneburg town hall (UTM 32N) lies in the tile tile_at finds, at every level.
        let p = Point {
            x: 593_866.0,
            y: 5_904_458.0,
            srid: 25832,
        };
        for z in 0..=14 {
            let t = adv.tile_at(p, z).unwrap();
            let b = adv.bounds(t, 0.0);
            assert!(b.min_x <= p.x && p.x < b.max_x && b.min_y < p.y && p.y <= b.max_y);
        }
    }

    #[test]
    fn addresses() {
        let (_, t) = TileCoord::from_ogc(WEB_MERCATOR_QUAD, "3", "2", "5").unwrap();
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
            TileCoord::from_ogc(ADV_25832, "15", "0", "0"),
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
