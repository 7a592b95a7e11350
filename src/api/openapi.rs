//! The OpenAPI document, collected from the handlers themselves (utoipa-actix-web), so there is
//! no path list to keep in sync. `openapi/openapi.json` is this document, checked by a test.

use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::Modify;

use super::routes::{
    admin, api_doc, at, catalog, ckan, collections, conformance, downloads, items, landing, map,
    nearest, operations, queryables, tiles, tilesets, TAG_ADMIN, TAG_CAPABILITIES, TAG_CITIZENS,
    TAG_DATA, TAG_OPEN_DATA, TAG_OPERATIONS, TAG_TILES,
};

/// The admin API's key, sent as `X-API-Key` (or as `Authorization: Bearer`).
struct AdminKey;

impl Modify for AdminKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "X-API-Key",
                    "A key from `kreisgeo keys create`; `Authorization: Bearer <key>` works too",
                ))),
            );
        }
    }
}

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
    modifiers(&AdminKey),
    tags(
        (name = TAG_CAPABILITIES, description = "What the server offers"),
        (name = TAG_DATA, description = "Features"),
        (name = TAG_TILES, description = "Mapbox vector tiles"),
        (name = TAG_CITIZENS, description = "Questions citizens' apps ask: the nearest defibrillator"),
        (name = TAG_OPEN_DATA, description = "The DCAT-AP.de catalog that open-data portals harvest"),
        (name = TAG_ADMIN, description = "Uploads, ingest jobs and metadata; an API key is required"),
        (name = TAG_OPERATIONS, description = "Liveness, readiness and Prometheus metrics")
    )
)]
struct ApiDoc;

/// Registers every public route. The same function feeds the server and the OpenAPI document.
/// actix tries routes in this order, each dynamic one with a regex: the hot ones come first
/// (at 27,000 tile requests/s, trying the others first was a fifth of the CPU).
pub fn register(cfg: &mut ServiceConfig<'_>) {
    cfg.service(tiles::get_tile)
        .service(items::get_items)
        .service(items::get_feature)
        .service(nearest::get_nearest)
        .service(at::get_at)
        .service(landing::get_landing)
        .service(conformance::get_conformance)
        .service(api_doc::get_api)
        .service(api_doc::get_api_html)
        .service(collections::get_collections)
        .service(collections::get_collection)
        .service(queryables::get_queryables)
        .service(tilesets::get_tile_matrix_sets)
        .service(tilesets::get_tile_matrix_set)
        .service(tilesets::get_collection_tilesets)
        .service(tilesets::get_collection_tilejson)
        .service(tilesets::get_collection_tileset)
        .service(tilesets::get_tilesets)
        .service(tilesets::get_tilejson)
        .service(tilesets::get_tileset)
        .service(tilesets::get_dataset_tile)
        .service(downloads::get_downloads)
        .service(downloads::get_download)
        .service(ckan::get_action)
        .service(ckan::post_action)
        .service(catalog::get_catalog)
        .service(catalog::get_catalog_as)
        .service(catalog::get_catalog_dataset)
        .service(admin::post_version)
        .service(admin::get_job)
        .service(admin::get_metadata)
        .service(admin::put_metadata)
        .service(admin::get_publisher)
        .service(admin::put_publisher)
        .service(admin::delete_dataset)
        .service(admin::rollback)
        .service(operations::get_health)
        .service(operations::get_ready)
        .service(operations::get_metrics)
        .service(map::get_map)
        .service(map::get_asset);
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
