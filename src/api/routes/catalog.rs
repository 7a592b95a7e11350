//! `GET /catalog` and `/catalog/datasets/{id}`: the DCAT-AP.de catalog in Turtle, RDF/XML or
//! JSON-LD, paged and filterable by modification time as ckanext-dcat offers it.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::TAG_OPEN_DATA;
use crate::api::cache::Validators;
use crate::api::state::AppState;
use crate::catalog::cache::{CatalogCache, Document};
use crate::catalog::repo;
use crate::error::{Error, Result};
use crate::html::{dataset_page, prefers_html, View, HTML};
use crate::opendata::dcat::{self, Paging};
use crate::opendata::metadata::DatasetMetadata;
use crate::opendata::publishers::Publishers;
use crate::opendata::rdf::RdfFormat;

/// Datasets per catalog page.
pub const PER_PAGE: i64 = 100;

/// Query of the catalog.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogParams {
    /// Page of the catalog, from 1; 100 datasets a page (Hydra paging).
    #[param(minimum = 1, example = 1)]
    pub page: Option<String>,
    /// Only datasets whose data or metadata changed at or after this time (RFC 3339, or a
    /// date meaning its midnight UTC), for incremental harvesting.
    #[param(example = "2026-01-01T00:00:00Z")]
    pub modified_since: Option<String>,
    /// `true`: only the high-value datasets (Implementing Regulation (EU) 2023/138), e.g. for
    /// the EU's HVD reporting.
    #[param(example = true)]
    pub hvd: Option<bool>,
    /// Only the datasets of one publisher, by its CKAN organization name (a municipality's id,
    /// or the county's name as `organization_list` gives it): a harvester that takes one
    /// organization's datasets.
    #[param(example = "lauf-an-der-pegnitz")]
    pub publisher: Option<String>,
}

impl CatalogParams {
    fn page(&self) -> Result<i64> {
        match self.page.as_deref() {
            None => Ok(1),
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=1_000_000).contains(p))
                .ok_or_else(|| {
                    Error::invalid("page", format!("'{p}' is not a page number (1, 2, …)"))
                }),
        }
    }

    /// `modified_since` as an RFC 3339 time PostgreSQL reads.
    fn modified_since(&self) -> Result<Option<String>> {
        let Some(raw) = self.modified_since.as_deref() else {
            return Ok(None);
        };
        use chrono::Datelike;
        let time = chrono::DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok()
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            });
        if let Some(t) = time {
            // PostgreSQL has no year 0 and reads no year past 9999 in this form.
            if !(1..=9999).contains(&t.year()) {
                return Err(Error::invalid(
                    "modified_since",
                    format!("'{raw}' is outside the years 0001 to 9999"),
                ));
            }
            return Ok(Some(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()));
        }
        Err(Error::invalid(
            "modified_since",
            format!("'{raw}' is neither an RFC 3339 time (2026-01-01T00:00:00Z) nor a date"),
        ))
    }
}

/// The publishers: the one entered with `kreisgeo catalog publisher` (or the placeholder until
/// then) and the further ones (`kreisgeo publishers`).
async fn publishers(state: &AppState, base: &str) -> Result<std::sync::Arc<Publishers>> {
    state.publishers(base).await
}

/// DCAT-AP.de catalog
///
/// Every dataset with its distributions and the OGC API as a `dcat:DataService`, in RDF/XML
/// (default), Turtle or JSON-LD by Accept. Paged with Hydra (`page`), filterable by
/// `modified_since` for incremental harvests.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(CatalogParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The catalog", content(
            (String = "application/rdf+xml"), (String = "text/turtle"), (String = "application/ld+json")
        )),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody)
    )
)]
#[get("/catalog")]
pub async fn get_catalog(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<CatalogParams>,
) -> Result<HttpResponse> {
    catalog_response(&req, &state, &params, None).await
}

/// DCAT-AP.de catalog in one serialisation
///
/// The catalog as `catalog.ttl`, `catalog.rdf` or `catalog.jsonld`.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(("format" = String, Path, description = "ttl, rdf or jsonld", example = "ttl"), CatalogParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The catalog", content(
            (String = "application/rdf+xml"), (String = "text/turtle"), (String = "application/ld+json")
        )),
        (status = 400, description = "A malformed parameter or unknown extension", body = crate::api::error::ErrorBody)
    )
)]
#[get("/catalog.{format}")]
pub async fn get_catalog_as(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<CatalogParams>,
) -> Result<HttpResponse> {
    catalog_response(&req, &state, &params, Some(&path.into_inner())).await
}

async fn catalog_response(
    req: &HttpRequest,
    state: &AppState,
    params: &CatalogParams,
    extension: Option<&str>,
) -> Result<HttpResponse> {
    let format = RdfFormat::negotiate(extension, accept(req))?;
    let page = params.page()?;
    let since = params.modified_since()?;
    let base = state.base_url(req);
    let publishers = publishers(state, &base).await?;
    let hvd = (params.hvd == Some(true)).then(crate::opendata::metadata::hvd_filter);
    let only_publisher = params
        .publisher
        .as_deref()
        .map(|p| publishers.filter_for(p))
        .transpose()?;
    let (rows, total) = repo::catalog_rows::<DatasetMetadata>(
        &state.pool,
        since.as_deref(),
        None,
        hvd.as_ref(),
        only_publisher,
        PER_PAGE,
        (page - 1) * PER_PAGE,
    )
    .await?;
    let mut href = match extension {
        Some(ext) => format!("{base}/catalog.{ext}"),
        None => format!("{base}/catalog"),
    };
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(raw) = params.modified_since.as_deref() {
        query.push(("modified_since", raw));
    }
    if let Some(h) = params.hvd {
        query.push(("hvd", if h { "true" } else { "false" }));
    }
    if let Some(p) = params.publisher.as_deref() {
        query.push(("publisher", p));
    }
    if !query.is_empty() {
        href.push('?');
        href.push_str(
            &serde_urlencoded::to_string(&query).map_err(|e| Error::Internal(e.to_string()))?,
        );
    }
    let paging = Paging {
        href,
        page,
        per_page: PER_PAGE,
        total,
    };
    let downloads = crate::downloads::listing::of_rows(&state.pool, &base, &rows).await?;
    // The deleted datasets come with the first page.
    let deleted = match page {
        1 => repo::tombstones::<DatasetMetadata>(&state.pool, since.as_deref()).await?,
        _ => Vec::new(),
    };
    // A harvester of one publisher's datasets learns only of its deletions.
    let deleted: Vec<_> = deleted
        .into_iter()
        .filter(|t| only_publisher.is_none_or(|p| t.publisher.as_deref().unwrap_or("") == p))
        .collect();
    let triples = dcat::catalog(&base, &publishers, &rows, &downloads, &deleted, &paging);
    rdf_response(req, format, &triples)
}

/// DCAT-AP.de dataset
///
/// One dataset with its distributions; `{datasetId}.ttl`, `.rdf` or `.jsonld` choose the
/// serialisation, otherwise Accept does (a browser, preferring `text/html`, gets a page in
/// German or English).
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(("datasetId" = String, Path, description = "Dataset id, optionally with .ttl, .rdf or .jsonld", example = "aed.ttl")),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The dataset", content(
            (String = "application/rdf+xml"), (String = "text/turtle"), (String = "application/ld+json"),
            (String = "text/html")
        )),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody),
        (status = 410, description = "The dataset was deleted; it stays listed as deleted for the retention time", body = crate::api::error::ErrorBody)
    )
)]
#[get("/catalog/datasets/{datasetId}")]
pub async fn get_catalog_dataset(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let raw = path.into_inner();
    // Dataset ids have no dots, so a dot starts the extension.
    let (id, extension) = raw
        .split_once('.')
        .map_or((raw.as_str(), None), |(id, ext)| (id, Some(ext)));
    // A browser gets the page; harvesters name an RDF type or an extension.
    let html = extension.is_none() && prefers_html(accept(&req));
    let format = RdfFormat::negotiate(extension, accept(&req))?;
    let base = state.base_url(&req);
    // Harvesters ask for each dataset: its description is kept until the dataset changes.
    let cache = state.catalog.as_deref().filter(|_| !html);
    if let Some(cache) = cache {
        if let Some(Document::Bytes(body)) = cache.document(id, format.media_type(), &base).await {
            return rdf_body(&req, format, body);
        }
    }
    let generation = cache.map(CatalogCache::generation);
    let publishers = publishers(&state, &base).await?;
    let row = catalog_row(&state, id).await?;
    let downloads =
        crate::downloads::listing::of_rows(&state.pool, &base, std::slice::from_ref(&row)).await?;
    if html {
        let view = View::of(&req)?;
        let metadata = row.metadata.resolve(
            (&row.collection).into(),
            publishers.of(row.publisher.as_deref()),
        );
        let page = dataset_page(&req, view, id, &metadata, &row.modified, &downloads);
        return Ok(HttpResponse::Ok()
            .insert_header((header::VARY, "Accept, Accept-Language"))
            .content_type(HTML)
            .body(page));
    }
    let body =
        bytes::Bytes::from(format.write(&dcat::dataset(&base, &publishers, &row, &downloads))?);
    if let (Some(cache), Some(generation)) = (cache, generation) {
        let document = Document::Bytes(body.clone());
        cache
            .store_document(id, format.media_type(), &base, document, generation)
            .await;
    }
    rdf_body(&req, format, body)
}

/// ISO 19139 metadata record of a dataset
///
/// The dataset's ISO 19115 metadata in the ISO 19139 encoding (`gmd:MD_Metadata`), filled as
/// the INSPIRE metadata guidelines ask: what an INSPIRE download service links from its
/// collections (`rel=describedby`, `application/xml`) and what a geoportal's CSW harvests.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(("datasetId" = String, Path, description = "Dataset id", example = "parcels")),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The record", content_type = "application/xml", body = String),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody),
        (status = 410, description = "The dataset was deleted", body = crate::api::error::ErrorBody)
    )
)]
#[get("/catalog/datasets/{datasetId}/iso19139.xml")]
pub async fn get_catalog_dataset_iso(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let base = state.base_url(&req);
    let publishers = publishers(&state, &base).await?;
    let row = catalog_row(&state, &id).await?;
    let downloads =
        crate::downloads::listing::of_rows(&state.pool, &base, std::slice::from_ref(&row)).await?;
    xml_response(
        &req,
        crate::opendata::iso19139::record(&base, &publishers, &row, &downloads),
    )
}

/// ISO 19139 metadata record of the download service
///
/// The service's ISO 19119 metadata in the ISO 19139 encoding (`srv:SV_ServiceIdentification`):
/// kreisgeo's OGC API as an INSPIRE download service (service type `download`, classification
/// `infoFeatureAccessService`, its operations' endpoints), coupled to every dataset's record by
/// `srv:operatesOn`. The landing page links it as service metadata.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The record", content_type = "application/xml", body = String)
    )
)]
#[get("/catalog/service/iso19139.xml")]
pub async fn get_catalog_service_iso(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let base = state.base_url(&req);
    let publishers = publishers(&state, &base).await?;
    let (rows, _) =
        repo::catalog_rows::<DatasetMetadata>(&state.pool, None, None, None, None, i64::MAX, 0)
            .await?;
    xml_response(
        &req,
        crate::opendata::iso19139::service_record(&base, &publishers, &rows),
    )
}

/// An XML document with an ETag of its content (it changes with metadata that has no version
/// of its own).
fn xml_response(req: &HttpRequest, body: String) -> Result<HttpResponse> {
    let etag = format!(
        "W/\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..12])
    );
    let mut response = Validators::strong(etag, None).check(req)?;
    Ok(response
        .content_type("application/xml; charset=utf-8")
        .body(body))
}

/// The catalog row of dataset `id`; 410 for a deleted one, 404 for one never published.
async fn catalog_row(state: &AppState, id: &str) -> Result<repo::CatalogRow<DatasetMetadata>> {
    let (rows, _) =
        repo::catalog_rows::<DatasetMetadata>(&state.pool, None, Some(id), None, None, 1, 0)
            .await?;
    if let Some(row) = rows.into_iter().next() {
        return Ok(row);
    }
    let deleted = repo::tombstones::<DatasetMetadata>(&state.pool, None).await?;
    Err(match deleted.iter().find(|t| t.id == id) {
        Some(t) => Error::Gone(format!("dataset '{id}' was deleted at {}", t.deleted)),
        None => Error::not_found("dataset", id),
    })
}

fn accept(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

/// The serialised triples with an ETag of their bytes: the catalog changes with metadata
/// as well as with versions, so its identity is its content.
fn rdf_response(
    req: &HttpRequest,
    format: RdfFormat,
    triples: &[oxrdf::Triple],
) -> Result<HttpResponse> {
    rdf_body(req, format, bytes::Bytes::from(format.write(triples)?))
}

/// A serialised RDF document with an ETag of its content.
fn rdf_body(req: &HttpRequest, format: RdfFormat, body: bytes::Bytes) -> Result<HttpResponse> {
    // Weak: the compression middleware may change the bytes, not the content.
    let etag = format!("W/\"{}\"", hex::encode(&Sha256::digest(&body)[..12]));
    let validators = Validators::strong(etag, None);
    let mut response = validators.check(req)?;
    Ok(response
        .insert_header((header::VARY, "Accept"))
        .content_type(format!("{}; charset=utf-8", format.media_type()))
        .body(body))
}
