//! The admin API of further publishers (the municipalities a county runs the portal for) and
//! of which publisher a dataset belongs to. Catalog-wide: keys scoped to every dataset and not
//! bound to a publisher.

use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::TAG_ADMIN;
use crate::api::admitted::admit;
use crate::api::json_body::json_body;
use crate::api::state::AppState;
use crate::auth::Action;
use crate::catalog::repo;
use crate::error::{Error, Result};
use crate::opendata::metadata::Publisher;
use crate::opendata::publishers::Publishers;

/// A further publisher with its id.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublisherEntry {
    /// Its id, also its CKAN organization name.
    #[schema(example = "lauf-an-der-pegnitz")]
    pub id: String,
    pub profile: Publisher,
}

/// The publisher a dataset belongs to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetPublisher {
    /// A further publisher's id; `null`: the portal's own.
    #[schema(example = "lauf-an-der-pegnitz")]
    pub publisher: Option<String>,
}

/// List the further publishers
///
/// The publishers besides the portal's own (`/admin/catalog/publisher`), by id.
#[utoipa::path(
    tag = TAG_ADMIN,
    responses(
        (status = 200, description = "The publishers", body = Vec<PublisherEntry>),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key is not scoped to every dataset, or may not change metadata", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[get("/admin/publishers")]
pub async fn get_publishers(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let admitted = admit(&req, &state, Action::Metadata, None).await?;
    let listed = repo::publishers::<Publisher>(&state.write_pool)
        .await
        .map(|all| {
            all.into_iter()
                .map(|(id, profile)| PublisherEntry { id, profile })
                .collect::<Vec<_>>()
        });
    let listed = admitted.finish(&state, listed).await?;
    Ok(HttpResponse::Ok().json(listed))
}

/// Enter or replace a publisher
///
/// A municipality (or any other body) that publishes on this portal: its IRI, name, contact,
/// default licence and attribution, and its Gemeindeschlüssel for the political geocoding. The
/// id is its CKAN organization name.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("publisherId" = String, Path, description = "2 to 100 of a-z, 0-9, - and _", example = "lauf-an-der-pegnitz")),
    request_body(content = Publisher, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = Publisher),
        (status = 201, description = "Entered", body = Publisher),
        (status = 400, description = "A malformed id or value, named", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key is not scoped to every dataset, or may not change metadata", body = crate::api::error::ErrorBody),
        (status = 415, description = "The body is not JSON", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[put("/admin/publishers/{publisherId}")]
pub async fn put_publisher(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let admitted = admit(&req, &state, Action::Metadata, None).await?;
    let stored = async {
        let base = state.base_url(&req);
        Publishers::load(&state.write_pool, &base)
            .await?
            .check_id(&id)?;
        let publisher: Publisher = json_body(&req, &mut body).await?;
        publisher.validate()?;
        let new = repo::put_publisher(&state.write_pool, &id, &publisher).await?;
        Ok((new, publisher))
    }
    .await;
    let (new, publisher) = admitted.finish(&state, stored).await?;
    tracing::info!(publisher = %id, new, "publisher entered");
    Ok(if new {
        HttpResponse::Created().json(publisher)
    } else {
        HttpResponse::Ok().json(publisher)
    })
}

/// Remove a publisher
///
/// Only once no dataset and no API key is its (409 otherwise).
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("publisherId" = String, Path, description = "The publisher's id", example = "lauf-an-der-pegnitz")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key is not scoped to every dataset, or may not change metadata", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such publisher", body = crate::api::error::ErrorBody),
        (status = 409, description = "Datasets or keys are still the publisher's", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[delete("/admin/publishers/{publisherId}")]
pub async fn delete_publisher(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let admitted = admit(&req, &state, Action::Metadata, None).await?;
    let removed = async {
        if repo::delete_publisher(&state.write_pool, &id).await? {
            Ok(())
        } else {
            Err(Error::not_found("publisher", id.clone()))
        }
    }
    .await;
    admitted.finish(&state, removed).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give a dataset to a publisher
///
/// Its DCAT publisher, CKAN organization, default contact and licence and political geocoding
/// become the publisher's; harvesters see it as modified.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "Dataset id", example = "aed")),
    request_body(content = DatasetPublisher, content_type = "application/json"),
    responses(
        (status = 200, description = "The dataset's publisher", body = DatasetPublisher),
        (status = 400, description = "No such publisher", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key is not scoped to every dataset, or may not change metadata", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such dataset", body = crate::api::error::ErrorBody),
        (status = 415, description = "The body is not JSON", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[put("/admin/datasets/{datasetId}/publisher")]
pub async fn put_dataset_publisher(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let dataset = path.into_inner();
    // Moving a dataset between publishers is the county's: a catalog-wide key.
    let admitted = admit(&req, &state, Action::Metadata, None).await?;
    let set = async {
        let wanted: DatasetPublisher = json_body(&req, &mut body).await?;
        if repo::set_dataset_publisher(&state.write_pool, &dataset, wanted.publisher.as_deref())
            .await?
        {
            Ok(wanted)
        } else {
            Err(Error::not_found("dataset", dataset.clone()))
        }
    }
    .await;
    let wanted = admitted.finish(&state, set).await?;
    Ok(HttpResponse::Ok().json(wanted))
}
