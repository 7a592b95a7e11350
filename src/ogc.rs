//! OGC API document types shared by the routes and the encoders.
//!
//! <https://docs.ogc.org/is/17-069r4/17-069r4.html>

use serde::Serialize;
use utoipa::ToSchema;

/// A hypermedia link (OGC API Common, RFC 8288).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    #[schema(example = "http://127.0.0.1:8080/collections")]
    pub href: String,
    #[schema(example = "data")]
    pub rel: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(example = "application/json")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// True when `href` is a URI template (tiles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templated: Option<bool>,
    /// Size in bytes of what `href` gives (bulk downloads: `rel=enclosure`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<i64>,
    /// Language of what `href` gives (RFC 5646).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "de")]
    pub hreflang: Option<String>,
}

impl Link {
    pub fn new(href: impl Into<String>, rel: &str, media_type: &str, title: &str) -> Self {
        Self {
            href: href.into(),
            rel: rel.into(),
            media_type: Some(media_type.into()),
            title: Some(title.into()),
            templated: None,
            length: None,
            hreflang: None,
        }
    }

    /// The `collection` link of a document about collection `id`.
    pub fn to_collection(base: &str, id: &str) -> Self {
        Self::new(
            format!("{base}/collections/{id}"),
            "collection",
            media::JSON,
            "The collection",
        )
    }
}

/// Media types kreisgeo serves.
pub mod media {
    pub const JSON: &str = "application/json";
    pub const GEOJSON: &str = "application/geo+json";
    pub const SCHEMA_JSON: &str = "application/schema+json";
    pub const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";
    pub const HTML: &str = "text/html";
    pub const MVT: &str = "application/vnd.mapbox-vector-tile";
}

/// The landing page (OGC API Common Part 1, 7.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct LandingPage {
    #[schema(example = "kreisgeo")]
    pub title: String,
    pub description: String,
    pub links: Vec<Link>,
}

/// The conformance declaration.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conformance {
    pub conforms_to: Vec<String>,
}

/// The spatial extent of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpatialExtent {
    /// One box: minLon, minLat, maxLon, maxLat.
    #[schema(example = json!([[10.04, 53.03, 11.03, 53.43]]))]
    pub bbox: Vec<[f64; 4]>,
    #[schema(example = "http://www.opengis.net/def/crs/OGC/1.3/CRS84")]
    pub crs: String,
}

/// The extent of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Extent {
    pub spatial: SpatialExtent,
}

/// One collection (OGC API Features 7.14).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectionDoc {
    #[schema(example = "aed")]
    pub id: String,
    #[schema(example = "Defibrillatoren")]
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The dataset kind: parcels, solar, aed, buildings, roofs, addresses, osm, coverage or generic.
    #[schema(example = "aed")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extent: Option<Extent>,
    #[schema(example = "feature")]
    pub item_type: String,
    pub crs: Vec<String>,
    pub storage_crs: String,
    /// The dataset version served.
    pub version: i64,
    /// Number of features in the served version.
    pub feature_count: i64,
    pub links: Vec<Link>,
}

/// The files of a collection's served version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadsDoc {
    pub downloads: Vec<crate::downloads::Download>,
    /// self, collection, describedby (the DCAT-AP.de metadata).
    pub links: Vec<Link>,
}

/// The collections list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Collections {
    pub collections: Vec<CollectionDoc>,
    pub links: Vec<Link>,
    /// Every CRS the collections are served in; each collection's `crs` refers to it
    /// (`#/crs`), so that a Land's thousands of collections do not repeat it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crs: Vec<String>,
    /// All collections, over every page.
    #[serde(rename = "numberMatched", skip_serializing_if = "Option::is_none")]
    pub number_matched: Option<u64>,
    /// The collections on this page.
    #[serde(rename = "numberReturned", skip_serializing_if = "Option::is_none")]
    pub number_returned: Option<u64>,
}

/// A GeoJSON FeatureCollection page (schema for documentation; the body is streamed).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeatureCollectionDoc {
    #[schema(example = "FeatureCollection")]
    #[serde(rename = "type")]
    pub kind: String,
    pub features: Vec<FeatureDoc>,
    pub number_returned: u64,
    /// Exact number of features matching the request; left out where it is not counted
    /// (`/nearest`, `/at`, filters matching more than 100,000 features).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_matched: Option<i64>,
    pub time_stamp: String,
    /// self, collection and, when more features follow, next.
    pub links: Vec<Link>,
}

/// A GeoJSON Feature (schema for documentation).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureDoc {
    #[schema(example = "Feature")]
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(example = 1)]
    pub id: i64,
    /// GeoJSON geometry in CRS84, or null.
    #[schema(value_type = Object, example = json!({"type": "Point", "coordinates": [10.41, 53.25]}))]
    pub geometry: serde_json::Value,
    /// Attributes under the names of the source file.
    #[schema(value_type = Object, example = json!({"emergency": "defibrillator", "access": "yes"}))]
    pub properties: serde_json::Value,
}
