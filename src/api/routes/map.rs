//! The citizen map (`/map`) and the browser files of the portal (`/assets/…`), served from the
//! binary itself.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::api::state::AppState;
use crate::error::{Error, Result};
use crate::html::assets;
use crate::html::Lang;

/// Citizen map
///
/// The county's data on a map (MapLibre GL JS over kreisgeo's own vector tiles): a layer
/// switcher with legend, the attributes of a clicked feature. German, or English by
/// `Accept-Language` or `lang=en`.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(("lang" = Option<String>, Query, description = "de (default) or en")),
    responses((status = 200, description = "The map page", content_type = "text/html"))
)]
#[get("/map")]
pub async fn get_map(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let external = state
        .config
        .basemap_style
        .as_deref()
        .and_then(|url| crate::basemap::external_origin(url).ok());
    let body = crate::html::map::page(Lang::of(&req)?, external.as_deref());
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body))
}

/// Map files
///
/// MapLibre GL JS (CSP build and worker, stylesheet) and the map's script, from the binary.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(("file" = String, Path, description = "maplibre-gl-csp.js, maplibre-gl-csp-worker.js, maplibre-gl.css, map.css or map.js")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such file", body = crate::api::error::ErrorBody)
    )
)]
#[get("/assets/{file}")]
pub async fn get_asset(path: web::Path<String>) -> Result<HttpResponse> {
    let name = path.into_inner();
    let asset = assets::find(&name).ok_or_else(|| Error::not_found("asset", &name))?;
    // The files change only with the binary: an hour, then a cheap revalidation.
    let etag = format!("\"{}-{:x}\"", env!("CARGO_PKG_VERSION"), asset.body.len());
    Ok(HttpResponse::Ok()
        .content_type(asset.media_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ETAG, etag))
        .body(asset.body))
}
