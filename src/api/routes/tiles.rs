//! `GET /collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`.

use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::api::cache::Validators;

use super::TAG_TILES;
use crate::api::state::AppState;
use crate::catalog::repo;
use crate::error::Result;
use crate::ogc::media;
use crate::tiles::mvt;
use crate::tiles::tms::TileCoord;

/// Vector tile
///
/// One Mapbox Vector Tile of the collection, with one layer named after the collection.
/// Attributes keep the names of the source file; the feature id is the MVT feature id.
/// Tiles without features are answered with 204 No Content.
#[utoipa::path(
    tag = TAG_TILES,
    params(
        ("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"),
        ("tileMatrixSetId" = String, Path, description = "Tile matrix set; WebMercatorQuad", example = "WebMercatorQuad"),
        ("tileMatrix" = String, Path, description = "Zoom level, 0 to 24", example = "12"),
        ("tileRow" = String, Path, description = "Row (y)", example = "1315"),
        ("tileCol" = String, Path, description = "Column (x)", example = "2166"),
    ),
    responses(
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
    let coord = TileCoord::from_ogc(&tms, &matrix, &row, &col)?;
    let collection = repo::require_collection(&state.pool, &id).await?;
    let validators = Validators::for_version(&req, "", &collection.version);
    if let Some(not_modified) = validators.not_modified(&req) {
        return Ok(not_modified);
    }
    let tile = mvt::tile(&state.pool, &collection.version, &collection.id, coord).await?;
    let mut response = if tile.is_empty() {
        HttpResponse::NoContent()
    } else {
        HttpResponse::Ok()
    };
    validators.apply(&mut response);
    if tile.is_empty() {
        return Ok(response.finish());
    }
    Ok(response.content_type(media::MVT).body(tile))
}
