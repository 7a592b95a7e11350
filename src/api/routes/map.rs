//! The citizen map (`/map`) and the browser files it needs, served from the binary itself:
//! MapLibre GL JS (its CSP build, embedded at build time from npm) and the map's own script.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::error::{Error, Result};

/// A file the map page loads.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "maplibre-gl-csp.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl-csp.js")),
    },
    Asset {
        name: "maplibre-gl-csp-worker.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl-csp-worker.js")),
    },
    Asset {
        name: "maplibre-gl.css",
        media_type: "text/css; charset=utf-8",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.css")),
    },
    Asset {
        name: "map.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/map.js"),
    },
];

/// Whether MapLibre was embedded (npm had installed it when the binary was built).
const WITH_MAPLIBRE: bool = cfg!(maplibre);

/// German unless the browser prefers English (`Accept-Language`) or `lang=en` asks.
fn language(req: &HttpRequest) -> &'static str {
    let asked = req
        .query_string()
        .split('&')
        .find_map(|p| p.strip_prefix("lang="));
    match asked {
        Some("en") => return "en",
        Some(_) => return "de",
        None => {}
    }
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let first = accept
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if first.starts_with("en") {
        "en"
    } else {
        "de"
    }
}

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
pub async fn get_map(req: HttpRequest) -> HttpResponse {
    let lang = language(&req);
    let (title, layers, other, other_label, missing) = if lang == "en" {
        (
            "Map",
            "Layers",
            "de",
            "Deutsch",
            "The map library is missing from this build: run npm ci --prefix web and build again.",
        )
    } else {
        (
            "Karte",
            "Ebenen",
            "en",
            "English",
            "Die Kartenbibliothek fehlt in diesem Build: npm ci --prefix web ausführen und neu bauen.",
        )
    };
    let map = if WITH_MAPLIBRE {
        "<div id=\"map\" role=\"application\" aria-label=\"Karte / map\"></div>".to_string()
    } else {
        format!("<div id=\"map\"><p>{missing}</p></div>")
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – kreisgeo</title>\
         <link rel=\"stylesheet\" href=\"/assets/maplibre-gl.css\">\
         <style>html,body{{margin:0;height:100%;font-family:system-ui,sans-serif}}\
         #map{{position:absolute;inset:0}}\
         #panel{{position:absolute;top:.5rem;left:.5rem;max-width:min(22rem,80vw);\
         max-height:90vh;overflow:auto;background:#fff;padding:.5rem .75rem;border-radius:4px;\
         box-shadow:0 1px 4px #0005;font-size:.9rem}}\
         #panel h2{{font-size:1rem;margin:.25rem 0}}#layers label{{display:block}}\
         .swatch{{display:inline-block;width:.9rem;height:.9rem;margin:0 .25rem;vertical-align:middle;\
         border-radius:2px}}#tools button{{display:block;margin:.4rem 0;font:inherit;padding:.3rem .6rem}}\
         #details table{{border-collapse:collapse}}\
         #details th,#details td{{border:1px solid #ccc;padding:.1rem .3rem;text-align:left}}</style>\
         </head><body>{map}\
         <div id=\"panel\"><nav><a href=\"/?f=html\">kreisgeo</a> · \
         <a href=\"/map?lang={other}\" hreflang=\"{other}\" lang=\"{other}\">{other_label}</a></nav>\
         <section id=\"layers\" aria-label=\"{layers}\"></section><div id=\"tools\"></div>\
         <section id=\"details\" aria-live=\"polite\" hidden></section></div>\
         <script src=\"/assets/maplibre-gl-csp.js\"></script><script src=\"/assets/map.js\"></script>\
         </body></html>"
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
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
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name && !a.body.is_empty())
        .ok_or_else(|| Error::not_found("asset", &name))?;
    // The files change only with the binary: an hour, then a cheap revalidation.
    let etag = format!("\"{}-{:x}\"", env!("CARGO_PKG_VERSION"), asset.body.len());
    Ok(HttpResponse::Ok()
        .content_type(asset.media_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ETAG, etag))
        .body(asset.body))
}
