//! `srsName` in the spellings survey offices and WFS servers write, with the axis order each
//! spelling implies.
//!
//! GML has no axis order of its own: `EPSG:4326` and `…/gml/srs/epsg.xml#4326` are read
//! easting (longitude) first by convention; the URN and http URI forms follow the EPSG
//! registry, which puts latitude first for geographic CRSs and northing first for DHDN
//! Gauß-Krüger. The AdV's own URNs (`urn:adv:crs:ETRS89_UTM32`) are easting first, as NAS
//! writes them. Compound CRSs (position + height, as LoD2 tiles declare them) keep their
//! heights as Z.

/// A CRS as a GML file declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Srs {
    /// The EPSG code of the horizontal CRS.
    pub epsg: i32,
    /// The file's first axis is northing or latitude.
    pub northing_first: bool,
    /// Coordinates per position when the file does not say (`srsDimension`).
    pub dimension: usize,
}

impl Srs {
    fn new(epsg: i32, northing_first: bool, dimension: usize) -> Self {
        Self {
            epsg,
            northing_first,
            dimension,
        }
    }

    /// Degrees rather than metres.
    pub fn is_geographic(&self) -> bool {
        matches!(self.epsg, 4326 | 4258 | 4314 | 4937 | 4979)
    }
}

/// Esri's codes that WFS servers (ArcGIS) write under the EPSG authority, and the EPSG code of
/// the same CRS.
const ESRI_ALIASES: &[(i32, i32)] = &[
    // ETRS 1989 UTM zone 32N / 33N with the zone number before the easting.
    (102_329, 4647),
    (102_359, 5650),
];

/// The CRS `name` declares, or `None` for a spelling kreisgeo does not know.
pub fn parse(name: &str) -> Option<Srs> {
    let name = name.trim();
    if let Some(adv) = name.strip_prefix("urn:adv:crs:") {
        return adv_urn(adv);
    }
    // A compound CRS (`urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::7837`): the first component
    // is the horizontal one, the heights are Z.
    if let Some(parts) = name.strip_prefix("urn:ogc:def:crs,") {
        let horizontal = parts.split(',').next()?;
        let code = horizontal.rsplit(':').next()?.parse().ok()?;
        return Some(epsg_order(alias(code), 3));
    }
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(Srs::new(4326, false, 2));
    }
    if upper.starts_with("URN:OGC:DEF:CRS:EPSG:") || upper.starts_with("URN:X-OGC:DEF:CRS:EPSG:") {
        let code = upper.rsplit(':').next()?.parse().ok()?;
        return Some(epsg_order(alias(code), 2));
    }
    if let Some(rest) = upper
        .strip_prefix("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/")
        .or_else(|| upper.strip_prefix("HTTPS://WWW.OPENGIS.NET/DEF/CRS/EPSG/"))
    {
        let code = rest
            .trim_end_matches('/')
            .rsplit('/')
            .next()?
            .parse()
            .ok()?;
        return Some(epsg_order(alias(code), 2));
    }
    // The traditional spellings: x/y, easting or longitude first.
    let code = if let Some(rest) = upper.strip_prefix("EPSG:") {
        rest
    } else if let Some((_, rest)) = upper.split_once("EPSG.XML#") {
        rest
    } else {
        return None;
    };
    let code = code.trim().parse().ok()?;
    Some(Srs::new(alias(code), false, 2))
}

fn alias(code: i32) -> i32 {
    ESRI_ALIASES
        .iter()
        .find(|(esri, _)| *esri == code)
        .map_or(code, |(_, epsg)| *epsg)
}

/// The axis order the EPSG registry gives `code`.
fn epsg_order(code: i32, dimension: usize) -> Srs {
    // Geographic CRSs, DHDN Gauß-Krüger, ETRS89-LCC/LAEA Europe and ETRS-TM: the EPSG
    // registry puts their northing (latitude) first.
    let northing_first = matches!(
        code,
        4326 | 4258 | 4314 | 4937 | 4979 | 31466..=31469 | 3034 | 3035 | 3044 | 3045 | 2397..=2399
    );
    Srs::new(code, northing_first, dimension)
}

/// The AdV's CRS URNs (GeoInfoDok, "Koordinatenreferenzsysteme"): `ETRS89_UTM32`,
/// `ETRS89_UTM32*DE_DHHN2016_NH` (with heights), `DE_DHDN_3GK3`, `ETRS89_Lat-Lon` …
fn adv_urn(adv: &str) -> Option<Srs> {
    let (horizontal, height) = match adv.split_once('*') {
        Some((h, v)) => (h, Some(v)),
        None => (adv, None),
    };
    let dimension = if height.is_some() { 3 } else { 2 };
    let (epsg, northing_first) = match horizontal {
        "ETRS89_UTM32" => (25832, false),
        "ETRS89_UTM33" => (25833, false),
        "ETRS89_3GK2" | "DE_DHDN_3GK2" | "DE_DHDN_3GK2_NW" | "DE_DHDN_3GK2_BW" => (31466, false),
        "ETRS89_3GK3" | "DE_DHDN_3GK3" | "DE_DHDN_3GK3_NW" | "DE_DHDN_3GK3_BW"
        | "DE_DHDN_3GK3_BY" | "DE_DHDN_3GK3_HE" | "DE_DHDN_3GK3_NI" | "DE_DHDN_3GK3_RP"
        | "DE_DHDN_3GK3_SL" | "DE_DHDN_3GK3_SH" => (31467, false),
        "ETRS89_3GK4" | "DE_DHDN_3GK4" | "DE_DHDN_3GK4_BY" | "DE_DHDN_3GK4_BB"
        | "DE_DHDN_3GK4_MV" | "DE_DHDN_3GK4_SN" | "DE_DHDN_3GK4_ST" | "DE_DHDN_3GK4_TH" => {
            (31468, false)
        }
        "ETRS89_3GK5" | "DE_DHDN_3GK5" => (31469, false),
        "ETRS89_Lat-Lon" | "ETRS89_Lat-Lon-h" => (4258, true),
        "DE_DHDN_Lat-Lon" => (4314, true),
        "WGS84_Lat-Lon" => (4326, true),
        _ => return None,
    };
    Some(Srs::new(epsg, northing_first, dimension))
}

/// Whether `(x, y)` can be a position in or near Germany in `epsg`. Decides files whose axis
/// order contradicts their CRS (an ArcGIS WFS writes northing first under a CRS whose first
/// axis is the easting).
pub fn plausible(epsg: i32, x: f64, y: f64) -> Option<bool> {
    let (ex, ny) = match epsg {
        25832 | 25833 | 32632 | 32633 => ((-200_000.0, 1_200_000.0), (5_000_000.0, 6_200_000.0)),
        4647 => ((31_800_000.0, 33_200_000.0), (5_000_000.0, 6_200_000.0)),
        5650 => ((32_800_000.0, 34_200_000.0), (5_000_000.0, 6_200_000.0)),
        31466..=31469 => ((2_000_000.0, 6_000_000.0), (5_000_000.0, 6_200_000.0)),
        4326 | 4258 | 4314 => ((2.0, 19.0), (45.0, 57.0)),
        _ => return None,
    };
    Some(x >= ex.0 && x <= ex.1 && y >= ny.0 && y <= ny.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let utm = Srs::new(25832, false, 2);
        for s in [
            "EPSG:25832",
            "urn:ogc:def:crs:EPSG::25832",
            "urn:ogc:def:crs:EPSG:6.12:25832",
            "http://www.opengis.net/def/crs/EPSG/0/25832",
            "http://www.opengis.net/gml/srs/epsg.xml#25832",
            "urn:adv:crs:ETRS89_UTM32",
        ] {
            assert_eq!(parse(s), Some(utm), "{s}");
        }
        assert_eq!(
            parse("urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH"),
            Some(Srs::new(25832, false, 3))
        );
        assert_eq!(
            parse("urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::7837"),
            Some(Srs::new(25832, false, 3))
        );
        assert_eq!(
            parse("urn:ogc:def:crs:EPSG::4326"),
            Some(Srs::new(4326, true, 2))
        );
        assert_eq!(parse("EPSG:4326"), Some(Srs::new(4326, false, 2)));
        assert_eq!(
            parse("urn:ogc:def:crs:EPSG::31467"),
            Some(Srs::new(31467, true, 2))
        );
        assert_eq!(
            parse("urn:adv:crs:DE_DHDN_3GK3"),
            Some(Srs::new(31467, false, 2))
        );
        assert_eq!(
            parse("urn:ogc:def:crs:EPSG::102329"),
            Some(Srs::new(4647, false, 2))
        );
        assert_eq!(parse("urn:adv:crs:Mars"), None);
        assert_eq!(plausible(4647, 5_710_920.0, 32_362_105.0), Some(false));
        assert_eq!(plausible(4647, 32_362_105.0, 5_710_920.0), Some(true));
    }
}
