//! `/impressum`, `/datenschutz`, `/barrierefreiheit`, `/leichte-sprache`: the pages a public
//! body's portal must have, linked from every page's footer.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::api::state::AppState;
use crate::catalog::repo;
use crate::error::Result;
use crate::html::legal::{self, Context, Page};
use crate::html::{View, HTML};
use crate::opendata::metadata::Publisher;

async fn render(req: &HttpRequest, state: &AppState, page: Page) -> Result<HttpResponse> {
    let view = View::of(req)?;
    let entered = repo::publisher(&state.pool).await?;
    let configured = entered.is_some();
    let publisher = entered.unwrap_or_else(|| Publisher::unconfigured(&state.base_url(req)));
    let external = state
        .config
        .basemap_style
        .as_deref()
        .and_then(|url| crate::basemap::external_origin(url).ok());
    let cx = Context {
        publisher: &publisher,
        configured,
        external_basemap: external.as_deref(),
    };
    Ok(HttpResponse::Ok()
        .content_type(HTML)
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(legal::page(req, view, page, &cx)))
}

/// Impressum
///
/// The provider's details (§ 5 DDG, § 18 MStV) from the publisher profile's `legal` part.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(("lang" = Option<String>, Query, description = "de (default) or en")),
    responses((status = 200, description = "The page", content_type = "text/html"))
)]
#[get("/impressum")]
pub async fn get_impressum(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    render(&req, &state, Page::Imprint).await
}

/// Datenschutzerklärung
///
/// What the portal processes, why, how long, and the visitor's rights (Art. 13 GDPR).
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(("lang" = Option<String>, Query, description = "de (default) or en")),
    responses((status = 200, description = "The page", content_type = "text/html"))
)]
#[get("/datenschutz")]
pub async fn get_datenschutz(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    render(&req, &state, Page::Privacy).await
}

/// Erklärung zur Barrierefreiheit
///
/// The accessibility statement (BITV 2.0, Directive (EU) 2016/2102): compliance, known
/// barriers, feedback contact, enforcement body.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(("lang" = Option<String>, Query, description = "de (default) or en")),
    responses((status = 200, description = "The page", content_type = "text/html"))
)]
#[get("/barrierefreiheit")]
pub async fn get_barrierefreiheit(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    render(&req, &state, Page::Accessibility).await
}

/// Leichte Sprache
///
/// The start page's essentials in Leichte Sprache (BITV 2.0 § 4); German only.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    responses((status = 200, description = "The page", content_type = "text/html"))
)]
#[get("/leichte-sprache")]
pub async fn get_leichte_sprache(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    render(&req, &state, Page::EasyLanguage).await
}
