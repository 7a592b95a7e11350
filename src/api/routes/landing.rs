//! `GET /`: the landing page.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::api::state::AppState;
use crate::error::Result;
use crate::features::params::FormatParams;
use crate::html::{answer, DocFormat};
use crate::ogc::{media, LandingPage, Link};

/// The landing page's links: path under the base URL, relation, media type, title.
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("/", "self", media::JSON, "This document"),
    (
        "/api",
        "service-desc",
        media::OPENAPI,
        "The API definition (OpenAPI 3.0)",
    ),
    (
        "/api.html",
        "service-doc",
        media::HTML,
        "The API documentation",
    ),
    (
        "/conformance",
        "conformance",
        media::JSON,
        "Conformance classes implemented",
    ),
    ("/collections", "data", media::JSON, "The collections"),
    (
        "/catalog.ttl",
        "service-meta",
        "text/turtle",
        "Metadata of the service and its datasets (DCAT-AP.de)",
    ),
    (
        "/catalog/service/iso19139.xml",
        "service-meta",
        "application/xml",
        "Metadata of the download service (ISO 19119/19139, INSPIRE)",
    ),
    (
        "/tiles",
        "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
        media::JSON,
        "Vector tiles with every collection as a layer",
    ),
    (
        "/tileMatrixSets",
        "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
        media::JSON,
        "The tiling schemes",
    ),
];

/// Landing page
///
/// Entry point with links to the API definition, the conformance declaration and the data.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(FormatParams),
    responses((status = 200, description = "The landing page", body = LandingPage))
)]
#[get("/")]
pub async fn get_landing(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<FormatParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let base = state.base_url(&req);
    let doc = LandingPage {
        title: "kreisgeo".into(),
        description: "Geodata and open data of the county: OGC API - Features and vector tiles"
            .into(),
        links: LINKS
            .iter()
            .map(|(path, rel, media, title)| Link::new(format!("{base}{path}"), rel, media, title))
            .collect(),
    };
    answer(
        format,
        &req,
        HttpResponse::Ok(),
        (
            "kreisgeo – Geodaten des Landkreises",
            "kreisgeo – the county's geodata",
        ),
        &doc,
    )
}
