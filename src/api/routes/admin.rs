//! The admin API: uploads that become new dataset versions, and their jobs. Every request needs
//! an API key (`Authorization: Bearer kg_…` or `X-API-Key: kg_…`); public endpoints never write.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

use super::TAG_ADMIN;
use crate::api::admitted::{admit, authenticate, Admitted};
use crate::api::json_body::json_body;
use crate::api::state::AppState;
use crate::audit::Outcome;
use crate::auth::Action;
use crate::catalog::{self, DatasetKind};
use crate::error::{Error, Result};
use crate::ingest::formats::ReadOptions;
use crate::ingest::{IngestError, IngestRequest, DEFAULT_KEEP_VERSIONS};
use crate::jobs::{self, Job};
use crate::ogc::{media, Link};
use crate::opendata::metadata::{DatasetMetadata, Publisher};

/// Options of an upload.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// parcels, solar, aed, buildings, roofs, addresses, osm, coverage or generic (default).
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
                    format!("'{k}' is not one of parcels, solar, aed, buildings, roofs, addresses, osm, coverage, generic"),
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
        (status = 202, description = "Accepted; poll the job", body = JobAccepted),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key may not ingest into this dataset", body = crate::api::error::ErrorBody),
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
    let dataset = path.into_inner();
    let admitted = admit(&req, &state, Action::Ingest, Some(&dataset)).await?;
    let upload = Upload {
        dataset: &dataset,
        filename: params.filename.as_deref(),
        work: &|path| Ok(jobs::Work::Ingest(params.request(path, &dataset)?)),
    };
    let accepted = accept_upload(&req, &state, &admitted, &upload, &mut body).await;
    admitted
        .finish_as(&state, Outcome::Accepted, accepted)
        .await
}

/// Options of a solar computation; the defaults are the README's.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SolarParams {
    /// The roofs dataset (kind roofs, from LoD2 tiles).
    #[param(example = "daecher")]
    pub roofs: String,
    /// Title of the solar dataset.
    pub title: Option<String>,
    /// The weather file's name (`.csv`, `.json` or `.dat`).
    #[param(example = "tmy_52.496_13.414_2005_2020.csv")]
    pub filename: Option<String>,
    /// Building ids whose owners objected, comma-separated (or, with `parcels`, the
    /// Flurstückskennzeichen of their parcels): left out of the new version.
    #[param(example = "DENW34AL00008xHN,DENW34AL0001KcEj")]
    pub opt_out: Option<String>,
    /// The parcels dataset the Flurstückskennzeichen of `opt_out` refer to.
    pub parcels: Option<String>,
    /// Modules' distance from the roof outline, metres (0 to 5; default 0.5).
    #[param(minimum = 0, maximum = 5)]
    pub setback: Option<f64>,
    /// Least module area worth a system, m² (default 10).
    #[param(minimum = 0)]
    pub min_area: Option<f64>,
    /// System losses, percent (0 to 99; default 14).
    #[param(minimum = 0, maximum = 99)]
    pub losses: Option<f64>,
    /// Ground reflectance (0 to 1; default 0.2).
    #[param(minimum = 0, maximum = 1)]
    pub albedo: Option<f64>,
    /// Spacing of the points tested for shade, metres (0.25 to 10; default 1).
    #[param(minimum = 0.25, maximum = 10)]
    pub grid: Option<f64>,
    /// How far around obstacles count, metres (0 to 2000; default 300).
    #[param(minimum = 0, maximum = 2000)]
    pub radius: Option<f64>,
}

impl SolarParams {
    fn request(
        &self,
        weather: &std::path::Path,
        dataset: &str,
    ) -> Result<crate::solar::compute::Request> {
        use crate::solar::roof::Settings;
        let within = |name: &str, v: Option<f64>, lo: f64, hi: f64, default: f64| -> Result<f64> {
            match v {
                None => Ok(default),
                Some(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
                Some(v) => Err(Error::invalid(
                    name,
                    format!("{v} is not between {lo} and {hi}"),
                )),
            }
        };
        catalog::validate_dataset_id(&self.roofs).map_err(|m| Error::invalid("roofs", m))?;
        let d = Settings::default();
        let settings = Settings {
            setback: within("setback", self.setback, 0.0, 5.0, d.setback)?,
            min_area: within("min_area", self.min_area, 0.0, 1e6, d.min_area)?,
            grid: within("grid", self.grid, 0.25, 10.0, d.grid)?,
            radius: within("radius", self.radius, 0.0, 2000.0, d.radius)?,
            model: crate::solar::model::Params {
                albedo: within("albedo", self.albedo, 0.0, 1.0, d.model.albedo)?,
                losses: within("losses", self.losses, 0.0, 99.0, d.model.losses * 100.0)? / 100.0,
                ..d.model
            },
            ..d
        };
        Ok(crate::solar::compute::Request {
            roofs: self.roofs.clone(),
            weather: weather.to_path_buf(),
            dataset: dataset.to_string(),
            title: self.title.clone(),
            opt_out: self
                .opt_out
                .iter()
                .flat_map(|list| list.split(','))
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .collect(),
            parcels: self.parcels.clone(),
            settings,
        })
    }
}

/// Compute a solar cadastre
///
/// The request body is a typical meteorological year (PVGIS TMY as CSV or JSON, or a DWD test
/// reference year `.dat`). The potential of every roof polygon of the `roofs` dataset,
/// shaded by all its buildings, becomes a new version of this (solar) dataset, computed as a
/// job: 202 with the job to poll; its report names the inputs, parameters and times.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "The solar dataset to write", example = "solar"), SolarParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The weather year"),
    responses(
        (status = 202, description = "Accepted; poll the job", body = JobAccepted),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key may not ingest into this dataset", body = crate::api::error::ErrorBody),
        (status = 413, description = "Larger than the configured maximum", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[post("/admin/datasets/{datasetId}/solar")]
pub async fn post_solar(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<SolarParams>,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let dataset = path.into_inner();
    let admitted = admit(&req, &state, Action::Ingest, Some(&dataset)).await?;
    let upload = Upload {
        dataset: &dataset,
        filename: params.filename.as_deref(),
        work: &|path| Ok(jobs::Work::Solar(params.request(path, &dataset)?)),
    };
    let accepted = accept_upload(&req, &state, &admitted, &upload, &mut body).await;
    admitted
        .finish_as(&state, Outcome::Accepted, accepted)
        .await
}

/// An upload and what its job does with it once it is on disk.
struct Upload<'a> {
    dataset: &'a str,
    /// The file's name as the client gives it; its extension helps recognise the format.
    filename: Option<&'a str>,
    work: &'a dyn Fn(&std::path::Path) -> Result<jobs::Work>,
}

/// Streams the upload to a temporary file and starts its job.
async fn accept_upload(
    req: &HttpRequest,
    state: &AppState,
    admitted: &Admitted,
    upload: &Upload<'_>,
    body: &mut web::Payload,
) -> Result<HttpResponse> {
    let dataset = upload.dataset;
    catalog::validate_dataset_id(dataset).map_err(|m| Error::invalid("datasetId", m))?;
    let max = state.config.max_upload_bytes;
    // Refused on its word, before a byte of the body is read.
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(Error::TooLarge { max });
    }
    let mut ticket = state.ingest_queue.enter()?;
    if let Some(n) = declared {
        ticket.grow(n)?;
    }
    let suffix = upload
        .filename
        .and_then(|f| std::path::Path::new(f).extension())
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let temp = tempfile::Builder::new()
        .prefix("kreisgeo-upload-")
        .suffix(&suffix)
        .tempfile()
        .map_err(|e| Error::Internal(format!("cannot create an upload file: {e}")))?;
    let work = (upload.work)(temp.path())?;
    let (file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut bytes: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid("body", format!("upload interrupted: {e}")))?;
        bytes += chunk.len() as u64;
        if bytes > max {
            return Err(Error::TooLarge { max });
        }
        if bytes > declared.unwrap_or(0) {
            ticket.grow(chunk.len() as u64)?;
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::Ingest(IngestError::io(&temp_path, e)))?;
    }
    file.flush()
        .await
        .map_err(|e| Error::Ingest(IngestError::io(&temp_path, e)))?;
    drop(file);

    let key_id = admitted.key.id;
    let source_name = upload.filename.unwrap_or("upload").to_string();
    let id = jobs::create(&state.write_pool, dataset, key_id, &source_name, bytes).await?;
    // After a successful ingest: the new version's downloads, and its low zoom tiles.
    let after = {
        let seed = state.config.seed_max_zoom.map(|max_zoom| {
            (
                state.write_pool.clone(),
                state.tiles.clone(),
                dataset.to_string(),
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
        jobs::Run {
            pool: state.write_pool.clone(),
            id,
            key_id,
            request_id: admitted.request_id.clone(),
            slots: state.ingest_slots.clone(),
            time_limit: state.config.ingest_time_limit,
            ticket,
            publisher: admitted.key.scope.publisher.clone(),
        },
        work,
        temp_path,
        Some(after),
    );
    let href = format!("{}/admin/jobs/{id}", state.base_url(req));
    let job = jobs::get(&state.write_pool, id)
        .await?
        .ok_or_else(|| Error::Internal("job vanished".into()))?;
    tracing::info!(job = id, %dataset, bytes, key = key_id, "upload accepted");
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", href.clone()))
        .json(JobAccepted {
            job,
            links: vec![Link::new(href, "monitor", media::JSON, "The ingest job")],
        }))
}

/// An accepted upload: its job, and the link to poll it at.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JobAccepted {
    pub job: Job,
    /// `monitor`: the job's own URL (also in `Location`).
    pub links: Vec<Link>,
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
    // Only a key that may ingest into the job's dataset learns of the job, or whether it exists.
    let key = authenticate(&req, &state).await?;
    let raw = path.into_inner();
    let not_found = || Error::not_found("job", &raw);
    let id: i64 = raw.parse().map_err(|_| not_found())?;
    let job = jobs::get(&state.write_pool, id)
        .await?
        .ok_or_else(not_found)?;
    key.scope
        .allows(Action::Ingest, Some(&job.dataset_id))
        .map_err(|_| not_found())?;
    // A key bound to a publisher learns only of jobs on that publisher's datasets.
    crate::api::admitted::publisher_allows(&state, &key, Some(&job.dataset_id))
        .await
        .map_err(|e| match e {
            Error::Forbidden(_) => not_found(),
            other => other,
        })?;
    Ok(HttpResponse::Ok().json(job))
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
        (status = 403, description = "The key's scope does not cover the dataset or action", body = crate::api::error::ErrorBody),
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
    let id = path.into_inner();
    let admitted = admit(&req, &state, Action::Metadata, Some(&id)).await?;
    let metadata = catalog::repo::metadata(&state.write_pool, &id)
        .await
        .and_then(|m: Option<DatasetMetadata>| m.ok_or_else(|| Error::not_found("dataset", &id)));
    let metadata = admitted.finish(&state, metadata).await?;
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
        (status = 403, description = "The key's scope does not cover the dataset or action", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody),
        (status = 415, description = "The body is not JSON", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[put("/admin/datasets/{datasetId}/metadata")]
pub async fn put_metadata(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let admitted = admit(&req, &state, Action::Metadata, Some(&id)).await?;
    let key = admitted.key.id;
    let stored = async {
        let metadata: DatasetMetadata = json_body(&req, &mut body).await?;
        metadata.validate()?;
        if !catalog::repo::set_metadata(&state.write_pool, &id, &metadata).await? {
            return Err(Error::not_found("dataset", &id));
        }
        Ok(metadata)
    }
    .await;
    let metadata = admitted.finish(&state, stored).await?;
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
        (status = 403, description = "The key is not scoped to every dataset, or may not change metadata", body = crate::api::error::ErrorBody),
        (status = 404, description = "Not entered yet", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[get("/admin/catalog/publisher")]
pub async fn get_publisher(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let admitted = admit(&req, &state, Action::Metadata, None).await?;
    let publisher = catalog::repo::publisher(&state.write_pool)
        .await
        .and_then(|p: Option<Publisher>| p.ok_or_else(|| Error::not_found("publisher", "catalog")));
    let publisher = admitted.finish(&state, publisher).await?;
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
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key is not scoped to every dataset, or may not change metadata", body = crate::api::error::ErrorBody),
        (status = 415, description = "The body is not JSON", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[put("/admin/catalog/publisher")]
pub async fn put_publisher(
    req: HttpRequest,
    state: web::Data<AppState>,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let admitted = admit(&req, &state, Action::Metadata, None).await?;
    let key = admitted.key.id;
    let stored = async {
        let publisher: Publisher = json_body(&req, &mut body).await?;
        publisher.validate()?;
        catalog::repo::set_publisher(&state.write_pool, &publisher).await?;
        Ok(publisher)
    }
    .await;
    let publisher = admitted.finish(&state, stored).await?;
    state.forget_land().await;
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
        (status = 403, description = "The key's scope does not cover the dataset or action", body = crate::api::error::ErrorBody),
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
    let id = path.into_inner();
    let admitted = admit(&req, &state, Action::Delete, Some(&id)).await?;
    let key = admitted.key.id;
    let deleted = match catalog::repo::delete_dataset(&state.write_pool, &id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::not_found("dataset", &id)),
        Err(e) => Err(e),
    };
    admitted.finish(&state, deleted).await?;
    tracing::info!(dataset = %id, key, "dataset deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Where a rollback goes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RollbackParams {
    /// The kept version to serve; without it, the newest one older than the active version.
    #[param(example = 3)]
    pub to: Option<i64>,
}

/// The versions before and after a rollback.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RolledBack {
    #[schema(example = "aed")]
    pub dataset: String,
    /// The version served before.
    #[schema(example = 4)]
    pub from: i64,
    /// The version served now.
    #[schema(example = 3)]
    pub to: i64,
}

/// Roll back a dataset
///
/// Serves an older kept version again, atomically: the previous one, or `to`. Tiles, pages and
/// downloads follow at once (they are keyed by version).
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "Dataset id", example = "aed"), RollbackParams),
    responses(
        (status = 200, description = "Rolled back", body = RolledBack),
        (status = 400, description = "No such kept version", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key may not roll back this dataset", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[post("/admin/datasets/{datasetId}/rollback")]
pub async fn rollback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<RollbackParams>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let admitted = admit(&req, &state, Action::Rollback, Some(&id)).await?;
    let key = admitted.key.id;
    let done = catalog::repo::rollback(&state.write_pool, &id, params.to).await;
    let (from, to) = admitted.finish(&state, done).await?;
    tracing::info!(dataset = %id, key, from, to, "rolled back");
    state.downloads.notify_one();
    Ok(HttpResponse::Ok().json(RolledBack {
        dataset: id,
        from,
        to,
    }))
}
