//! The OpenAPI document, collected from the handlers themselves (utoipa-actix-web), so there is
//! no path list to keep in sync. `openapi/openapi.json` is this document, checked by a test.

use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::Modify;

use super::routes::{
    admin, api_doc, at, basemap, catalog, ckan, collections, conformance, downloads, items,
    landing, legal, map, nearest, operations, publishers, queryables, search, sources, tiles,
    tilesets, TAG_ADMIN, TAG_CAPABILITIES, TAG_CITIZENS, TAG_DATA, TAG_OPEN_DATA, TAG_OPERATIONS,
    TAG_TILES,
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
        .service(search::get_search)
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
        .service(catalog::get_catalog_dataset_iso)
        .service(catalog::get_catalog_service_iso)
        .service(catalog::get_catalog_dataset)
        .service(admin::post_version)
        .service(admin::post_solar)
        .service(admin::get_job)
        .service(admin::get_metadata)
        .service(admin::put_metadata)
        .service(admin::get_publisher)
        .service(admin::put_publisher)
        .service(publishers::get_publishers)
        .service(publishers::put_publisher)
        .service(publishers::delete_publisher)
        .service(publishers::put_dataset_publisher)
        .service(admin::delete_dataset)
        .service(admin::rollback)
        .service(sources::get_sources)
        .service(sources::post_source)
        .service(sources::delete_source)
        .service(sources::post_source_run)
        .service(operations::get_health)
        .service(operations::get_ready)
        .service(operations::get_metrics)
        .service(basemap::get_style)
        .service(basemap::get_tile)
        .service(basemap::get_glyphs)
        .service(map::get_map)
        .service(map::get_asset)
        .service(legal::get_impressum)
        .service(legal::get_datenschutz)
        .service(legal::get_barrierefreiheit)
        .service(legal::get_leichte_sprache);
}

/// The OpenAPI version of the published document: the one OGC API Features' `oas30`
/// conformance class, the media type of `/api` and GDAL's OAPIF driver speak.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// The OpenAPI document of all routes, as utoipa builds it (OpenAPI 3.1).
fn openapi_31() -> utoipa::openapi::OpenApi {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(register)
        .split_for_parts();
    api
}

/// The published OpenAPI document of all routes, in OpenAPI 3.0.3.
pub fn openapi() -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi_31()).unwrap_or(serde_json::Value::Null);
    add_common_responses(&mut doc);
    bytes_as_binary(&mut doc);
    to_openapi_30(&mut doc);
    doc
}

/// The answers any operation can give, whatever its handler does: the middleware refuses an
/// unknown or malformed parameter or `Host` (400), a client with too many requests in flight
/// (429), and answers 503 while the database is unreachable or busy or the server stops; an
/// operation that reads `Kreisgeo-Min-Version` answers 412 when its node is behind that.
/// Handlers document only their own (304, 404, 410, 416 …).
fn add_common_responses(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    let common = [
        (
            "400",
            "A malformed or unknown parameter, or a `Host` that is not a host name",
        ),
        (
            "429",
            "Too many requests from this address at once; retry after `Retry-After` seconds",
        ),
        (
            "503",
            "The database is unreachable or busy, or the server is stopping; retry after \
             `Retry-After` seconds",
        ),
    ];
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(Value::as_object_mut)
    {
        let min_version = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == super::state::MIN_VERSION_HEADER && p["in"] == "header")
            });
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, description) in common {
            responses
                .entry(status)
                .or_insert_with(|| error(description));
        }
        if min_version {
            responses.entry("412").or_insert_with(|| {
                error("This node has not yet seen the version `Kreisgeo-Min-Version` asks for")
            });
        }
        // Status order, as a reader expects it.
        let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        responses.extend(sorted);
    }
}

/// The document as committed in `openapi/openapi.json` (pretty, with a final newline).
pub fn openapi_json() -> String {
    let mut text = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
    text.push('\n');
    text
}

/// Bodies that are bytes (tiles, FlatGeobuf, GeoPackage, uploads) as OpenAPI says bytes,
/// `string` of format `binary`, and text without a schema as `string`: utoipa writes a
/// `Vec<u8>` as an array of integers and a body without a type as no schema at all, which
/// client generators skip or turn into lists of numbers.
fn bytes_as_binary(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let mut contents: Vec<&mut Value> = Vec::new();
        for (key, part) in operation.as_object_mut().into_iter().flatten() {
            match (key.as_str(), part) {
                ("responses", Value::Object(responses)) => {
                    contents.extend(responses.values_mut().filter_map(|r| r.get_mut("content")));
                }
                ("requestBody", body) => contents.extend(body.get_mut("content")),
                _ => {}
            }
        }
        for (media, body) in contents
            .into_iter()
            .filter_map(Value::as_object_mut)
            .flatten()
        {
            let textual =
                media.starts_with("text/") || media.contains("json") || media.contains("xml");
            let Some(body) = body.as_object_mut() else {
                continue;
            };
            let bytes = body
                .get("schema")
                .is_some_and(|s| s["type"] == "array" && s["items"]["type"] == "integer");
            if bytes || (!body.contains_key("schema") && !textual) {
                body.insert(
                    "schema".into(),
                    json!({"type": "string", "format": "binary"}),
                );
            } else if !body.contains_key("schema") {
                body.insert("schema".into(), json!({"type": "string"}));
            }
        }
    }
}

/// Rewrites utoipa's OpenAPI 3.1 into 3.0.3. utoipa 5 writes only 3.1, whose schemas are JSON
/// Schema 2020-12; what it uses of that beyond 3.0 is nullability (`type: [T, "null"]`,
/// `oneOf: [{type: null}, S]`), `$ref` with a sibling `description`, which 3.0 would ignore,
/// and the licence `identifier`.
fn to_openapi_30(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    fn schema(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(types)) = map.get("type") {
                    let others: Vec<Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .cloned()
                        .collect();
                    if others.len() == 1 {
                        let nullable = others.len() < types.len();
                        map.insert("type".into(), others[0].clone());
                        if nullable {
                            map.insert("nullable".into(), Value::Bool(true));
                        }
                    }
                }
                for key in ["oneOf", "anyOf"] {
                    let Some(Value::Array(variants)) = map.get(key) else {
                        continue;
                    };
                    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
                    if variants.len() == 2 && variants.iter().any(is_null) {
                        let mut other = variants
                            .iter()
                            .find(|v| !is_null(v))
                            .cloned()
                            .unwrap_or(Value::Null);
                        map.remove(key);
                        if let Some(description) = other.as_object_mut().and_then(|o| {
                            o.contains_key("$ref")
                                .then(|| o.remove("description"))
                                .flatten()
                        }) {
                            map.entry("description").or_insert(description);
                        }
                        map.insert("allOf".into(), json!([other]));
                        map.insert("nullable".into(), Value::Bool(true));
                    }
                }
                if map.contains_key("$ref") && map.len() > 1 {
                    let reference = map.remove("$ref").unwrap_or(Value::Null);
                    map.insert("allOf".into(), json!([{ "$ref": reference }]));
                }
                for child in map.values_mut() {
                    schema(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(schema),
            _ => {}
        }
    }
    doc["openapi"] = Value::String(OPENAPI_VERSION.into());
    if let Some(license) = doc
        .pointer_mut("/info/license")
        .and_then(Value::as_object_mut)
    {
        if let Some(Value::String(id)) = license.remove("identifier") {
            license
                .entry("url")
                .or_insert_with(|| format!("https://spdx.org/licenses/{id}.html").into());
        }
    }
    for part in ["paths", "components"] {
        if let Some(value) = doc.get_mut(part) {
            schema(value);
        }
    }
}
