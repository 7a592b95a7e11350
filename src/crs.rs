//! Coordinate reference system identifiers as they appear in files, CLI flags and URLs.

/// EPSG code of the storage CRS: every version table holds lon/lat in WGS 84 (PostGIS's
/// EPSG:4326 is x = longitude), i.e. OGC CRS84 in axis order.
pub const STORAGE_SRID: i32 = 4326;

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
            srid: STORAGE_SRID,
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

    /// Longitude/latitude in degrees (bounding boxes are range-checked).
    pub fn is_geographic(&self) -> bool {
        matches!(self.srid, 4326 | 4258)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, ApiCrs};

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
