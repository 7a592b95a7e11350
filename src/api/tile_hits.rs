//! Tiles already in memory, answered before routing.
//!
//! A map in use asks for thousands of tiles a second, nearly all of them in the tile cache.
//! For such a hit, routing, path extraction, compression negotiation and the client share cost
//! more than the answer itself: a hit took about 27 µs of CPU through the whole stack, against
//! 12 µs for nginx sending the same bytes from disk (benches/README.md). This layer, inside the
//! request span and CORS, answers a hit with the handler's own validators and headers
//! (`routes::tiles::{validators, answer}`) and the same checks before and after it
//! (`middleware::{before, after_route}`: refusals, rate limit, request id, security headers, metrics,
//! in-flight count). A hit takes no place in its client's share: it waits for nothing and holds
//! nothing.
//!
//! Everything else goes the whole way: HEAD, a query string, `Kreisgeo-Min-Version`, an
//! escaped collection id, a collection not in the catalog cache, a tile not in the tile cache
//! or not yet in the coding asked for, a client that accepts neither brotli nor gzip but names
//! its codings (the compression layer decides whether identity is acceptable). A hit refused
//! by the checks before (429, 503) gets its small JSON body uncompressed.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web;

use super::cache::Validators;
use super::middleware;
use super::respond::tile_coding;
use super::routes::tiles::{answer, validators, ROUTE};
use super::state::{AppState, MIN_VERSION_HEADER};
use crate::tiles::cache::{Coding, Served, TileKey};
use crate::tiles::tms::TileCoord;

/// Answers a hit here, passes anything else on (`actix_web::middleware::from_fn`).
pub async fn answer_hits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    match hit(&req).await {
        Some(hit) => Ok(respond(req, hit, started)),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    }
}

/// A tile ready to send as it was asked for.
struct Hit {
    validators: Validators,
    tile: Served,
    coding: Coding,
}

/// The hit this request asks for, if it is one. Looks only; counts nothing.
async fn hit(req: &ServiceRequest) -> Option<Hit> {
    if req.method() != Method::GET || !req.query_string().is_empty() {
        return None;
    }
    let address = Address::parse(req.path())?;
    if req.headers().contains_key(MIN_VERSION_HEADER) {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    let (tms, coord) =
        TileCoord::from_ogc(address.tms, address.matrix, address.row, address.col).ok()?;
    let (collection, _) = state.catalog.as_ref()?.cached(address.collection).await?;
    let key = TileKey::new(&collection, tms.id, coord);
    let coding = tile_coding(req.request());
    if coding == Coding::Identity && req.headers().contains_key(header::ACCEPT_ENCODING) {
        return None;
    }
    let tile = state.tiles.ready(&key, coding).await?;
    Some(Hit {
        validators: validators(&key, coding, &collection),
        tile,
        coding,
    })
}

/// The answer to a hit, through the same checks as every routed request.
fn respond(req: ServiceRequest, hit: Hit, started: Instant) -> ServiceResponse<BoxBody> {
    let answered = middleware::before(&req)
        .and_then(|()| hit.validators.check(req.request()))
        .map(|response| {
            crate::metrics::tile_cache(true);
            answer(response, hit.tile, hit.coding)
        });
    let response = match answered {
        Ok(response) => req.into_response(response),
        Err(e) => req.error_response(e),
    };
    middleware::after_route(response, started, ROUTE)
}

/// The parts of `/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`.
#[derive(Debug, PartialEq, Eq)]
struct Address<'a> {
    collection: &'a str,
    tms: &'a str,
    matrix: &'a str,
    row: &'a str,
    col: &'a str,
}

impl<'a> Address<'a> {
    /// The tile address in a request path, unless anything in it would need decoding or it is
    /// no tile path at all.
    fn parse(path: &'a str) -> Option<Self> {
        let mut parts = path.strip_prefix("/collections/")?.split('/');
        let collection = parts.next().filter(|c| !c.is_empty())?;
        if parts.next()? != "tiles" || path.contains('%') {
            return None;
        }
        let address = Self {
            collection,
            tms: parts.next()?,
            matrix: parts.next()?,
            row: parts.next()?,
            col: parts.next()?,
        };
        parts.next().is_none().then_some(address)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::App;

    use super::{Address, ROUTE};

    /// A hit is counted under the pattern routing would have found.
    #[actix_web::test]
    async fn the_route_is_the_handlers() {
        let app = init_service(App::new().service(super::super::routes::tiles::get_tile)).await;
        let req = TestRequest::get()
            .uri("/collections/aed/tiles/WebMercatorQuad/12/1315/2166")
            .to_request();
        let res = call_service(&app, req).await;
        assert_eq!(res.request().match_pattern().as_deref(), Some(ROUTE));
    }

    #[test]
    fn tile_paths() {
        assert_eq!(
            Address::parse("/collections/aed/tiles/WebMercatorQuad/12/1315/2166"),
            Some(Address {
                collection: "aed",
                tms: "WebMercatorQuad",
                matrix: "12",
                row: "1315",
                col: "2166",
            })
        );
        for other in [
            "/collections/aed/tiles/WebMercatorQuad/12/1315",
            "/collections/aed/tiles/WebMercatorQuad/12/1315/2166/",
            "/collections/aed/tiles/WebMercatorQuad/12/1315/2166/x",
            "/collections//tiles/WebMercatorQuad/12/1315/2166",
            "/collections/a%65d/tiles/WebMercatorQuad/12/1315/2166",
            "/collections/aed/items/WebMercatorQuad/12/1315/2166",
            "/collections/aed/tiles",
            "/tiles/WebMercatorQuad/12/1315/2166",
        ] {
            assert_eq!(Address::parse(other), None, "{other}");
        }
    }
}
