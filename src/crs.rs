//! Coordinate reference system identifiers as they appear in files, CLI flags and URLs.

/// EPSG code of WGS 84 lon/lat: PostGIS's EPSG:4326 is x = longitude, i.e. OGC CRS84 in axis
/// order. Extents in the catalog are in this CRS; version tables keep the CRS of their source
/// file, so that serving in it returns the coordinates exactly as they were read.
pub const WGS84_SRID: i32 = 4326;

/// A bounding box in x/y order (longitude first for geographic CRSs) of the CRS `srid`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
    pub srid: i32,
}

impl Bbox {
    pub fn lon_lat(min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Self {
        Self {
            min_x,
            min_y,
            max_x,
            max_y,
            srid: WGS84_SRID,
        }
    }

    /// The box in WGS 84 longitude/latitude when that needs no datum transformation: boxes in
    /// EPSG:4326, ETRS89 (EPSG:4258, within a metre of it) and Web Mercator (inverted here
    /// exactly, as the projection is separable).
    pub fn to_lon_lat(self) -> Option<Self> {
        match self.srid {
            4326 | 4258 => Some(Self {
                srid: WGS84_SRID,
                ..self
            }),
            3857 => {
                let lon = |x: f64| (x / WEB_MERCATOR_RADIUS).to_degrees().clamp(-180.0, 180.0);
                let lat = |y: f64| {
                    (2.0 * (y / WEB_MERCATOR_RADIUS).exp().atan() - std::f64::consts::FRAC_PI_2)
                        .to_degrees()
                };
                Some(Self::lon_lat(
                    lon(self.min_x),
                    lat(self.min_y),
                    lon(self.max_x),
                    lat(self.max_y),
                ))
            }
            _ => None,
        }
    }

    /// The part of this box inside `other` (same CRS), or `None` when they are disjoint.
    pub fn intersection(self, other: [f64; 4]) -> Option<Self> {
        let b = Self {
            min_x: self.min_x.max(other[0]),
            min_y: self.min_y.max(other[1]),
            max_x: self.max_x.min(other[2]),
            max_y: self.max_y.min(other[3]),
            srid: self.srid,
        };
        (b.min_x <= b.max_x && b.min_y <= b.max_y).then_some(b)
    }
}

/// A point in x/y order (longitude first for geographic CRSs) of the CRS `srid`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub srid: i32,
}

/// Sphere radius of EPSG:3857.
const WEB_MERCATOR_RADIUS: f64 = 6_378_137.0;

/// The OGC URI of CRS84, the default CRS of OGC API Features.
pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// Parses the common spellings of a CRS into an EPSG code (CRS84 becomes 4326, which PostGIS
/// holds in lon/lat order):
/// `EPSG:25832`, `25832`, `urn:ogc:def:crs:EPSG::25832`, `urn:ogc:def:crs:EPSG:6.6:25832`,
/// `http://www.opengis.net/def/crs/EPSG/0/25832`, `OGC:CRS84`, `urn:ogc:def:crs:OGC:1.3:CRS84`,
/// `http://www.opengis.net/def/crs/OGC/1.3/CRS84`.
pub fn parse(s: &str) -> Option<i32> {
    let s = s.trim();
    let upper = s.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(4326);
    }
    let code = if let Some(rest) = upper.strip_prefix("EPSG:") {
        rest
    } else if upper.starts_with("URN:OGC:DEF:CRS:EPSG:") {
        upper.rsplit(':').next()?
    } else if upper.starts_with("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/")
        || upper.starts_with("HTTPS://WWW.OPENGIS.NET/DEF/CRS/EPSG/")
    {
        upper.trim_end_matches('/').rsplit('/').next()?
    } else {
        upper.as_str()
    };
    code.parse::<i32>().ok().filter(|c| *c > 0)
}

/// EPSG codes the API serves besides CRS84 (OGC API Features Part 2).
pub const SERVED_EPSG: &[i32] = &[4326, 4258, 25832, 25833, 3857, 31466, 31467, 31468, 31469];

/// A CRS of the API: its PostGIS SRID, whether coordinates go latitude first (EPSG:4326 and
/// EPSG:4258 as the EPSG registry defines them; CRS84 is longitude first), and its URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCrs {
    pub srid: i32,
    pub lat_lon: bool,
    pub uri: String,
}

impl ApiCrs {
    /// CRS84, the default of every OGC API Features request.
    pub fn crs84() -> Self {
        Self {
            srid: WGS84_SRID,
            lat_lon: false,
            uri: CRS84_URI.to_string(),
        }
    }

    /// Every CRS the API serves, CRS84 first.
    pub fn all() -> Vec<Self> {
        std::iter::once(Self::crs84())
            .chain(SERVED_EPSG.iter().map(|&code| Self::epsg(code)))
            .collect()
    }

    fn epsg(code: i32) -> Self {
        Self {
            srid: code,
            lat_lon: matches!(code, 4326 | 4258),
            uri: format!("http://www.opengis.net/def/crs/EPSG/0/{code}"),
        }
    }

    /// A served CRS by URI (or `EPSG:n` / CRS84 shorthand), or `None`.
    pub fn from_uri(s: &str) -> Option<Self> {
        if s.trim().to_ascii_uppercase().ends_with("CRS84") {
            return Some(Self::crs84());
        }
        let code = parse(s)?;
        SERVED_EPSG.contains(&code).then(|| Self::epsg(code))
    }

    /// The CRS a version table with geometries of PostGIS SRID `srid` stores: PostGIS keeps
    /// EPSG:4326 in longitude/latitude order, which is CRS84.
    pub fn storage(srid: i32) -> Self {
        if srid == WGS84_SRID {
            Self::crs84()
        } else {
            Self::epsg(srid)
        }
    }

    /// Longitude/latitude in degrees (bounding boxes are range-checked).
    pub fn is_geographic(&self) -> bool {
        matches!(self.srid, 4326 | 4258)
    }
}

/// The EPSG code a WKT (OGC WKT1 or ESRI, as `.prj` files and GeoPackages hold it)
/// describes: the AUTHORITY of the outermost CRS, else its name, for the systems German data
/// comes in (ETRS89/UTM, DHDN/Gauß-Krüger, WGS 84, Web Mercator).
pub fn epsg_from_wkt(wkt: &str) -> Option<i32> {
    let upper = wkt.to_uppercase();
    // Only an AUTHORITY directly inside the outermost brackets names the CRS; a datum's or a
    // spheroid's (EPSG:6314, 7004) sits deeper.
    let mut depth = 0usize;
    let mut top_level = None;
    for (i, b) in upper.bytes().enumerate() {
        match b {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth = depth.saturating_sub(1),
            b'A' if depth == 1 && upper[i..].starts_with("AUTHORITY[\"EPSG\",") => {
                top_level = Some(i);
            }
            _ => {}
        }
    }
    if let Some(pos) = top_level {
        let code: String = upper[pos + 17..]
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(code) = code.parse() {
            return Some(code);
        }
    }
    let name = upper
        .split('"')
        .nth(1)?
        .replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let zone = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|z| z.trim_end_matches('N').parse::<i32>().ok())
    };
    if let Some(z) = zone("ETRS1989UTMZONE").or_else(|| zone("ETRS89UTMZONE")) {
        return (28..=38).contains(&z).then_some(25800 + z);
    }
    for prefix in [
        "DHDN3DEGREEGAUSSKRUGERZONE",
        "DHDN3DEGREEGAUSSZONE",
        "DHDNGAUSSKRUGERZONE",
    ] {
        if let Some(z) = zone(prefix) {
            return (2..=5).contains(&z).then_some(31464 + z);
        }
    }
    match name.as_str() {
        "WGS1984WEBMERCATORAUXILIARYSPHERE" | "WGS84PSEUDOMERCATOR" => Some(3857),
        "GCSWGS1984" | "WGS84" => Some(4326),
        "GCSETRS1989" | "ETRS89" => Some(4258),
        _ => None,
    }
}

/// The name a WKT gives its CRS, for messages.
pub fn wkt_name(wkt: &str) -> Option<&str> {
    wkt.split('"').nth(1).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn prj_names_of_german_crs() {
        // The .prj of BKG's VG5000, without its AUTHORITY.
        let gk3 =
            "PROJCS[\"DHDN_3_Degree_Gauss_Zone_3\",GEOGCS[\"GCS_Deutsches_Hauptdreiecksnetz\"],\
                   PROJECTION[\"Gauss_Kruger\"],UNIT[\"Meter\",1.0]]";
        assert_eq!(epsg_from_wkt(gk3), Some(31467));
        assert_eq!(
            epsg_from_wkt("PROJCS[\"ETRS_1989_UTM_Zone_32N\",GEOGCS[\"GCS_ETRS_1989\"]]"),
            Some(25832)
        );
        assert_eq!(
            epsg_from_wkt("PROJCS[\"ETRS89 / UTM zone 33N\",GEOGCS[\"ETRS89\"]]"),
            Some(25833)
        );
        assert_eq!(
            epsg_from_wkt("PROJCS[\"DHDN_3_Degree_Gauss_Kruger_zone_4\",GEOGCS[\"x\"]]"),
            Some(31468)
        );
        assert_eq!(
            epsg_from_wkt("GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\"]]"),
            Some(4326)
        );
        assert_eq!(
            epsg_from_wkt(
                "PROJCS[\"x\",GEOGCS[\"y\",AUTHORITY[\"EPSG\",\"4326\"]],AUTHORITY[\"EPSG\",\"25832\"]]"
            ),
            Some(25832)
        );
        assert_eq!(epsg_from_wkt("PROJCS[\"Something_Else\"]"), None);
        // What GDAL writes into a GeoPackage from that .prj: authorities on the datum and
        // spheroid only, none on the CRS.
        let gdal = "PROJCS[\"DHDN / 3-degree Gauss-Kruger zone 3\",GEOGCS[\"DHDN\",\
            DATUM[\"Deutsches_Hauptdreiecksnetz\",SPHEROID[\"Bessel 1841\",6377397.155,\
            299.1528128,AUTHORITY[\"EPSG\",\"7004\"]],AUTHORITY[\"EPSG\",\"6314\"]],\
            PRIMEM[\"Greenwich\",0],UNIT[\"Degree\",0.0174532925199433]],\
            PROJECTION[\"Transverse_Mercator\"],UNIT[\"metre\",1]]";
        assert_eq!(epsg_from_wkt(gdal), Some(31467));
    }

    use super::{epsg_from_wkt, parse, ApiCrs};

    #[test]
    fn api_crs() {
        assert_eq!(ApiCrs::from_uri(super::CRS84_URI), Some(ApiCrs::crs84()));
        let wgs84 = ApiCrs::from_uri("http://www.opengis.net/def/crs/EPSG/0/4326").unwrap();
        assert!(wgs84.lat_lon);
        assert!(!ApiCrs::crs84().lat_lon);
        assert_eq!(ApiCrs::from_uri("EPSG:25832").map(|c| c.srid), Some(25832));
        assert_eq!(ApiCrs::from_uri("EPSG:2056"), None);
        assert_eq!(ApiCrs::all().len(), 1 + super::SERVED_EPSG.len());
    }

    #[test]
    fn parses_spellings() {
        for s in [
            "EPSG:25832",
            "epsg:25832",
            "25832",
            "urn:ogc:def:crs:EPSG::25832",
            "urn:ogc:def:crs:EPSG:6.6:25832",
            "http://www.opengis.net/def/crs/EPSG/0/25832",
        ] {
            assert_eq!(parse(s), Some(25832), "{s}");
        }
        for s in [
            "OGC:CRS84",
            "urn:ogc:def:crs:OGC:1.3:CRS84",
            super::CRS84_URI,
        ] {
            assert_eq!(parse(s), Some(4326), "{s}");
        }
        assert_eq!(parse("EPSG:abc"), None);
        assert_eq!(parse("EPSG:-1"), None);
        assert_eq!(parse(""), None);
    }
}
