//! `GET /collections` and `GET /collections/{collectionId}`.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TAG_CAPABILITIES;
use crate::api::cache::Validators;
use crate::api::request::CollectionRequest;
use crate::api::state::AppState;
use crate::catalog::cache::{CatalogCache, Listing};
use crate::catalog::{repo, Collection, DatasetKind};
use crate::crs::{ApiCrs, CRS84_URI};
use crate::error::Result;
use crate::features::params::{CollectionsParams, FormatParams};
use crate::html::{answer, DocFormat};
use crate::ogc::{media, CollectionDoc, Collections, Extent, Link, SpatialExtent};
use crate::opendata::metadata::{license_title, DatasetMetadata};
use crate::opendata::publishers::Publishers;
use crate::tiles::tms::WEB_MERCATOR_QUAD;
use sha2::{Digest, Sha256};

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
            // The dataset's metadata: the ISO 19139 record INSPIRE asks for, and DCAT-AP.de.
            Link::new(
                format!("{base}/catalog/datasets/{}/iso19139.xml", c.id),
                "describedby",
                "application/xml",
                "Metadata (ISO 19115/19139)",
            ),
            Link::new(
                format!("{base}/catalog/datasets/{}.ttl", c.id),
                "describedby",
                "text/turtle",
                "Metadata (DCAT-AP.de)",
            ),
        ],
    }
}

/// The links an INSPIRE download service gives a collection besides its metadata: the
/// licence and each bulk download of the served version (`enclosure`, with its type, size and
/// language).
fn licence_and_enclosures(
    publishers: &Publishers,
    row: &repo::CatalogRow<DatasetMetadata>,
    downloads: &[crate::downloads::Download],
) -> Vec<Link> {
    let c = &row.collection;
    let r = row
        .metadata
        .resolve(c.into(), publishers.of(row.publisher.as_deref()));
    let mut links = vec![Link::new(
        r.license,
        "license",
        "text/html",
        license_title(r.license).unwrap_or("Licence"),
    )];
    for d in downloads.iter().filter(|d| d.version == c.version.id) {
        let mut link = Link::new(
            d.href.clone(),
            "enclosure",
            d.media_type,
            &format!("{} ({}, {})", r.title.de, d.kind.format.title(), d.crs),
        );
        link.length = Some(d.bytes);
        link.hreflang = Some("de".into());
        links.push(link);
    }
    links
}

/// A parcels collection's features in the INSPIRE Cadastral Parcels model, as GeoJSON and GML
/// (`profile=inspire-cp`).
fn inspire_model_links(base: &str, c: &Collection) -> Vec<Link> {
    let has_key = c
        .version
        .columns
        .iter()
        .any(|col| col.name == "flurstueckskennzeichen");
    if c.kind != DatasetKind::Parcels || !has_key {
        return Vec::new();
    }
    let items = format!("{base}/collections/{}/items?profile=inspire-cp", c.id);
    vec![
        Link::new(
            format!("{items}&f=json"),
            "alternate",
            media::GEOJSON,
            "Features in the INSPIRE Cadastral Parcels model (GeoJSON)",
        ),
        Link::new(
            format!("{items}&f=gml"),
            "alternate",
            crate::features::encode::inspire_cp::GML,
            "Features in the INSPIRE Cadastral Parcels model (GML 3.2, cp:CadastralParcel 4.0)",
        ),
    ]
}

/// Collections
///
/// Every dataset served, by id, with its extent, licence, bulk downloads and links; a page of
/// `limit` (default 100) at a time, the following page linked as `next` (GDAL and QGIS follow
/// it). The CRS list is given once for all (`crs`; each collection says `#/crs`).
#[utoipa::path(
    tag = TAG_CAPABILITIES,
    params(CollectionsParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The collections", body = Collections),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections")]
pub async fn get_collections(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CollectionsParams>,
) -> Result<HttpResponse> {
    let format = DocFormat::of(&req, query.f.as_deref())?;
    let (offset, limit) = query.page()?;
    let base = state.base_url(&req);
    let title = ("Datensätze", "Collections");
    let cache = state.catalog.as_deref();
    if let Some(page) = match cache {
        Some(cache) => cache.listing(&base, req.query_string()).await,
        None => None,
    } {
        let response =
            Validators::new(&req, &base, &page.state_tag, page.newest.as_deref()).check(&req)?;
        return answer(format, &req, response, title, &page.document);
    }
    let generation = cache.map(CatalogCache::generation);
    let (collections, _) = state.collections_at().await?;
    let page: Vec<&Collection> = collections.iter().skip(offset).take(limit).collect();
    // The page's licences and downloads: two queries of the page's datasets alone.
    let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
    let publishers = state.publishers(&base).await?;
    let rows = repo::catalog_rows_of::<DatasetMetadata>(&state.pool, &ids).await?;
    let downloads = crate::downloads::listing::of_rows(&state.pool, &base, &rows).await?;
    let rows_by_id: std::collections::HashMap<&str, &repo::CatalogRow<DatasetMetadata>> =
        rows.iter().map(|r| (r.collection.id.as_str(), r)).collect();
    // The licences and downloads change without a new version: the validators are of what
    // the page says, and of its newest change.
    let newest = page
        .iter()
        .map(|c| c.version.created_at.as_str())
        .chain(downloads.iter().map(|d| d.created.as_str()))
        .chain(rows.iter().map(|r| r.modified.as_str()))
        .max()
        .map(str::to_string);
    let mut files: std::collections::HashMap<i64, Vec<crate::downloads::Download>> =
        std::collections::HashMap::new();
    for d in downloads {
        files.entry(d.version).or_default().push(d);
    }
    let entries = page
        .iter()
        .map(|c| {
            let mut doc = collection_doc(&base, c);
            doc.crs = vec!["#/crs".into()];
            if let Some(row) = rows_by_id.get(c.id.as_str()) {
                let own = files.get(&c.version.id).map_or(&[][..], Vec::as_slice);
                doc.links
                    .extend(licence_and_enclosures(&publishers, row, own));
            }
            doc
        })
        .collect::<Vec<_>>();
    let page_href = |offset: usize| format!("{base}/collections?limit={limit}&offset={offset}");
    let mut links = vec![Link::new(
        match req.query_string() {
            "" => format!("{base}/collections"),
            qs => format!("{base}/collections?{qs}"),
        },
        "self",
        media::JSON,
        "This document",
    )];
    if offset + limit < collections.len() {
        links.push(Link::new(
            page_href(offset + limit),
            "next",
            media::JSON,
            "The next page",
        ));
    }
    if offset > 0 {
        links.push(Link::new(
            page_href(offset.saturating_sub(limit)),
            "prev",
            media::JSON,
            "The previous page",
        ));
    }
    let doc = Collections {
        number_returned: Some(entries.len() as u64),
        number_matched: Some(collections.len() as u64),
        collections: entries,
        links,
        crs: ApiCrs::all().into_iter().map(|c| c.uri).collect(),
    };
    let document = serde_json::to_value(&doc).unwrap_or_default();
    let state_tag = hex::encode(Sha256::digest(document.to_string()));
    let response = Validators::new(&req, &base, &state_tag, newest.as_deref()).check(&req)?;
    let answered = answer(format, &req, response, title, &document);
    if let (Some(cache), Some(generation)) = (cache, generation) {
        let listing = Listing {
            document,
            state_tag,
            newest,
        };
        cache
            .store_listing(&base, req.query_string(), listing, generation)
            .await;
    }
    answered
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
pub async fn get_collection(
    req: HttpRequest,
    state: web::Data<AppState>,
    doc: CollectionRequest,
) -> Result<HttpResponse> {
    let CollectionRequest {
        format,
        collection,
        base,
    } = doc;
    let publishers = state.publishers(&base).await?;
    let (rows, _) = repo::catalog_rows::<DatasetMetadata>(
        &state.pool,
        None,
        Some(&collection.id),
        None,
        None,
        1,
        0,
    )
    .await?;
    let downloads = crate::downloads::listing::of_rows(&state.pool, &base, &rows).await?;
    let mut doc = collection_doc(&base, &collection);
    doc.links.extend(inspire_model_links(&base, &collection));
    if let Some(row) = rows.first() {
        doc.links
            .extend(licence_and_enclosures(&publishers, row, &downloads));
    }
    // The licence and the downloads change without a new version (metadata, files built
    // later): the document's validators are of what it says.
    let state_tag = serde_json::to_vec(&doc.links).unwrap_or_default();
    let newest = downloads
        .iter()
        .map(|d| d.created.as_str())
        .chain(rows.first().map(|r| r.modified.as_str()))
        .max();
    let validators = Validators::new(
        &req,
        &base,
        &format!(
            "v{}:{}",
            collection.version.id,
            hex::encode(Sha256::digest(&state_tag))
        ),
        newest,
    );
    let response = validators.check(&req)?;
    let title = collection.title.as_str();
    answer(format, &req, response, (title, title), &doc)
}
