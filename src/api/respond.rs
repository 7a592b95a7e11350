//! Answers several handlers give alike.

use actix_web::{HttpRequest, HttpResponse};

use crate::api::state::AppState;
use crate::catalog::Version;
use crate::crs::ApiCrs;
use crate::error::Result;
use crate::features::encode::geojson::GeoJsonEncoder;
use crate::features::encode::{FeatureEncoder, PageEnd};
use crate::ogc::{media, Link};
use crate::tiles::cache::Coding;
use crate::value::FeatureRow;

/// A GeoJSON FeatureCollection of `rows` answering a citizen query: short-lived (it depends on
/// the point), cacheable per URL.
pub fn feature_collection(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    version: &Version,
    rows: &[FeatureRow],
    crs: &ApiCrs,
) -> Result<HttpResponse> {
    let mut encoder = GeoJsonEncoder::new(version);
    let mut body = Vec::with_capacity(4096);
    encoder.begin(&mut body);
    for row in rows {
        encoder.feature(&mut body, row)?;
    }
    let base = state.base_url(req);
    let self_href = format!("{base}{}?{}", req.path(), req.query_string());
    encoder.end(
        &mut body,
        &PageEnd {
            number_returned: rows.len() as u64,
            number_matched: None,
            links: vec![
                Link::new(self_href, "self", media::GEOJSON, "This result"),
                Link::to_collection(&base, id),
            ],
        },
    )?;
    Ok(HttpResponse::Ok()
        .content_type(media::GEOJSON)
        .insert_header(("Content-Crs", format!("<{}>", crs.uri)))
        .insert_header(("Cache-Control", "public, max-age=60"))
        .body(body))
}

/// The stored coding the client takes, most compact first (`Accept-Encoding`; q=0 refuses).
pub fn tile_coding(req: &HttpRequest) -> Coding {
    // Read in place: this runs for every tile, most of them cache hits.
    let mut headers = req
        .headers()
        .get_all(actix_web::http::header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok());
    let Some(first) = headers.next() else {
        return Coding::Identity;
    };
    const OFFERS: &[(&str, Coding)] = &[("br", Coding::Brotli), ("gzip", Coding::Gzip)];
    let chosen = match headers.next() {
        None => crate::negotiate::coding(first, OFFERS),
        // Rare: the list split over several header lines.
        Some(second) => {
            let joined: Vec<&str> = [first, second].into_iter().chain(headers).collect();
            crate::negotiate::coding(&joined.join(","), OFFERS)
        }
    };
    chosen.unwrap_or(Coding::Identity)
}
