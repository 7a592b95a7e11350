//! `GET /search`: addresses, streets, places and parcel keys as a citizen types them.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::TAG_CITIZENS;
use crate::api::cache::Validators;
use crate::api::state::AppState;
use crate::error::{Error, Result};
use crate::features::params::{parse_bbox, parse_crs, Limit};
use crate::search::{query, searchable};

/// Longest search text: an address with postcode and town is far shorter.
const MAX_QUERY_CHARS: usize = 200;

/// Query string of the search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What was typed: an address (`Kettwiger Str. 12a, 45127 Essen`; typos, `Str.`/`Straße`,
    /// `ss`/`ß`, `ae`/`ä` and `12 a`/`12a` are all understood), a street, a place, or a parcel
    /// key (`05329001100085______`, `05 3290 011 00085`, `3290-11-85`). Up to 200 characters.
    #[param(example = "Kettwiger Str 12")]
    pub q: Option<String>,
    /// How many hits, 1 to 50; default 10.
    #[param(value_type = Option<u32>, example = 5)]
    pub limit: Option<String>,
    /// Only hits inside `minLon,minLat,maxLon,maxLat` (CRS84).
    #[param(example = "6.9,51.4,7.1,51.5")]
    pub bbox: Option<String>,
}

/// Search
///
/// Addresses, streets, places and parcels of the served address, OpenStreetMap and parcel
/// datasets, best first, as GeoJSON points. Each hit says its `kind` (`address`, `street`,
/// `place`, `parcel`), a display `label`, a `score`, and the `dataset` and feature `id` it was
/// found in. Suggestions while typing: the beginning of a name finds it.
#[utoipa::path(tag = TAG_CITIZENS, params(SearchParams), responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The hits (GeoJSON FeatureCollection)", content_type = "application/geo+json", body = Object),
        (status = 400, description = "No or too long a text, a bad limit or bbox", body = crate::api::error::ErrorBody)))]
#[get("/search")]
pub async fn get_search(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse> {
    let text = params.q.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(Error::invalid("q", "say what to search for"));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::invalid(
            "q",
            format!("longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = Limit::SEARCH.parse(params.limit.as_deref())? as usize;
    let bbox = params
        .bbox
        .as_deref()
        .map(|b| parse_bbox(b, &parse_crs("bbox-crs", None)?))
        .transpose()?
        .map(|b| [b.min_x, b.min_y, b.max_x, b.max_y]);
    let (collections, lsn) = state.collections_at().await?;
    let searched: Vec<_> = collections
        .iter()
        .filter(|c| searchable(c))
        .cloned()
        .collect();
    let base = state.base_url(&req);
    let mut response = Validators::for_collections(&req, &base, &searched).check(&req)?;
    let index = state
        .read(lsn, |pool| {
            let (search, all) = (&state.search, &collections);
            async move { search.index(&pool, all).await }
        })
        .await?;
    let hits = index.search(&query::parse(text), limit, bbox);
    let features: Vec<_> = hits
        .iter()
        .map(|h| {
            json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": h.point },
                "properties": h,
                "links": [{
                    "href": format!("{base}/collections/{}/items/{}", h.dataset, h.id),
                    "rel": "describedby", "type": "application/geo+json"
                }],
            })
        })
        .collect();
    Ok(response
        .content_type("application/geo+json")
        .json(json!({ "type": "FeatureCollection", "numberReturned": features.len(), "features": features })))
}
