//! Query parameters of the features endpoints, parsed into typed values.
//!
//! Parameters arrive as strings so that every failure can name the parameter and say what was
//! wrong, instead of a generic deserialisation message.

use serde::Deserialize;
use utoipa::IntoParams;

use super::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::crs::ApiCrs;
use crate::error::{Error, Result};

/// Raw query string of `/collections/{collectionId}/items`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemsParams {
    /// Page size, 1 to 10000 (larger values are clamped to 10000). Default 10.
    #[param(value_type = Option<u32>, minimum = 1, example = 100)]
    pub limit: Option<String>,
    /// Only features whose geometry intersects this box: `minLon,minLat,maxLon,maxLat` in CRS84
    /// (a 6-number box with heights is accepted; the heights are ignored).
    #[param(value_type = Option<String>, example = "10.2,53.1,10.6,53.4")]
    pub bbox: Option<String>,
    /// Opaque paging cursor from a `next` link. A cursor stays on the dataset version it
    /// started on, so paging never mixes two versions.
    #[param(value_type = Option<String>)]
    pub cursor: Option<String>,
    /// Output format: `json` (GeoJSON, the default) or `csv` (attributes and WKT geometry;
    /// the next page is in the `Link` header). Without `f`, the Accept header decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// CRS of the returned coordinates, as a URI (OGC API Features Part 2); default CRS84.
    /// EPSG:4326 and EPSG:4258 are latitude first.
    #[param(example = "http://www.opengis.net/def/crs/EPSG/0/25832")]
    pub crs: Option<String>,
    /// CRS of `bbox`, as a URI; default CRS84.
    #[serde(rename = "bbox-crs")]
    #[param(
        rename = "bbox-crs",
        example = "http://www.opengis.net/def/crs/EPSG/0/25832"
    )]
    pub bbox_crs: Option<String>,
}

/// Query string of one feature.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeatureParams {
    /// Output format; only `json` for now.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// CRS of the returned coordinates, as a URI; default CRS84.
    #[param(example = "http://www.opengis.net/def/crs/EPSG/0/25832")]
    pub crs: Option<String>,
}

impl FeatureParams {
    /// The output CRS.
    pub fn crs(&self) -> Result<ApiCrs> {
        check_format(self.f.as_deref())?;
        parse_crs("crs", self.crs.as_deref())
    }
}

/// Query string of single-resource endpoints (landing, collections).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParams {
    /// Output format; only `json` for now.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
}

pub use crate::crs::Bbox;

/// Where a page starts: after feature `after` of version `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub version: i64,
    pub after: i64,
}

impl Cursor {
    /// The text form used in `next` links.
    pub fn encode(self) -> String {
        format!("v{}.{}", self.version, self.after)
    }

    fn parse(s: &str) -> Option<Self> {
        let (version, after) = s.strip_prefix('v')?.split_once('.')?;
        Some(Self {
            version: version.parse().ok()?,
            after: after.parse().ok()?,
        })
    }
}

/// Validated `/items` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub limit: u32,
    pub bbox: Option<Bbox>,
    pub cursor: Option<Cursor>,
    /// The CRS of the response's coordinates.
    pub crs: ApiCrs,
    /// The CRS the bbox is given in.
    pub bbox_crs: ApiCrs,
}

impl ItemsQuery {
    pub fn parse(p: &ItemsParams) -> Result<Self> {
        let bbox_crs = parse_crs("bbox-crs", p.bbox_crs.as_deref())?;
        Ok(Self {
            crs: parse_crs("crs", p.crs.as_deref())?,
            limit: p
                .limit
                .as_deref()
                .map(parse_limit)
                .transpose()?
                .unwrap_or(DEFAULT_LIMIT),
            bbox: p
                .bbox
                .as_deref()
                .map(|b| parse_bbox(b, &bbox_crs))
                .transpose()?,
            cursor: p
                .cursor
                .as_deref()
                .map(|c| {
                    Cursor::parse(c).ok_or_else(|| {
                        Error::invalid(
                            "cursor",
                            "not a cursor issued by this server; follow the 'next' link as given",
                        )
                    })
                })
                .transpose()?,
            bbox_crs,
        })
    }
}

/// Accepts the formats implemented so far.
pub fn check_format(f: Option<&str>) -> Result<()> {
    match f {
        None | Some("json" | "geojson") => Ok(()),
        Some(other) => Err(Error::invalid(
            "f",
            format!("unsupported format '{other}'; supported: json"),
        )),
    }
}

fn parse_limit(s: &str) -> Result<u32> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(Error::invalid("limit", "must be at least 1")),
        Ok(n) => Ok(u32::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
        Err(_) => Err(Error::invalid(
            "limit",
            format!("'{s}' is not a positive integer"),
        )),
    }
}

fn parse_bbox(s: &str, crs: &ApiCrs) -> Result<Bbox> {
    let numbers: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            Error::invalid(
                "bbox",
                format!("'{s}' is not a comma-separated list of numbers"),
            )
        })?;
    let [a, b, c, d] = match numbers.as_slice() {
        [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
        _ => {
            return Err(Error::invalid(
                "bbox",
                format!("expected 4 or 6 numbers, got {}", numbers.len()),
            ))
        }
    };
    if numbers.iter().any(|n| !n.is_finite()) {
        return Err(Error::invalid("bbox", "numbers must be finite"));
    }
    // EPSG:4326 and 4258 boxes come latitude first.
    let [min_x, min_y, max_x, max_y] = if crs.lat_lon {
        [b, a, d, c]
    } else {
        [a, b, c, d]
    };
    if crs.is_geographic() || crs.srid == crate::crs::WGS84_SRID {
        if !(-180.0..=180.0).contains(&min_x) || !(-180.0..=180.0).contains(&max_x) {
            return Err(Error::invalid("bbox", "longitudes must lie in [-180, 180]"));
        }
        if !(-90.0..=90.0).contains(&min_y) || !(-90.0..=90.0).contains(&max_y) {
            return Err(Error::invalid("bbox", "latitudes must lie in [-90, 90]"));
        }
        if min_x > max_x {
            return Err(Error::invalid(
                "bbox",
                "boxes crossing the antimeridian (minLon > maxLon) are not supported",
            ));
        }
    } else if min_x > max_x {
        return Err(Error::invalid(
            "bbox",
            "the lower x is greater than the upper",
        ));
    }
    if min_y > max_y {
        return Err(Error::invalid(
            "bbox",
            "the lower latitude (y) is greater than the upper",
        ));
    }
    Ok(Bbox {
        min_x,
        min_y,
        max_x,
        max_y,
        srid: crs.srid,
    })
}

fn parse_crs(parameter: &str, value: Option<&str>) -> Result<ApiCrs> {
    match value {
        None => Ok(ApiCrs::crs84()),
        Some(v) => ApiCrs::from_uri(v).ok_or_else(|| {
            let served: Vec<String> = ApiCrs::all().into_iter().map(|c| c.uri).collect();
            Error::invalid(
                parameter,
                format!("'{v}' is not served; use one of {}", served.join(", ")),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>, bbox: Option<&str>) -> ItemsParams {
        ItemsParams {
            limit: limit.map(Into::into),
            bbox: bbox.map(Into::into),
            ..ItemsParams::default()
        }
    }

    fn parameter_of(e: Error) -> String {
        match e {
            Error::InvalidParameter { parameter, .. } => parameter,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn limits() {
        assert_eq!(ItemsQuery::parse(&params(None, None)).unwrap().limit, 10);
        assert_eq!(
            ItemsQuery::parse(&params(Some("99999"), None))
                .unwrap()
                .limit,
            MAX_LIMIT
        );
        assert_eq!(
            parameter_of(ItemsQuery::parse(&params(Some("0"), None)).unwrap_err()),
            "limit"
        );
        assert_eq!(
            parameter_of(ItemsQuery::parse(&params(Some("-3"), None)).unwrap_err()),
            "limit"
        );
        assert_eq!(
            parameter_of(ItemsQuery::parse(&params(Some("ten"), None)).unwrap_err()),
            "limit"
        );
    }

    #[test]
    fn bboxes() {
        let q = ItemsQuery::parse(&params(None, Some("10,53,11,54"))).unwrap();
        assert_eq!(q.bbox.unwrap().max_y, 54.0);
        let q = ItemsQuery::parse(&params(None, Some("10,53,0,11,54,100"))).unwrap();
        assert_eq!(q.bbox.unwrap().max_x, 11.0);
        for bad in [
            "1,2,3",
            "a,b,c,d",
            "10,54,11,53",
            "10,53,200,54",
            "NaN,1,2,3",
            "11,53,10,54",
        ] {
            assert_eq!(
                parameter_of(ItemsQuery::parse(&params(None, Some(bad))).unwrap_err()),
                "bbox",
                "{bad}"
            );
        }
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            version: 7,
            after: 1234,
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        assert_eq!(Cursor::parse("7.1234"), None);
        assert_eq!(Cursor::parse("vx.1"), None);
    }
}
