//! The OpenAPI document, collected from the handlers themselves (utoipa-actix-web), so there is
//! no path list to keep in sync. `openapi/openapi.json` is this document, checked by a test.

use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use super::routes::{
    api_doc, collections, conformance, items, landing, tiles, TAG_CAPABILITIES, TAG_DATA, TAG_TILES,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kreisgeo",
        description = "Geodata and open-data portal of a German county (Landkreis): cadastre \
                       parcels, solar potential of roofs and public defibrillators, served as \
                       OGC API - Features (GeoJSON) and Mapbox vector tiles.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2")
    ),
    components(schemas(super::error::ErrorBody)),
    tags(
        (name = TAG_CAPABILITIES, description = "What the server offers"),
        (name = TAG_DATA, description = "Features"),
        (name = TAG_TILES, description = "Mapbox vector tiles")
    )
)]
struct ApiDoc;

/// Registers every public route. The same function feeds the server and the OpenAPI document.
pub fn register(cfg: &mut ServiceConfig<'_>) {
    cfg.service(landing::get_landing)
        .service(conformance::get_conformance)
        .service(api_doc::get_api)
        .service(api_doc::get_api_html)
        .service(collections::get_collections)
        .service(collections::get_collection)
        .service(items::get_items)
        .service(items::get_feature)
        .service(tiles::get_tile);
}

/// The OpenAPI document of all routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(register)
        .split_for_parts();
    api
}

/// The document as committed in `openapi/openapi.json` (pretty, with a final newline).
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
