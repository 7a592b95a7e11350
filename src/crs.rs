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

#[cfg(test)]
mod tests {
    use super::parse;

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
