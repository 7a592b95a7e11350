//! Query parameters of the features endpoints, parsed into typed values.
//!
//! Parameters arrive as strings so that every failure can name the parameter and say what was
//! wrong, instead of a generic deserialisation message.

use serde::Deserialize;
use utoipa::IntoParams;

use super::filter::{self, FilterLang, FilterSpec, Predicate};
use super::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::catalog::{Collection, Column, Version};
use crate::crs::{ApiCrs, Point};
use crate::error::{Error, Result};

/// Raw query string of `/collections/{collectionId}/items`. Any other parameter must be the
/// name of a queryable (a property filter, `?gemarkung=1234`); anything else is refused.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsParams {
    /// Page size, 1 to 10000; default 10. A larger value is served as 10000, as OGC API
    /// Features shows ("if you ask for 50000, you might get up to 10000"); 0, a negative
    /// number or a non-integer is refused with 400.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10000, default = 10, example = 100)]
    pub limit: Option<String>,
    /// Only features whose geometry intersects this box: `minLon,minLat,maxLon,maxLat` in CRS84
    /// (or in `bbox-crs`); a 6-number box with heights is accepted and the heights are ignored.
    /// Any other count is refused with 400.
    #[param(
        value_type = Option<Vec<f64>>,
        style = Form,
        explode = false,
        min_items = 4,
        max_items = 6,
        example = json!([10.2, 53.1, 10.6, 53.4])
    )]
    pub bbox: Option<String>,
    /// Opaque paging cursor from a `next` link. A cursor stays on the dataset version it
    /// started on, so paging never mixes two versions.
    #[param(value_type = Option<String>)]
    pub cursor: Option<String>,
    /// Output format: `json` (GeoJSON, the default), `csv` (attributes and WKT geometry),
    /// `fgb` (FlatGeobuf with a spatial index, in the requested CRS) or `html` (a table with
    /// paging links); CSV and FlatGeobuf carry the next page in the `Link` header. Without `f`,
    /// the Accept header decides (browsers get HTML).
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
    /// A CQL2 filter (OGC API Features Part 3) over the collection's queryables (see
    /// `/collections/{collectionId}/queryables`): comparisons, LIKE, BETWEEN, IN, IS NULL,
    /// AND/OR/NOT and the spatial relations S_INTERSECTS, S_WITHIN, S_CONTAINS, … with a WKT
    /// geometry or BBOX. Besides `filter`, any queryable is a parameter of its own
    /// (`?flurstueckskennzeichen=05329001100085` matches that parcel; keys may omit their `_`
    /// padding).
    #[param(value_type = Option<String>, example = "gemarkung = '5329' AND S_INTERSECTS(geometry, BBOX(6.7,51.4,6.8,51.5))")]
    pub filter: Option<String>,
    /// Only features whose temporal attribute (the collection's first date or timestamp
    /// property) lies at this instant or in this interval: `2024-05-01`,
    /// `2024-01-01/2024-06-30`, `2024-01-01T00:00:00Z/..`. Bounds are inclusive.
    #[param(value_type = Option<String>, example = "2020-01-01/..")]
    pub datetime: Option<String>,
    /// Sort order: comma-separated queryables, each optionally prefixed with `-` (descending)
    /// or `+` (ascending, the default); ties and the rest follow the feature id. Paging stays
    /// keyset-based. Sorting by an attribute sorts the matching features on every page; the
    /// default order (by id) is index-backed.
    #[param(value_type = Option<String>, example = "-amtlicheflaeche")]
    pub sortby: Option<String>,
    /// Comma-separated attributes to return (by their names in the collection); the others
    /// are left out. Default: all.
    #[param(value_type = Option<String>, example = "flurstueckskennzeichen,amtlicheflaeche")]
    pub properties: Option<String>,
    /// `cql2-text` (default) or `cql2-json`.
    #[serde(rename = "filter-lang")]
    #[param(rename = "filter-lang", value_type = Option<String>, example = "cql2-text")]
    pub filter_lang: Option<String>,
    /// CRS of the geometries in `filter`, as a URI; default CRS84.
    #[serde(rename = "filter-crs")]
    #[param(
        rename = "filter-crs",
        example = "http://www.opengis.net/def/crs/EPSG/0/25832"
    )]
    pub filter_crs: Option<String>,
    /// Language of the HTML page: `de` (default) or `en`; without it, Accept-Language decides.
    #[param(value_type = Option<String>, example = "en")]
    pub lang: Option<String>,
}

impl ItemsParams {
    /// The parameters of `query`. OGC API Features defines `bbox` as one comma-separated value
    /// (`style: form, explode: false`); clients generated from the OpenAPI document may send
    /// it exploded, one `bbox=` per number, which is read as the same box. Any other parameter
    /// given twice is refused.
    pub fn from_query(query: &str) -> Result<Self> {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| Error::invalid("query", format!("not a valid query string: {e}")))?;
        let numbers: Vec<String> = pairs
            .iter()
            .filter(|(name, _)| name == "bbox")
            .map(|(_, value)| value.clone())
            .collect();
        if numbers.len() > 1 {
            pairs.retain(|(name, _)| name != "bbox");
            pairs.push(("bbox".into(), numbers.join(",")));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        serde_urlencoded::from_str(&query).map_err(|e| parameter_error(&e.to_string()))
    }
}

/// A query string that does not fit a parameter struct, naming the parameter where the
/// message does (serde's "unknown field `x`", "duplicate field `x`").
pub fn parameter_error(message: &str) -> Error {
    let parameter = ["unknown field `", "duplicate field `"]
        .iter()
        .find_map(|marker| message.split_once(marker))
        .and_then(|(_, rest)| rest.split('`').next())
        .unwrap_or("query");
    Error::invalid(parameter, message.to_string())
}

/// The parameters `/items` itself defines; every other one is a property filter.
pub const ITEMS_PARAMETERS: &[&str] = &[
    "limit",
    "bbox",
    "cursor",
    "f",
    "crs",
    "bbox-crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
    "sortby",
    "datetime",
    "lang",
];

/// Query string of one feature.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeatureParams {
    /// Output format: `json` (GeoJSON) or `html`; without it, Accept decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// CRS of the returned coordinates, as a URI; default CRS84.
    #[param(example = "http://www.opengis.net/def/crs/EPSG/0/25832")]
    pub crs: Option<String>,
    /// Language of the HTML page: `de` (default) or `en`; without it, Accept-Language decides.
    #[param(value_type = Option<String>, example = "en")]
    pub lang: Option<String>,
}

impl FeatureParams {
    /// The output CRS.
    pub fn crs(&self) -> Result<ApiCrs> {
        parse_crs("crs", self.crs.as_deref())
    }
}

/// Query string of single-resource endpoints (landing, collections).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParams {
    /// Output format: `json` or `html`; without it, Accept decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// Language of the HTML page: `de` (default) or `en`; without it, Accept-Language decides.
    #[param(value_type = Option<String>, example = "en")]
    pub lang: Option<String>,
}

pub use crate::crs::Bbox;

/// Where a page starts: after feature `after` of version `version`. It also carries the number
/// of matching features counted with the first page: a version never changes, so later pages
/// repeat it instead of counting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub version: i64,
    pub after: i64,
    /// `None` when the first page did not count (too many matches to count cheaply).
    pub matched: Option<i64>,
}

impl Cursor {
    /// The text form used in `next` links: `v{version}.{after}` and `.{matched}` when known.
    pub fn encode(self) -> String {
        match self.matched {
            Some(m) => format!("v{}.{}.{m}", self.version, self.after),
            None => format!("v{}.{}", self.version, self.after),
        }
    }

    fn parse(s: &str) -> Option<Self> {
        let mut parts = s.strip_prefix('v')?.split('.');
        let version = parts.next()?.parse().ok()?;
        let after = parts.next()?.parse().ok()?;
        let matched = match parts.next() {
            Some(m) => Some(m.parse::<i64>().ok().filter(|m| *m >= 0)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            version,
            after,
            matched,
        })
    }
}

/// Validated `/items` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub limit: u32,
    pub bbox: Option<Bbox>,
    /// `bbox` as given (without spaces), for the `next` links.
    pub bbox_text: Option<String>,
    pub cursor: Option<Cursor>,
    /// The CRS of the response's coordinates.
    pub crs: ApiCrs,
    /// The CRS the bbox is given in.
    pub bbox_crs: ApiCrs,
    pub filter: Option<FilterSpec>,
    /// Parameters named after a queryable, in request order: `(name, value)`.
    pub property_filters: Vec<(String, String)>,
    /// `filter` and the property filters compiled against the collection ([`ItemsQuery::compile`]).
    pub predicate: Option<Predicate>,
    /// The attributes to return (`properties`), as given; all when `None`.
    pub properties: Option<Vec<String>>,
    /// `datetime` as given.
    pub datetime: Option<String>,
    /// `sortby` as given: `(name, descending)`.
    pub sortby: Vec<(String, bool)>,
    /// `sortby` resolved against the collection ([`ItemsQuery::compile`]); the feature id
    /// always follows as the last key.
    pub sort: Vec<SortKey>,
}

/// One key of the sort order.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub column: Column,
    pub descending: bool,
}

impl ItemsQuery {
    /// Parses the typed parameters and keeps the others of `query_string` as property filters.
    pub fn parse(p: &ItemsParams, query_string: &str) -> Result<Self> {
        let bbox_crs = parse_crs("bbox-crs", p.bbox_crs.as_deref())?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query_string)
            .map_err(|e| Error::invalid("query", format!("not a valid query string: {e}")))?;
        let property_filters = pairs
            .into_iter()
            .filter(|(name, _)| !ITEMS_PARAMETERS.contains(&name.as_str()))
            .collect();
        let filter = match p.filter.as_deref() {
            Some(text) if !text.trim().is_empty() => Some(FilterSpec {
                text: text.to_string(),
                lang: FilterLang::parse(p.filter_lang.as_deref())?,
                crs: parse_crs("filter-crs", p.filter_crs.as_deref())?,
            }),
            _ => {
                FilterLang::parse(p.filter_lang.as_deref())?;
                parse_crs("filter-crs", p.filter_crs.as_deref())?;
                None
            }
        };
        let properties = p.properties.as_deref().map(|list| {
            list.split(',')
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty())
                .collect()
        });
        let sortby = p
            .sortby
            .as_deref()
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(|k| match k.strip_prefix('-') {
                        Some(name) => (name.trim().to_string(), true),
                        None => (k.trim_start_matches('+').trim().to_string(), false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            filter,
            property_filters,
            predicate: None,
            properties,
            sortby,
            sort: Vec::new(),
            datetime: p.datetime.clone().filter(|d| !d.trim().is_empty()),
            crs: parse_crs("crs", p.crs.as_deref())?,
            limit: Limit::ITEMS.parse(p.limit.as_deref())?,
            bbox: p
                .bbox
                .as_deref()
                .map(|b| parse_bbox(b, &bbox_crs))
                .transpose()?,
            bbox_text: p.bbox.as_deref().map(|b| b.replace(' ', "")),
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

impl ItemsQuery {
    /// Checks `filter` and the property filters against the collection and compiles them.
    /// A parameter that is neither defined by `/items` nor a queryable is an error.
    pub fn compile(&mut self, collection: &Collection) -> Result<()> {
        let version = &collection.version;
        let mut parts = Vec::new();
        for (name, value) in &self.property_filters {
            match filter::property_equals(version, collection.kind, name, value)? {
                Some(p) => parts.push(p),
                None => {
                    return Err(Error::invalid(
                        name,
                        format!(
                        "unknown parameter; /items takes {} and the queryables of the collection",
                        ITEMS_PARAMETERS.join(", ")
                    ),
                    ))
                }
            }
        }
        if let Some(spec) = &self.filter {
            parts.push(filter::compile(spec, version)?);
        }
        if let Some(raw) = &self.datetime {
            parts.push(filter::datetime(version, raw)?);
        }
        self.sort = self
            .sortby
            .iter()
            .map(|(name, descending)| {
                filter::queryable(version, name)
                    .map(|column| SortKey {
                        column: column.clone(),
                        descending: *descending,
                    })
                    .ok_or_else(|| {
                        Error::invalid(
                            "sortby",
                            format!("'{name}' is not a queryable of this collection"),
                        )
                    })
            })
            .collect::<Result<_>>()?;
        self.predicate = match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Predicate::All(parts)),
        };
        Ok(())
    }

    /// `version` reduced to the attributes `properties` asks for, in the order asked.
    pub fn select_properties(&self, mut version: Version) -> Result<Version> {
        let Some(names) = &self.properties else {
            return Ok(version);
        };
        let mut selected = Vec::with_capacity(names.len());
        for name in names {
            let column = version
                .columns
                .iter()
                .find(|c| &c.original == name)
                .ok_or_else(|| {
                    Error::invalid(
                        "properties",
                        format!("'{name}' is not an attribute of this collection"),
                    )
                })?;
            if !selected.contains(column) {
                selected.push(column.clone());
            }
        }
        version.columns = selected;
        Ok(version)
    }

    /// The query string of the `next` page: every parameter of this one but the cursor, with
    /// `f` when the format is not the default one.
    pub fn next_params(&self, format: Option<&str>) -> String {
        let mut fixed = format!("limit={}", self.limit);
        if let Some(f) = format {
            fixed.push_str(&format!("&f={f}"));
        }
        if let Some(raw) = self.bbox_text.as_deref().filter(|_| self.bbox.is_some()) {
            fixed.push_str(&format!("&bbox={raw}"));
        }
        for (name, crs) in [("crs", &self.crs), ("bbox-crs", &self.bbox_crs)] {
            if crs.uri != crate::crs::CRS84_URI {
                fixed.push_str(&format!("&{name}={}", crs.uri));
            }
        }
        let filters = self.carried_params();
        if !filters.is_empty() {
            fixed.push('&');
            fixed.push_str(&filters);
        }
        fixed
    }

    /// The query string that repeats this query's filters and attribute choice in a `next` link.
    pub fn carried_params(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .property_filters
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let joined = self.properties.as_ref().map(|p| p.join(","));
        let sortby = (!self.sortby.is_empty()).then(|| {
            self.sortby
                .iter()
                .map(|(name, descending)| format!("{}{name}", if *descending { "-" } else { "" }))
                .collect::<Vec<_>>()
                .join(",")
        });
        if let Some(list) = &sortby {
            pairs.push(("sortby", list));
        }
        if let Some(d) = &self.datetime {
            pairs.push(("datetime", d));
        }
        if let Some(list) = &joined {
            pairs.push(("properties", list));
        }
        if let Some(spec) = &self.filter {
            pairs.push(("filter", &spec.text));
            pairs.push(("filter-lang", spec.lang.as_str()));
            if spec.crs.uri != crate::crs::CRS84_URI {
                pairs.push(("filter-crs", &spec.crs.uri));
            }
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// How an endpoint reads `limit`: a count from 1 to `max`, `default` without one.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub default: u32,
    pub max: u32,
    /// Serve more than `max` as `max` (a page of `/items`, as OGC API Features shows: "if you
    /// ask for 50000, you might get up to 10000") instead of refusing it.
    pub clamp: bool,
}

impl Limit {
    /// A page of `/items`.
    pub const ITEMS: Self = Self {
        default: DEFAULT_LIMIT,
        max: MAX_LIMIT,
        clamp: true,
    };
    /// The nearest features to a point.
    pub const NEAREST: Self = Self {
        default: 5,
        max: 100,
        clamp: false,
    };
    /// The features at a point.
    pub const AT: Self = Self {
        default: 10,
        max: 100,
        clamp: false,
    };

    /// The count `value` asks for; 400 naming `limit` for anything else.
    pub fn parse(self, value: Option<&str>) -> Result<u32> {
        let Some(text) = value else {
            return Ok(self.default);
        };
        match (text.trim().parse::<u64>(), self.clamp) {
            (Ok(n), true) if n >= 1 => Ok(u32::try_from(n).unwrap_or(self.max).min(self.max)),
            (Ok(n), false) if (1..=u64::from(self.max)).contains(&n) => Ok(n as u32),
            (Ok(0), true) => Err(Error::invalid("limit", "must be at least 1")),
            (_, true) => Err(Error::invalid(
                "limit",
                format!("'{text}' is not a positive integer"),
            )),
            (_, false) => Err(Error::invalid(
                "limit",
                format!("'{text}' is not a number from 1 to {}", self.max),
            )),
        }
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
        // minLon > maxLon is a box across the antimeridian (OGC API Features, 7.15.3).
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

/// A point parameter `x,y` in `crs` (latitude first for EPSG:4326 and 4258, as for bbox).
pub fn parse_point(parameter: &str, value: Option<&str>, crs: &ApiCrs) -> Result<Point> {
    let s = value.ok_or_else(|| {
        Error::invalid(
            parameter,
            if crs.lat_lon {
                "required: lat,lon"
            } else if crs.is_geographic() || crs.srid == crate::crs::WGS84_SRID {
                "required: lon,lat"
            } else {
                "required: x,y"
            },
        )
    })?;
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| Error::invalid(parameter, format!("'{s}' is not two numbers x,y")))?;
    let [a, b] = parts.as_slice() else {
        return Err(Error::invalid(
            parameter,
            format!("'{s}' is not two numbers x,y"),
        ));
    };
    if !a.is_finite() || !b.is_finite() {
        return Err(Error::invalid(parameter, "numbers must be finite"));
    }
    let (x, y) = if crs.lat_lon { (*b, *a) } else { (*a, *b) };
    if (crs.is_geographic() || crs.srid == crate::crs::WGS84_SRID)
        && !((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y))
    {
        return Err(Error::invalid(
            parameter,
            "longitude must lie in [-180, 180], latitude in [-90, 90]",
        ));
    }
    Ok(Point {
        x,
        y,
        srid: crs.srid,
    })
}

/// A CRS parameter (`crs`, `bbox-crs`, `point-crs`, …): a served CRS, CRS84 when absent.
pub fn parse_crs(parameter: &str, value: Option<&str>) -> Result<ApiCrs> {
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
        assert_eq!(
            ItemsQuery::parse(&params(None, None), "").unwrap().limit,
            10
        );
        assert_eq!(
            ItemsQuery::parse(&params(Some("99999"), None), "")
                .unwrap()
                .limit,
            MAX_LIMIT
        );
        assert_eq!(
            parameter_of(ItemsQuery::parse(&params(Some("0"), None), "").unwrap_err()),
            "limit"
        );
        assert_eq!(
            parameter_of(ItemsQuery::parse(&params(Some("-3"), None), "").unwrap_err()),
            "limit"
        );
        assert_eq!(
            parameter_of(ItemsQuery::parse(&params(Some("ten"), None), "").unwrap_err()),
            "limit"
        );
    }

    #[test]
    fn bboxes() {
        let q = ItemsQuery::parse(&params(None, Some("10,53,11,54")), "").unwrap();
        assert_eq!(q.bbox.unwrap().max_y, 54.0);
        let q = ItemsQuery::parse(&params(None, Some("10,53,0,11,54,100")), "").unwrap();
        assert_eq!(q.bbox.unwrap().max_x, 11.0);
        // West above east: a box across the antimeridian, legal.
        let q = ItemsQuery::parse(&params(None, Some("170,-10,-170,10")), "").unwrap();
        assert_eq!(q.bbox.unwrap().min_x, 170.0);
        for bad in [
            "1,2,3",
            "a,b,c,d",
            "10,54,11,53",
            "10,53,200,54",
            "NaN,1,2,3",
        ] {
            assert_eq!(
                parameter_of(ItemsQuery::parse(&params(None, Some(bad)), "").unwrap_err()),
                "bbox",
                "{bad}"
            );
        }
    }

    #[test]
    fn cursors_round_trip() {
        for matched in [None, Some(0), Some(99_999)] {
            let c = Cursor {
                version: 7,
                after: 1234,
                matched,
            };
            assert_eq!(Cursor::parse(&c.encode()), Some(c));
        }
        for bad in ["7.1234", "vx.1", "v7.1234.-3", "v7.1234.5.6", "v7.1234."] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
