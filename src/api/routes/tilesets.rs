//! OGC API Tiles metadata: tile matrix sets, the tilesets of a collection and of the dataset
//! (all collections as layers), TileJSON for MapLibre and QGIS, and the multi-layer tiles.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use utoipa::IntoParams;

use super::TAG_TILES;
use crate::api::cache::Validators;
use crate::api::request::CollectionRequest;
use crate::api::state::AppState;
use crate::catalog::{Collection, ColumnType};
use crate::crs::CRS84_URI;
use crate::db::replicas::{Lane, Lsn};
use crate::error::{Error, Result};
use crate::features::params::FormatParams;
use crate::html::{answer, DocFormat};
use crate::ogc::{media, Link};
use crate::tiles::cache::{Coding, TileKey};
use crate::tiles::mvt;
use crate::tiles::tms::{TileCoord, TileMatrixSet, TILE_MATRIX_SETS, WEB_MERCATOR_QUAD};

const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";

fn tms_link(base: &str, tms: &TileMatrixSet) -> Link {
    Link::new(
        format!("{base}/tileMatrixSets/{}", tms.id),
        REL_TILING_SCHEME,
        media::JSON,
        tms.title,
    )
}

/// Tile matrix sets
///
/// The tiling schemes tiles are served in: WebMercatorQuad and the AdV grid in EPSG:25832.
#[utoipa::path(tag = TAG_TILES, params(FormatParams), responses((status = 200, description = "The tile matrix sets", body = Object)))]
#[get("/tileMatrixSets")]
pub async fn get_tile_matrix_sets(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<FormatParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let base = state.base_url(&req);
    let sets: Vec<Json> = TILE_MATRIX_SETS
        .iter()
        .map(|t| {
            let mut link = tms_link(&base, t);
            link.rel = "self".into();
            json!({ "id": t.id, "title": t.title, "uri": t.uri, "crs": t.crs_uri(), "links": [link] })
        })
        .collect();
    answer(
        format,
        &req,
        HttpResponse::Ok(),
        ("Kachelschemata", "Tiling schemes"),
        &json!({ "tileMatrixSets": sets }),
    )
}

/// Tile matrix set
///
/// The definition of a tiling scheme (OGC Two Dimensional Tile Matrix Set 2.0, JSON).
#[utoipa::path(
    tag = TAG_TILES,
    params(("tileMatrixSetId" = String, Path, example = "AdV_25832"), FormatParams),
    responses(
        (status = 200, description = "The definition", body = Object),
        (status = 404, description = "No such tile matrix set", body = crate::api::error::ErrorBody)
    )
)]
#[get("/tileMatrixSets/{tileMatrixSetId}")]
pub async fn get_tile_matrix_set(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<FormatParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let tms = TileMatrixSet::find(&path)?;
    answer(
        format,
        &req,
        HttpResponse::Ok(),
        (tms.title, tms.title),
        &tms.definition(),
    )
}

/// The layer of a collection in tileset metadata: its fields as a JSON Schema.
fn layer(c: &Collection) -> Json {
    let mut properties = Map::new();
    for column in &c.version.columns {
        let (ty, format) = column.ty.json_schema();
        let mut schema = json!({ "type": ty });
        if let Some(format) = format {
            schema["format"] = format.into();
        }
        properties.insert(column.original.clone(), schema);
    }
    json!({
        "id": c.id,
        "title": c.title,
        "dataType": "vector",
        "propertiesSchema": { "type": "object", "properties": properties },
    })
}

/// A tileset description: of one collection (`prefix` = `/collections/{id}`) or of all.
fn tileset(
    base: &str,
    prefix: &str,
    tms: &TileMatrixSet,
    collections: &[Collection],
    title: &str,
) -> Json {
    let href = format!("{base}{prefix}/tiles/{}", tms.id);
    let mut tiles = Link::new(
        format!("{href}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"),
        "item",
        media::MVT,
        "Mapbox vector tiles",
    );
    tiles.templated = Some(true);
    let mut links = vec![
        Link::new(href.clone(), "self", media::JSON, "This tileset"),
        tms_link(base, tms),
        tiles,
    ];
    if tms.id == WEB_MERCATOR_QUAD {
        links.push(Link::new(
            format!("{href}/tilejson"),
            "describedby",
            media::JSON,
            "TileJSON for MapLibre and QGIS",
        ));
    }
    let mut doc = json!({
        "title": title,
        "dataType": "vector",
        "crs": tms.crs_uri(),
        "tileMatrixSetId": tms.id,
        "links": links,
        "layers": collections.iter().map(layer).collect::<Vec<_>>(),
    });
    if let Some(uri) = tms.uri {
        doc["tileMatrixSetURI"] = uri.into();
    }
    if let Some(b) = union_bbox(collections) {
        doc["boundingBox"] =
            json!({ "lowerLeft": [b[0], b[1]], "upperRight": [b[2], b[3]], "crs": CRS84_URI });
    }
    doc
}

fn union_bbox(collections: &[Collection]) -> Option<[f64; 4]> {
    collections
        .iter()
        .filter_map(|c| c.version.bbox)
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
}

fn tilesets_list(base: &str, prefix: &str, collections: &[Collection], title: &str) -> Json {
    let tilesets: Vec<Json> = TILE_MATRIX_SETS
        .iter()
        .map(|t| {
            let full = tileset(base, prefix, t, collections, title);
            json!({
                "title": format!("{title} ({})", t.id),
                "dataType": "vector",
                "crs": full["crs"],
                "tileMatrixSetURI": full.get("tileMatrixSetURI"),
                "links": full["links"],
            })
        })
        .collect();
    json!({
        "links": [Link::new(format!("{base}{prefix}/tiles"), "self", media::JSON, "These tilesets")],
        "tilesets": tilesets,
    })
}

/// The TileJSON 3.0 document for WebMercatorQuad tiles of `collections` under `prefix`.
fn tilejson(base: &str, prefix: &str, collections: &[Collection], name: &str) -> Json {
    let layers: Vec<Json> = collections
        .iter()
        .map(|c| {
            let fields: Map<String, Json> = c
                .version
                .columns
                .iter()
                .map(|col| {
                    let ty = match col.ty {
                        ColumnType::Integer | ColumnType::Float => "Number",
                        ColumnType::Boolean => "Boolean",
                        _ => "String",
                    };
                    (col.original.clone(), Json::from(ty))
                })
                .collect();
            json!({ "id": c.id, "description": c.title, "fields": fields, "minzoom": 0, "maxzoom": mvt::MAX_DETAIL_ZOOM })
        })
        .collect();
    let mut doc = json!({
        "tilejson": "3.0.0",
        "name": name,
        "scheme": "xyz",
        "tiles": [format!("{base}{prefix}/tiles/{WEB_MERCATOR_QUAD}/{{z}}/{{y}}/{{x}}")],
        "minzoom": 0,
        "maxzoom": mvt::MAX_DETAIL_ZOOM,
        "vector_layers": layers,
        "attribution": collections.iter().map(|c| c.title.as_str()).collect::<Vec<_>>().join(", "),
    });
    if let Some(b) = union_bbox(collections) {
        doc["bounds"] = json!(b);
        doc["center"] = json!([f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]), 12]);
    }
    doc
}

/// `body` (a page titled `title` when HTML was asked for), with validators of `collections`.
fn versioned(
    req: &HttpRequest,
    base: &str,
    collections: &[Collection],
    body: &Json,
    format: DocFormat,
    title: &str,
) -> Result<HttpResponse> {
    let validators = Validators::for_collections(req, base, collections);
    let response = validators.check(req)?;
    answer(format, req, response, (title, title), body)
}

/// A document about one collection's tiles, built by `build(base, prefix, [collection], title)`
/// and answered with the collection's validators.
fn about_collection(
    req: &HttpRequest,
    doc: CollectionRequest,
    build: impl FnOnce(&str, &str, &[Collection], &str) -> Json,
) -> Result<HttpResponse> {
    let CollectionRequest {
        format,
        collection: c,
        base,
    } = doc;
    let one = std::slice::from_ref(&c);
    let doc = build(&base, &format!("/collections/{}", c.id), one, &c.title);
    let title = doc["title"].as_str().unwrap_or(&c.title).to_string();
    versioned(req, &base, one, &doc, format, &title)
}

/// Tilesets of a collection
///
/// The collection's vector tilesets, one per tile matrix set.
#[utoipa::path(
    tag = TAG_TILES,
    params(("collectionId" = String, Path, example = "parcels"), FormatParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tilesets", body = Object),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/tiles")]
pub async fn get_collection_tilesets(
    req: HttpRequest,
    doc: CollectionRequest,
) -> Result<HttpResponse> {
    about_collection(&req, doc, tilesets_list)
}

/// Tileset of a collection
///
/// The tileset metadata: its layer with the fields, the tile matrix set, the bounding box and
/// the URL template of the tiles.
#[utoipa::path(
    tag = TAG_TILES,
    params(("collectionId" = String, Path, example = "parcels"), ("tileMatrixSetId" = String, Path, example = "WebMercatorQuad"), FormatParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tileset", body = Object),
        (status = 404, description = "No such collection or tile matrix set", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/tiles/{tileMatrixSetId}")]
pub async fn get_collection_tileset(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    doc: CollectionRequest,
) -> Result<HttpResponse> {
    let tms = TileMatrixSet::find(&path.1)?;
    about_collection(&req, doc, |base, prefix, one, title| {
        tileset(base, prefix, tms, one, title)
    })
}

/// TileJSON of a collection
///
/// TileJSON 3.0 for the collection's WebMercatorQuad tiles: the URL template MapLibre and QGIS
/// use, the layer and its fields, bounds and zoom range.
#[utoipa::path(
    tag = TAG_TILES,
    params(("collectionId" = String, Path, example = "parcels")),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "TileJSON", body = Object),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/tiles/WebMercatorQuad/tilejson")]
pub async fn get_collection_tilejson(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let c = state.collection(&path).await?;
    let base = state.base_url(&req);
    let doc = CollectionRequest {
        format: DocFormat::Json,
        collection: c,
        base,
    };
    about_collection(&req, doc, tilejson)
}

/// Query of the dataset-level (multi-layer) tiles.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LayersParams {
    /// Comma-separated collections to include as layers; default all.
    #[param(example = "parcels,aed")]
    pub collections: Option<String>,
}

/// Query of the dataset-level tileset documents.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TilesetParams {
    /// Comma-separated collections to include as layers; default all.
    #[param(example = "parcels,aed")]
    pub collections: Option<String>,
    /// Output format: `json` or `html`; without it, Accept decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
    /// Language of the HTML page: `de` (default) or `en`; without it, Accept-Language decides.
    #[param(value_type = Option<String>, example = "en")]
    pub lang: Option<String>,
}

/// The collections a multi-layer request asks for, in the order asked (all by default), and
/// the WAL position a replica must have replayed to read them.
async fn chosen(
    state: &AppState,
    collections: Option<&str>,
) -> Result<(std::sync::Arc<Vec<Collection>>, Lsn)> {
    let (all, lsn) = state.collections_at().await?;
    // All of them (the usual case, on every multi-layer tile): the cached list itself.
    let Some(list) = collections else {
        return Ok((all, lsn));
    };
    let chosen = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            all.iter()
                .find(|c| c.id == id)
                .cloned()
                .ok_or_else(|| Error::invalid("collections", format!("no collection '{id}'")))
        })
        .collect::<Result<_>>()?;
    Ok((std::sync::Arc::new(chosen), lsn))
}

/// Tilesets of the dataset
///
/// Multi-layer vector tilesets with every collection (or `collections=a,b`) as a layer.
#[utoipa::path(tag = TAG_TILES, params(TilesetParams), responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tilesets", body = Object)))]
#[get("/tiles")]
pub async fn get_tilesets(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TilesetParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let (collections, _) = chosen(&state, query.collections.as_deref()).await?;
    let base = state.base_url(&req);
    let doc = tilesets_list(&base, "", &collections, "kreisgeo");
    versioned(&req, &base, &collections, &doc, format, "kreisgeo")
}

/// TileJSON of the dataset
///
/// TileJSON 3.0 of the multi-layer WebMercatorQuad tiles (every collection, or `collections`).
#[utoipa::path(tag = TAG_TILES, params(LayersParams), responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "TileJSON", body = Object)))]
#[get("/tiles/WebMercatorQuad/tilejson")]
pub async fn get_tilejson(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LayersParams>,
) -> Result<HttpResponse> {
    let (collections, _) = chosen(&state, query.collections.as_deref()).await?;
    let base = state.base_url(&req);
    let mut doc = tilejson(&base, "", &collections, "kreisgeo");
    if let Some(list) = &query.collections {
        let template =
            format!("{base}/tiles/{WEB_MERCATOR_QUAD}/{{z}}/{{y}}/{{x}}?collections={list}");
        doc["tiles"] = json!([template]);
    }
    versioned(&req, &base, &collections, &doc, DocFormat::Json, "kreisgeo")
}

/// Tileset of the dataset
///
/// Metadata of the multi-layer tiles in one tile matrix set.
#[utoipa::path(
    tag = TAG_TILES,
    params(("tileMatrixSetId" = String, Path, example = "WebMercatorQuad"), TilesetParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tileset", body = Object), (status = 404, description = "No such tile matrix set", body = crate::api::error::ErrorBody)
    )
)]
#[get("/tiles/{tileMatrixSetId}")]
pub async fn get_tileset(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<TilesetParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let tms = TileMatrixSet::find(&path)?;
    let (collections, _) = chosen(&state, query.collections.as_deref()).await?;
    let base = state.base_url(&req);
    let doc = tileset(&base, "", tms, &collections, "kreisgeo");
    versioned(&req, &base, &collections, &doc, format, "kreisgeo")
}

/// Multi-layer vector tile
///
/// One tile with a layer per collection (every collection, or `collections=a,b`), each named
/// after its collection; collections without features there are left out. 204 when none has.
#[utoipa::path(
    tag = TAG_TILES,
    params(
        ("tileMatrixSetId" = String, Path, example = "WebMercatorQuad"),
        ("tileMatrix" = String, Path, example = "12"),
        ("tileRow" = String, Path, example = "1315"),
        ("tileCol" = String, Path, example = "2166"),
        LayersParams
    ),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "No features in this tile"),
        (status = 404, description = "No such tile matrix set or tile", body = crate::api::error::ErrorBody)
    )
)]
#[get("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}")]
pub async fn get_dataset_tile(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
    query: web::Query<LayersParams>,
) -> Result<HttpResponse> {
    let (tms, matrix, row, col) = path.into_inner();
    let (tms, coord) = TileCoord::from_ogc(&tms, &matrix, &row, &col)?;
    let (collections, lsn) = chosen(&state, query.collections.as_deref()).await?;
    let base = state.base_url(&req);
    let validators = Validators::for_collections(&req, &base, &collections);
    let mut response = validators.check(&req)?;
    // Each layer comes from the per-collection cache; MVT layers concatenate into one tile.
    let mut body = Vec::new();
    for c in collections.iter() {
        let key = TileKey::new(c, tms.id, coord);
        let tile = state
            .tiles
            .get_or_render(
                key,
                Coding::Identity,
                state.reads.run(Lane::Tiles, lsn, |pool| async move {
                    mvt::tile(&pool, c, tms, coord).await
                }),
            )
            .await?;
        body.extend_from_slice(&tile.body);
    }
    if body.is_empty() {
        return Ok(response.status(StatusCode::NO_CONTENT).finish());
    }
    Ok(response
        .insert_header((header::VARY, "Accept-Encoding"))
        .content_type(media::MVT)
        .body(body))
}
