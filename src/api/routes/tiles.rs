//! `GET /collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse, HttpResponseBuilder};

use super::TAG_TILES;
use crate::api::cache::Validators;
use crate::api::respond::tile_coding;
use crate::api::state::{AppState, MinVersion};
use crate::catalog::Collection;
use crate::db::replicas::Lane;
use crate::error::Result;
use crate::ogc::media;
use crate::tiles::cache::{Coding, Served, TileKey};
use crate::tiles::mvt;
use crate::tiles::tms::TileCoord;

/// The route of [`get_tile`], as metrics name it (a test holds the two equal).
pub const ROUTE: &str =
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}";

/// Vector tile
///
/// One Mapbox Vector Tile of the collection, with one layer named after the collection.
/// Attributes keep the names of the source file; the feature id is the MVT feature id.
/// Tiles without features are answered with 204 No Content.
#[utoipa::path(
    tag = TAG_TILES,
    params(
        ("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"),
        ("tileMatrixSetId" = String, Path, description = "Tile matrix set: WebMercatorQuad or AdV_25832", example = "WebMercatorQuad"),
        ("tileMatrix" = String, Path, description = "Zoom level: 0 to 24 (WebMercatorQuad), 0 to 14 (AdV_25832)", example = "12"),
        ("tileRow" = String, Path, description = "Row (y)", example = "1315"),
        ("tileCol" = String, Path, description = "Column (x)", example = "2166"),
        MinVersion,
    ),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "No features in this tile"),
        (status = 400, description = "A malformed tile address", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such collection, tile matrix set or tile", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}")]
pub async fn get_tile(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse> {
    let (id, tms, matrix, row, col) = path.into_inner();
    let (tms, coord) = TileCoord::from_ogc(&tms, &matrix, &row, &col)?;
    let (collection, lsn) = state.served(&req, &id).await?;
    let key = TileKey::new(&collection, tms.id, coord);
    let coding = tile_coding(&req);
    let response = validators(&key, coding, &collection).check(&req)?;
    let tile = state
        .tiles
        .get_or_render(
            key,
            coding,
            state.reads.run(Lane::Tiles, lsn, |pool| {
                let collection = &collection;
                async move { mvt::tile(&pool, collection, tms, coord).await }
            }),
        )
        .await?;
    Ok(answer(response, tile, coding))
}

/// The validators of tile `key` in `coding`: its bytes never change, so the ETag is strong.
pub fn validators(key: &TileKey, coding: Coding, collection: &Collection) -> Validators {
    Validators::strong(key.etag(coding), Some(&collection.version.created_at))
}

/// The answer with `tile`, started by its validators (`response`): the handler's and that of a
/// hit answered before routing (`api::tile_hits`), so that both send the same headers.
pub fn answer(mut response: HttpResponseBuilder, tile: Served, coding: Coding) -> HttpResponse {
    response
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("X-Tile-Cache", if tile.hit { "hit" } else { "miss" }));
    if tile.empty {
        return response.status(StatusCode::NO_CONTENT).finish();
    }
    response.content_type(media::MVT);
    // Stored compressed once: the compression middleware leaves an encoded body alone.
    response
        .insert_header((header::CONTENT_ENCODING, coding.name()))
        .body(tile.body)
}
