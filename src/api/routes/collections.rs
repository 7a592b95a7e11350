//! `GET /collections` and `GET /collections/{collectionId}`.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::api::cache::Validators;
use crate::api::request::CollectionRequest;
use crate::api::state::AppState;
use crate::catalog::Collection;
use crate::crs::{ApiCrs, CRS84_URI};
use crate::error::Result;
use crate::features::params::FormatParams;
use crate::html::{answer, DocFormat};
use crate::ogc::{media, CollectionDoc, Collections, Extent, Link, SpatialExtent};
use crate::tiles::tms::WEB_MERCATOR_QUAD;

/// The collection document for `c`, with links under `base`.
pub fn collection_doc(base: &str, c: &Collection) -> CollectionDoc {
    let href = format!("{base}/collections/{}", c.id);
    let mut tiles = Link::new(
        format!("{href}/tiles/{WEB_MERCATOR_QUAD}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"),
        "item",
        media::MVT,
        "Vector tiles (WebMercatorQuad)",
    );
    tiles.templated = Some(true);
    CollectionDoc {
        id: c.id.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        kind: c.kind.as_str().into(),
        extent: c.version.bbox.map(|b| Extent {
            spatial: SpatialExtent {
                bbox: vec![b],
                crs: CRS84_URI.into(),
            },
        }),
        item_type: "feature".into(),
        crs: ApiCrs::all().into_iter().map(|c| c.uri).collect(),
        // Served in it without a transformation, coordinates exactly as loaded.
        storage_crs: ApiCrs::storage(c.version.source_crs).uri,
        version: c.version.id,
        feature_count: c.version.feature_count,
        links: vec![
            Link::new(href.clone(), "self", media::JSON, "This collection"),
            Link::new(
                format!("{href}/items"),
                "items",
                media::GEOJSON,
                "The features (GeoJSON)",
            ),
            Link::new(
                format!("{href}/tiles"),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                media::JSON,
                "Vector tilesets (WebMercatorQuad, AdV_25832)",
            ),
            Link::new(
                format!("{href}/queryables"),
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                media::SCHEMA_JSON,
                "The properties filters may use",
            ),
            tiles,
        ],
    }
}

/// Collections
///
/// Every dataset served, with its extent and links.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(FormatParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The collections", body = Collections)
    )
)]
#[get("/collections")]
pub async fn get_collections(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<FormatParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let base = state.base_url(&req);
    let (collections, _) = state.collections_at().await?;
    let validators = Validators::for_collections(&req, &base, &collections);
    let response = validators.check(&req)?;
    let doc = Collections {
        collections: collections
            .iter()
            .map(|c| collection_doc(&base, c))
            .collect(),
        links: vec![Link::new(
            format!("{base}/collections"),
            "self",
            media::JSON,
            "This document",
        )],
    };
    answer(format, &req, response, ("Datensätze", "Collections"), &doc)
}

/// Collection
///
/// One dataset: its extent, CRS, served version and links.
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"), FormatParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The collection", body = CollectionDoc),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}")]
pub async fn get_collection(req: HttpRequest, doc: CollectionRequest) -> Result<HttpResponse> {
    let validators = doc.validators(&req);
    let response = validators.check(&req)?;
    let CollectionRequest {
        format,
        collection,
        base,
    } = doc;
    let doc = collection_doc(&base, &collection);
    let title = collection.title.as_str();
    answer(format, &req, response, (title, title), &doc)
}
