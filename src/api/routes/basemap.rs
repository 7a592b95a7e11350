//! The basemap: `/basemap/style.json`, its tiles and its glyphs (see [`crate::basemap`]).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_TILES;
use crate::api::cache::Validators;
use crate::api::respond::tile_coding;
use crate::api::state::AppState;
use crate::basemap::{self, style};
use crate::catalog::Collection;
use crate::error::{Error, Result};
use crate::ogc::media;
use crate::tiles::cache::TileKey;
use crate::tiles::tms::{TileCoord, WEB_MERCATOR_QUAD};

/// The basemap's collection and the WAL position to read it at.
async fn source(state: &AppState) -> Result<(Collection, crate::db::replicas::Lsn)> {
    let (collections, lsn) = state.collections_at().await?;
    let chosen = basemap::source(&collections, state.config.basemap.as_deref())
        .cloned()
        .ok_or_else(|| {
            Error::not_found(
                "OpenStreetMap dataset for the basemap (kreisgeo ingest REGION.osm.pbf --kind osm)",
                state.config.basemap.as_deref().unwrap_or("kind osm"),
            )
        })?;
    Ok((chosen, lsn))
}

/// Basemap style
///
/// A MapLibre style (version 8) of the basemap drawn from the loaded OpenStreetMap extract:
/// its tiles and glyphs are served here, nothing is loaded from elsewhere. Where the operator
/// configured an external style instead (`--basemap-style`), a redirect to it.
#[utoipa::path(tag = TAG_TILES, responses(
        (status = 302, description = "An external style is configured: its URL in `Location`"),
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The MapLibre style", body = Object),
        (status = 404, description = "No OpenStreetMap dataset is loaded", body = crate::api::error::ErrorBody)))]
#[get("/basemap/style.json")]
pub async fn get_style(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    if let Some(external) = &state.config.basemap_style {
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, external.as_str()))
            .finish());
    }
    let (c, _) = source(&state).await?;
    let base = state.base_url(&req);
    let validators = Validators::for_version(&req, &base, &c.version);
    let mut response = validators.check(&req)?;
    let doc = style::style(&base, c.version.bbox, basemap::ATTRIBUTION);
    Ok(response.json(doc))
}

/// Basemap tile
///
/// One WebMercatorQuad vector tile of the basemap with the layers `landuse`, `water`,
/// `waterway`, `building`, `boundary`, `road`, `railway`, `place` and `housenumber`, each with
/// what its zoom shows. 204 where there is nothing.
#[utoipa::path(
    tag = TAG_TILES,
    params(
        ("tileMatrix" = String, Path, description = "Zoom level, 0 to 24", example = "15"),
        ("tileRow" = String, Path, description = "Row (y)", example = "11203"),
        ("tileCol" = String, Path, description = "Column (x)", example = "17408"),
    ),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "Nothing in this tile"),
        (status = 400, description = "A malformed tile address", body = crate::api::error::ErrorBody),
        (status = 404, description = "No OpenStreetMap dataset is loaded, or no such tile", body = crate::api::error::ErrorBody)
    )
)]
#[get("/basemap/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")]
pub async fn get_tile(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (matrix, row, col) = path.into_inner();
    let (tms, coord) = TileCoord::from_ogc(WEB_MERCATOR_QUAD, &matrix, &row, &col)?;
    let (c, lsn) = source(&state).await?;
    // Its own cache key: the collection's generic tiles are another rendering.
    let mut key = TileKey::new(&c, tms.id, coord);
    key.collection = format!("{}#basemap", c.id);
    let coding = tile_coding(&req);
    let validators = Validators::strong(key.etag(coding), Some(&c.version.created_at));
    let mut response = validators.check(&req)?;
    let version = &c.version;
    let tile = state
        .tiles
        .get_or_render(
            key,
            coding,
            state.read(lsn, |pool| async move {
                basemap::tiles::tile(&pool, version, coord).await
            }),
        )
        .await?;
    response
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("X-Tile-Cache", if tile.hit { "hit" } else { "miss" }));
    if tile.empty {
        return Ok(response.status(StatusCode::NO_CONTENT).finish());
    }
    Ok(response
        .content_type(media::MVT)
        .insert_header((header::CONTENT_ENCODING, coding.name()))
        .body(tile.body))
}

/// Basemap glyphs
///
/// The glyphs of the basemap's labels for 256 code points (MapLibre's `glyphs` URL):
/// `DejaVu Sans Book` or `DejaVu Sans Bold`, ranges `0-255` to `65280-65535`.
#[utoipa::path(
    tag = TAG_TILES,
    params(
        ("fontstack" = String, Path, description = "Font names, comma-separated; the first this server has is used", example = "DejaVu Sans Book"),
        ("range" = String, Path, description = "Code points: a multiple of 256, a dash, that plus 255", example = "0-255"),
    ),
    responses(
        (status = 200, description = "The glyphs (protocol buffers)", content_type = "application/x-protobuf"),
        (status = 400, description = "Not a glyph range", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such font", body = crate::api::error::ErrorBody)
    )
)]
#[get("/basemap/fonts/{fontstack}/{range}.pbf")]
pub async fn get_glyphs(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (stack, range) = path.into_inner();
    // Glyphs never change within a build.
    let etag = format!("\"glyphs-{}-{stack}-{range}\"", env!("CARGO_PKG_VERSION"));
    let mut response = Validators::strong(etag, None).check(&req)?;
    let body = state.glyphs.range(&stack, &range).await?;
    Ok(response
        .content_type("application/x-protobuf")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body))
}
