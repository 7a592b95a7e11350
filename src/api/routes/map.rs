//! The citizen map (`/map`) and the browser files of the portal (`/assets/…`), served from the
//! binary itself.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::error::{Error, Result};
use crate::html::assets::{self, WITH_MAPLIBRE};
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
pub async fn get_map(req: HttpRequest) -> Result<HttpResponse> {
    let lang = Lang::of(&req)?;
    let title = lang.pick("Karte", "Map");
    let layers = lang.pick("Ebenen", "Layers");
    let (other, other_label) = (lang.other().code(), lang.other().name());
    let missing = lang.pick(
        "Die Kartenbibliothek fehlt in diesem Build: npm ci --prefix web ausführen und neu bauen.",
        "The map library is missing from this build: run npm ci --prefix web and build again.",
    );
    let code = lang.code();
    let map = if WITH_MAPLIBRE {
        format!("<div id=\"map\" role=\"region\" aria-label=\"{title}\"></div>")
    } else {
        format!("<div id=\"map\"><p>{missing}</p></div>")
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – kreisgeo</title>\
         <link rel=\"stylesheet\" href=\"/assets/maplibre-gl.css\">\
         <style>html,body{{margin:0;height:100%;font-family:system-ui,sans-serif}}\
         #map{{position:absolute;inset:0}}\
         #panel{{position:absolute;top:.5rem;left:.5rem;max-width:min(22rem,80vw);\
         max-height:90vh;overflow:auto;background:#fff;padding:.5rem .75rem;border-radius:4px;\
         box-shadow:0 1px 4px #0005;font-size:.9rem;z-index:2}}#details:empty{{display:none}}\
         .visually-hidden{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}}\
         #panel a{{color:#0b57d0}}.maplibregl-ctrl-attrib a{{text-decoration:underline}}\
         #panel h2{{font-size:1rem;margin:.25rem 0}}#layers label{{display:block}}\
         .swatch{{display:inline-block;width:.9rem;height:.9rem;margin:0 .25rem;vertical-align:middle;\
         border-radius:2px}}#tools button{{display:block;margin:.4rem 0;font:inherit;padding:.3rem .6rem}}\
         #parcel-search label{{display:block;margin-top:.5rem}}#parcel-search input{{font:inherit;\
         width:11rem;padding:.2rem}}#parcel-search button{{display:inline-block;margin-left:.25rem}}\
         a:focus-visible,button:focus-visible,input:focus-visible,canvas:focus-visible\
         {{outline:3px solid #e8a317;outline-offset:2px}}\
         #details table{{border-collapse:collapse}}\
         #details th,#details td{{border:1px solid #ccc;padding:.1rem .3rem;text-align:left}}</style>\
         </head><body><main><h1 class=\"visually-hidden\">{title} – kreisgeo</h1>\
         <div id=\"panel\"><nav><a href=\"/?f=html&amp;lang={code}\">kreisgeo</a> · \
         <a href=\"/map?lang={other}\" hreflang=\"{other}\" lang=\"{other}\">{other_label}</a></nav>\
         <section id=\"layers\" aria-label=\"{layers}\"></section><div id=\"tools\"></div>\
         <section id=\"details\" aria-live=\"polite\"></section></div>{map}</main>\
         <script src=\"/assets/maplibre-gl-csp.js\"></script><script src=\"/assets/map.js\"></script>\
         </body></html>"
    );
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
    params(("file" = String, Path, description = "maplibre-gl-csp.js, maplibre-gl-csp-worker.js, maplibre-gl.css or map.js")),
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
