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
    /// Free text (OGC API Features Part 9, Text Search, draft): features with a text attribute
    /// that contains one of these comma-separated terms, case-insensitively
    /// (`q=marktplatz,rathaus`).
    #[param(value_type = Option<String>, example = "Marktplatz")]
    pub q: Option<String>,
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
    /// The data model of the answer: `inspire-cp` serves a parcels collection in the INSPIRE
    /// Cadastral Parcels model (`cp:CadastralParcel` 4.0: inspireId, label and
    /// nationalCadastralReference = Flurstückskennzeichen, areaValue, validFrom,
    /// beginLifespanVersion) as GeoJSON (`f=json`) or GML 3.2 (`f=gml`, a WFS 2.0
    /// FeatureCollection). Without it, the collection's own attributes.
    #[param(value_type = Option<String>, example = "inspire-cp")]
    pub profile: Option<String>,
}

/// The query string's pairs in order, with an exploded `bbox` joined into one. OGC API
/// Features defines `bbox` as one comma-separated value (`style: form, explode: false`);
/// clients generated from the OpenAPI document may send it exploded, one `bbox=` per number,
/// which is read as the same box.
fn query_pairs(query: &str) -> Result<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| Error::invalid("query", format!("not a valid query string: {e}")))?;
    let numbers: Vec<String> = pairs
        .iter()
        .filter(|(name, _)| name == "bbox")
        .map(|(_, value)| value.clone())
        .collect();
    if numbers.len() > 1 {
        let first = pairs
            .iter()
            .position(|(name, _)| name == "bbox")
            .unwrap_or(0);
        pairs.retain(|(name, _)| name != "bbox");
        pairs.insert(first.min(pairs.len()), ("bbox".into(), numbers.join(",")));
    }
    Ok(pairs)
}

impl ItemsParams {
    /// The typed parameters among `pairs`, ignoring the others (property filters). A
    /// parameter given twice is refused.
    fn of_pairs(pairs: &[(String, String)]) -> Result<Self> {
        let known: Vec<_> = pairs
            .iter()
            .filter(|(name, _)| is_items_parameter(name))
            .collect();
        // Through serde_urlencoded's own value deserializer, the one that reads an `Option`.
        let known = serde_urlencoded::to_string(known).unwrap_or_default();
        serde_urlencoded::from_str(&known).map_err(|e| parameter_error(&e.to_string()))
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

/// The parameters `/items` itself defines, as [`ItemsParams`] documents them; every other
/// one is a property filter.
static ITEMS_PARAMETERS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    ItemsParams::into_params(|| None)
        .into_iter()
        .map(|p| p.name)
        .collect()
});

fn is_items_parameter(name: &str) -> bool {
    ITEMS_PARAMETERS.iter().any(|p| p == name)
}

/// Query string of one feature.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeatureParams {
    /// Output format: `json` (GeoJSON), `html`, or with `profile=inspire-cp` also `gml`;
    /// without it, Accept decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// CRS of the returned coordinates, as a URI; default CRS84.
    #[param(example = "http://www.opengis.net/def/crs/EPSG/0/25832")]
    pub crs: Option<String>,
    /// Language of the HTML page: `de` (default) or `en`; without it, Accept-Language decides.
    #[param(value_type = Option<String>, example = "en")]
    pub lang: Option<String>,
    /// `inspire-cp`: the parcel in the INSPIRE Cadastral Parcels model (see the features'
    /// `profile`).
    #[param(value_type = Option<String>, example = "inspire-cp")]
    pub profile: Option<String>,
}

impl FeatureParams {
    /// The output CRS.
    pub fn crs(&self) -> Result<ApiCrs> {
        parse_crs("crs", self.crs.as_deref())
    }

    /// The data model asked for.
    pub fn profile(&self) -> Result<Option<Profile>> {
        Profile::parse(self.profile.as_deref())
    }
}

/// A data model other than the collection's own (`profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// INSPIRE Cadastral Parcels 4.0, `cp:CadastralParcel`.
    InspireCp,
}

impl Profile {
    pub const INSPIRE_CP: &'static str = "inspire-cp";

    pub fn parse(value: Option<&str>) -> Result<Option<Self>> {
        match value {
            None | Some("") => Ok(None),
            Some(Self::INSPIRE_CP) => Ok(Some(Self::InspireCp)),
            Some(other) => Err(Error::invalid(
                "profile",
                format!("unknown profile '{other}'; supported: inspire-cp"),
            )),
        }
    }
}

/// Query string of `/collections`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CollectionsParams {
    /// Output format: `json` or `html`; without it, Accept decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// Language of the HTML page: `de` (default) or `en`; without it, Accept-Language decides.
    #[param(value_type = Option<String>, example = "en")]
    pub lang: Option<String>,
    /// Collections per page, by id (default 100, at most 10,000; more is served as 10,000);
    /// the `next` link gives the following page.
    #[param(value_type = Option<u32>, example = 100)]
    pub limit: Option<String>,
    /// How many collections (by id) come before this page; from the `next` link.
    #[param(value_type = Option<u64>, example = 0)]
    pub offset: Option<String>,
}

impl CollectionsParams {
    /// The page: how many collections to skip and to show.
    pub fn page(&self) -> Result<(usize, usize)> {
        let limit = Limit::COLLECTIONS.parse(self.limit.as_deref())? as usize;
        let offset = match self.offset.as_deref() {
            None => 0,
            Some(text) => text.trim().parse::<usize>().map_err(|_| {
                Error::invalid("offset", format!("'{text}' is not a non-negative integer"))
            })?,
        };
        Ok((offset, limit))
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
    /// `f` as given; the Accept header decides without it.
    pub f: Option<String>,
    /// The data model asked for; the collection's own without it.
    pub profile: Option<Profile>,
    pub bbox: Option<Bbox>,
    /// The request's parameters but `limit`, `f` and `cursor`, in order: what a `next` link
    /// repeats.
    pub carried: Vec<(String, String)>,
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
    /// The terms of `q`.
    pub text: Vec<String>,
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
    /// Parses `/items`' query string: the parameters [`ItemsParams`] defines, and the others
    /// as property filters.
    pub fn from_query(query_string: &str) -> Result<Self> {
        let pairs = query_pairs(query_string)?;
        let p = ItemsParams::of_pairs(&pairs)?;
        let bbox_crs = parse_crs("bbox-crs", p.bbox_crs.as_deref())?;
        let property_filters = pairs
            .iter()
            .filter(|(name, _)| !is_items_parameter(name))
            .cloned()
            .collect();
        let carried = pairs
            .into_iter()
            .filter(|(name, _)| !matches!(name.as_str(), "limit" | "f" | "cursor"))
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
            text: text_terms(p.q.as_deref())?,
            crs: parse_crs("crs", p.crs.as_deref())?,
            limit: Limit::ITEMS.parse(p.limit.as_deref())?,
            bbox: p
                .bbox
                .as_deref()
                .map(|b| parse_bbox(b, &bbox_crs))
                .transpose()?,
            f: p.f.clone(),
            profile: Profile::parse(p.profile.as_deref())?,
            carried,
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
        if !self.text.is_empty() {
            parts.push(filter::text_search(version, &self.text));
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
    /// `f` when the format is not the default one. A new parameter is carried without a
    /// line here.
    pub fn next_params(&self, format: Option<&str>) -> String {
        let mut fixed = format!("limit={}", self.limit);
        if let Some(f) = format {
            fixed.push_str(&format!("&f={f}"));
        }
        for (name, value) in &self.carried {
            fixed.push_str(&format!("&{}={}", link_text(name), link_text(value)));
        }
        fixed
    }
}

/// A query parameter's name or value as a link carries it: `,`, `:` and `/` stay as they
/// are (legal in a query, RFC 3986), so a box or a CRS URI stays readable.
fn link_text(s: &str) -> percent_encoding::PercentEncode<'_> {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b',')
        .remove(b':')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, SET)
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
    /// A page of `/collections`: a county's collections in one, a Land's in pages.
    pub const COLLECTIONS: Self = Self {
        default: 100,
        max: 10_000,
        clamp: true,
    };
    /// Search hits.
    pub const SEARCH: Self = Self {
        default: 10,
        max: 50,
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

/// Most terms and characters of `q`: a search box's words, not a document.
const MAX_TERMS: usize = 20;
const MAX_TERM_CHARS: usize = 100;

/// The terms of `q`: comma-separated, trimmed, empty ones dropped.
fn text_terms(q: Option<&str>) -> Result<Vec<String>> {
    let terms: Vec<String> = q
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if terms.len() > MAX_TERMS {
        return Err(Error::invalid("q", format!("more than {MAX_TERMS} terms")));
    }
    if let Some(long) = terms.iter().find(|t| t.chars().count() > MAX_TERM_CHARS) {
        return Err(Error::invalid(
            "q",
            format!(
                "the term '{}…' is longer than {MAX_TERM_CHARS} characters",
                long.chars().take(20).collect::<String>()
            ),
        ));
    }
    Ok(terms)
}

/// A `bbox` parameter in `crs`: 4 numbers (or 6 with heights, which are ignored).
pub fn parse_bbox(s: &str, crs: &ApiCrs) -> Result<Bbox> {
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

    fn query(limit: Option<&str>, bbox: Option<&str>) -> Result<ItemsQuery> {
        let pairs: Vec<(&str, &str)> = [("limit", limit), ("bbox", bbox)]
            .into_iter()
            .filter_map(|(n, v)| Some((n, v?)))
            .collect();
        ItemsQuery::from_query(&serde_urlencoded::to_string(pairs).unwrap())
    }

    fn parameter_of(e: Error) -> String {
        match e {
            Error::InvalidParameter { parameter, .. } => parameter,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn limits() {
        assert_eq!(query(None, None).unwrap().limit, 10);
        assert_eq!(query(Some("99999"), None).unwrap().limit, MAX_LIMIT);
        assert_eq!(parameter_of(query(Some("0"), None).unwrap_err()), "limit");
        assert_eq!(parameter_of(query(Some("-3"), None).unwrap_err()), "limit");
        assert_eq!(parameter_of(query(Some("ten"), None).unwrap_err()), "limit");
    }

    #[test]
    fn bboxes() {
        let q = query(None, Some("10,53,11,54")).unwrap();
        assert_eq!(q.bbox.unwrap().max_y, 54.0);
        let q = query(None, Some("10,53,0,11,54,100")).unwrap();
        assert_eq!(q.bbox.unwrap().max_x, 11.0);
        // West above east: a box across the antimeridian, legal.
        let q = query(None, Some("170,-10,-170,10")).unwrap();
        assert_eq!(q.bbox.unwrap().min_x, 170.0);
        for bad in [
            "1,2,3",
            "a,b,c,d",
            "10,54,11,53",
            "10,53,200,54",
            "NaN,1,2,3",
        ] {
            assert_eq!(
                parameter_of(query(None, Some(bad)).unwrap_err()),
                "bbox",
                "{bad}"
            );
        }
    }

    #[test]
    fn next_links_repeat_every_parameter_but_the_cursor() {
        let q = ItemsQuery::from_query(
            "bbox=1&gemarkung=5329&bbox=2&bbox=3&bbox=4&limit=99999&cursor=v1.2&sortby=-a&f=csv",
        )
        .unwrap();
        assert_eq!(q.bbox.unwrap().max_y, 4.0);
        assert_eq!(q.property_filters, [("gemarkung".into(), "5329".into())]);
        assert_eq!(
            q.next_params(Some("csv")),
            "limit=10000&f=csv&bbox=1,2,3,4&gemarkung=5329&sortby=-a"
        );
        assert_eq!(
            parameter_of(ItemsQuery::from_query("limit=1&limit=2").unwrap_err()),
            "limit"
        );
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
