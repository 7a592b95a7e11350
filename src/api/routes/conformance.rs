//! `GET /conformance`.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::error::Result;
use crate::features::params::FormatParams;
use crate::html::{answer, DocFormat};
use crate::ogc::Conformance;

/// The conformance classes kreisgeo implements and tests.
pub const CONFORMS_TO: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
];

/// Conformance declaration
///
/// The OGC conformance classes this server implements.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(FormatParams),
    responses((status = 200, description = "The conformance classes", body = Conformance))
)]
#[get("/conformance")]
pub async fn get_conformance(
    req: HttpRequest,
    query: web::Query<FormatParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let doc = Conformance {
        conforms_to: CONFORMS_TO.iter().map(ToString::to_string).collect(),
    };
    answer(
        format,
        &req,
        HttpResponse::Ok(),
        ("Konformität", "Conformance"),
        &doc,
    )
}
