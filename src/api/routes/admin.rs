//! The admin API: uploads that become new dataset versions, and their jobs. Every request needs
//! an API key (`Authorization: Bearer kg_…` or `X-API-Key: kg_…`); public endpoints never write.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

use super::TAG_ADMIN;
use crate::api::state::AppState;
use crate::catalog::{self, DatasetKind};
use crate::error::{Error, Result};
use crate::ingest::formats::ReadOptions;
use crate::ingest::{IngestError, IngestRequest, DEFAULT_KEEP_VERSIONS};
use crate::jobs::{self, Job};
use crate::ogc::{media, Link};
use crate::opendata::metadata::{DatasetMetadata, Publisher};

/// The key presented with the request, checked against the catalog.
async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<i64> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let key = header("X-API-Key")
        .or_else(|| header("Authorization").and_then(|v| v.strip_prefix("Bearer ")))
        .ok_or_else(|| {
            Error::Unauthorized("an API key is required (Authorization: Bearer …)".into())
        })?;
    crate::auth::verify(&state.pool, key).await
}

/// Options of an upload.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// parcels, solar, aed or generic (default).
    #[param(value_type = Option<String>, example = "aed")]
    pub kind: Option<String>,
    /// CRS of the coordinates, overriding the file's (e.g. EPSG:25832).
    #[param(example = "EPSG:25832")]
    pub crs: Option<String>,
    /// Title of the dataset.
    pub title: Option<String>,
    /// Store the valid features and report the rejected ones instead of failing.
    pub skip_invalid: Option<bool>,
    /// The file's name; its extension helps to recognise CSV.
    #[param(example = "defibrillatoren.csv")]
    pub filename: Option<String>,
    /// GeoPackage: the feature table to read.
    pub layer: Option<String>,
}

impl UploadParams {
    fn request(&self, path: &std::path::Path, dataset: &str) -> Result<IngestRequest> {
        let kind = match self.kind.as_deref() {
            None => DatasetKind::Generic,
            Some(k) => DatasetKind::parse(k).ok_or_else(|| {
                Error::invalid(
                    "kind",
                    format!("'{k}' is not one of parcels, solar, aed, generic"),
                )
            })?,
        };
        let crs = self
            .crs
            .as_deref()
            .map(|c| {
                crate::crs::parse(c).ok_or_else(|| {
                    Error::invalid("crs", format!("'{c}' is not a CRS such as EPSG:25832"))
                })
            })
            .transpose()?;
        Ok(IngestRequest {
            kind,
            crs,
            title: self.title.clone(),
            keep_versions: DEFAULT_KEEP_VERSIONS,
            skip_invalid: self.skip_invalid.unwrap_or(false),
            read: ReadOptions {
                layer: self.layer.clone(),
                ..ReadOptions::default()
            },
            ..IngestRequest::new(path, dataset)
        })
    }
}

/// Upload a new version
///
/// The request body is the file (GeoJSON, GeoJSONSeq, FlatGeobuf, GeoPackage, zipped Shapefile,
/// CSV or Overpass JSON), streamed to disk up to the configured maximum. The answer is 202 with
/// the job to poll; the version is served once the job has succeeded, atomically.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "Dataset id (a-z, 0-9, _ and -)", example = "aed"), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 202, description = "Accepted; poll the job", body = Job),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 413, description = "Larger than the configured maximum", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[post("/admin/datasets/{datasetId}/versions")]
pub async fn post_version(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<UploadParams>,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let key_id = authenticate(&req, &state).await?;
    let dataset = path.into_inner();
    catalog::validate_dataset_id(&dataset).map_err(|m| Error::invalid("datasetId", m))?;
    let suffix = params
        .filename
        .as_deref()
        .and_then(|f| std::path::Path::new(f).extension())
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let temp = tempfile::Builder::new()
        .prefix("kreisgeo-upload-")
        .suffix(&suffix)
        .tempfile()
        .map_err(|e| Error::Internal(format!("cannot create an upload file: {e}")))?;
    let request = params.request(temp.path(), &dataset)?;
    let (file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let max = state.config.max_upload_bytes;
    let mut bytes: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid("body", format!("upload interrupted: {e}")))?;
        bytes += chunk.len() as u64;
        if bytes > max {
            return Err(Error::TooLarge { max });
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::Ingest(IngestError::io(&temp_path, e)))?;
    }
    file.flush()
        .await
        .map_err(|e| Error::Ingest(IngestError::io(&temp_path, e)))?;
    drop(file);

    let source_name = params.filename.clone().unwrap_or_else(|| "upload".into());
    let id = jobs::create(&state.pool, &dataset, key_id, &source_name, bytes).await?;
    // After a successful ingest: the new version's downloads, and its low zoom tiles.
    let after = {
        let seed = state.config.seed_max_zoom.map(|max_zoom| {
            (
                state.pool.clone(),
                state.tiles.clone(),
                dataset.clone(),
                max_zoom,
            )
        });
        let downloads = state.downloads.clone();
        Box::new(move || {
            downloads.notify_one();
            if let Some((pool, cache, dataset, max_zoom)) = seed {
                crate::tiles::seed::spawn(pool, cache, Some(dataset), max_zoom);
            }
        }) as Box<dyn FnOnce() + Send>
    };
    jobs::spawn(
        state.pool.clone(),
        id,
        IngestRequest {
            path: temp_path.to_path_buf(),
            ..request
        },
        temp_path,
        Some(after),
    );
    let href = format!("{}/admin/jobs/{id}", state.base_url(&req));
    let job = jobs::get(&state.pool, id)
        .await?
        .ok_or_else(|| Error::Internal("job vanished".into()))?;
    tracing::info!(job = id, %dataset, bytes, key = key_id, "upload accepted");
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", href.clone()))
        .json(serde_json::json!({
            "job": job,
            "links": [Link::new(href, "monitor", media::JSON, "The ingest job")],
        })))
}

/// Ingest job
///
/// State and, when done, the report (or what went wrong) of an upload.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("jobId" = i64, Path, description = "Job id", example = 1)),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such job", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[get("/admin/jobs/{jobId}")]
pub async fn get_job(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    authenticate(&req, &state).await?;
    let raw = path.into_inner();
    let not_found = || Error::not_found("job", &raw);
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    let job = jobs::get(&state.pool, id).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(job))
}

/// Parses a JSON request body; the error says where it is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            "body",
            format!("{e} (line {}, column {})", e.line(), e.column()),
        )
    })
}

/// Dataset metadata
///
/// The metadata document of a dataset as entered; fields left out take the publisher's and
/// the dataset kind's defaults in the catalog.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "Dataset id", example = "aed")),
    responses(
        (status = 200, description = "The metadata", body = DatasetMetadata),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[get("/admin/datasets/{datasetId}/metadata")]
pub async fn get_metadata(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    authenticate(&req, &state).await?;
    let id = path.into_inner();
    let metadata: DatasetMetadata = catalog::repo::metadata(&state.pool, &id)
        .await?
        .ok_or_else(|| Error::not_found("dataset", &id))?;
    Ok(HttpResponse::Ok().json(metadata))
}

/// Replace dataset metadata
///
/// Title and description (German, optionally English), keywords, EU data themes, a DCAT-AP.de
/// licence, accrual periodicity, temporal coverage and contact; validated against the
/// vocabularies, then shown in the catalog at once.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "Dataset id", example = "aed")),
    request_body(content = DatasetMetadata, content_type = "application/json"),
    responses(
        (status = 200, description = "The stored metadata", body = DatasetMetadata),
        (status = 400, description = "A malformed or unknown value, named", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[put("/admin/datasets/{datasetId}/metadata")]
pub async fn put_metadata(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let key = authenticate(&req, &state).await?;
    let id = path.into_inner();
    let metadata: DatasetMetadata = json_body(&body)?;
    metadata.validate()?;
    if !catalog::repo::set_metadata(&state.pool, &id, &metadata).await? {
        return Err(Error::not_found("dataset", &id));
    }
    tracing::info!(dataset = %id, key, "metadata replaced");
    Ok(HttpResponse::Ok().json(metadata))
}

/// Publisher
///
/// The county as publisher of every dataset, as entered (404 until it is).
#[utoipa::path(
    tag = TAG_ADMIN,
    responses(
        (status = 200, description = "The publisher", body = Publisher),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 404, description = "Not entered yet", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[get("/admin/catalog/publisher")]
pub async fn get_publisher(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    authenticate(&req, &state).await?;
    let publisher: Publisher = catalog::repo::publisher(&state.pool)
        .await?
        .ok_or_else(|| Error::not_found("publisher", "catalog"))?;
    Ok(HttpResponse::Ok().json(publisher))
}

/// Replace the publisher
///
/// Name, IRI, Kreisschlüssel (political geocoding), GovData contributor id, contact, default
/// licence and attribution: what a county says once for all its datasets.
#[utoipa::path(
    tag = TAG_ADMIN,
    request_body(content = Publisher, content_type = "application/json"),
    responses(
        (status = 200, description = "The stored publisher", body = Publisher),
        (status = 400, description = "A malformed or unknown value, named", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[put("/admin/catalog/publisher")]
pub async fn put_publisher(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let key = authenticate(&req, &state).await?;
    let publisher: Publisher = json_body(&body)?;
    publisher.validate()?;
    catalog::repo::set_publisher(&state.pool, &publisher).await?;
    tracing::info!(key, "publisher replaced");
    Ok(HttpResponse::Ok().json(publisher))
}

/// Delete a dataset
///
/// Its versions, tables and downloads go at once, in one transaction; the catalog (DCAT-AP.de
/// and CKAN) lists it as deleted for the configured retention time, so that harvesters learn
/// of it.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "Dataset id", example = "aed")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[delete("/admin/datasets/{datasetId}")]
pub async fn delete_dataset(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let key = authenticate(&req, &state).await?;
    let id = path.into_inner();
    if !catalog::repo::delete_dataset(&state.pool, &id).await? {
        return Err(Error::not_found("dataset", &id));
    }
    tracing::info!(dataset = %id, key, "dataset deleted");
    Ok(HttpResponse::NoContent().finish())
}
