//! `GET /api` (the OpenAPI document) and `GET /api.html` (a readable list of its operations).

use actix_web::{get, web, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::api::state::AppState;
use crate::ogc::media;

/// API definition
///
/// The OpenAPI 3.0 document of this server, generated from the code.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    responses((status = 200, description = "The OpenAPI document", content_type = "application/vnd.oai.openapi+json;version=3.0", body = Object))
)]
#[get("/api")]
pub async fn get_api(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(media::OPENAPI)
        .body(state.openapi.to_string())
}

/// API documentation
///
/// The operations of the OpenAPI document as an HTML page (self-contained, no scripts).
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    responses((status = 200, description = "HTML documentation", content_type = "text/html"))
)]
#[get("/api.html")]
pub async fn get_api_html(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(render(&state.openapi))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(doc: &serde_json::Value) -> String {
    let title = doc
        .pointer("/info/title")
        .and_then(|v| v.as_str())
        .unwrap_or("API");
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title></head><body><main><h1>{t}</h1>\
         <p>Machine-readable definition: <a href=\"api\">OpenAPI 3.0 (JSON)</a>.</p><dl>",
        t = escape(title)
    );
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let summary = op
                    .get("summary")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default();
                let description = op
                    .get("description")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default();
                html.push_str(&format!(
                    "<dt><code>{} {}</code></dt><dd><strong>{}</strong> {}</dd>",
                    escape(&method.to_uppercase()),
                    escape(path),
                    escape(summary),
                    escape(description)
                ));
            }
        }
    }
    html.push_str("</dl></main>");
    html.push_str(&crate::html::page::legal_links(crate::html::Lang::En));
    html.push_str("</body></html>");
    html
}
