//! The admin API of sources: datasets fed from other servers (`kreisgeo sources` over HTTP).
//! A key needs the ingest action on the dataset a source feeds.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::TAG_ADMIN;
use crate::api::admitted::admit;
use crate::api::state::AppState;
use crate::auth::Action;
use crate::error::{Error, Result};
use crate::harvest::{self, fetch, net, store, SourceKind};

/// A source to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSourceBody {
    /// An OGC API Features collection, a WFS GetFeature request, an Overpass API interpreter
    /// or a file.
    #[schema(example = "https://geoportal.nachbarkreis.de/collections/aed")]
    pub url: String,
    /// `ogcapi`, `wfs`, `overpass`, `ckan`, `dcat` or `file`; guessed from the URL when left out.
    #[schema(example = "ogcapi")]
    pub kind: Option<String>,
    /// The dataset kind the features are loaded as [generic].
    #[serde(rename = "as")]
    #[schema(rename = "as", example = "aed")]
    pub dataset_kind: Option<String>,
    /// EPSG code of a file that does not say its CRS.
    #[schema(example = 25832)]
    pub crs: Option<i32>,
    /// Seconds between runs [3600].
    #[schema(example = 3600)]
    pub interval_s: Option<i32>,
    /// Features per page of an OGC API collection or a WFS [1000].
    #[schema(example = 1000)]
    pub page_size: Option<i32>,
    /// `[canonical attribute, source column]` pairs, as `ingest --map`.
    #[schema(value_type = Option<Vec<Vec<String>>>, example = json!([["operator", "betreiber"]]))]
    pub map: Option<Vec<(String, String)>>,
    /// The Overpass QL of an overpass source.
    pub query: Option<String>,
    /// Where the source's credentials are read at each run: `env:NAME` or `file:/path`
    /// holding `user:password` (Basic) or a token (Bearer).
    #[schema(example = "env:NACHBARKREIS_TOKEN")]
    pub credentials: Option<String>,
    /// Of several sources of one dataset, whose attributes win where they list the same
    /// feature: lower first, then the source added first. Default 100.
    #[schema(minimum = 0, maximum = 1000, example = 100)]
    pub priority: Option<i32>,
}

/// The dataset whose sources are listed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SourcesParams {
    /// Only this dataset's sources (a key scoped to some datasets must name one).
    pub dataset: Option<String>,
}

/// Sources
///
/// The sources feeding datasets and how their last run ended.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(SourcesParams),
    responses(
        (status = 200, description = "The sources", body = Vec<store::SourceRow>),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key's scope does not cover it", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[get("/admin/sources")]
pub async fn get_sources(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<SourcesParams>,
) -> Result<HttpResponse> {
    let dataset = params.into_inner().dataset;
    let admitted = admit(&req, &state, Action::Ingest, dataset.as_deref()).await?;
    let listed = store::list(&state.write_pool, dataset.as_deref()).await;
    let listed = admitted.finish(&state, listed).await?;
    Ok(HttpResponse::Ok().json(listed))
}

/// Add a source
///
/// Feeds the dataset from another server: `serve` runs the source every `interval_s`, a run
/// now is `POST /admin/sources/{sourceId}/run`. Only http(s) URLs outside the server's own
/// networks, unless `--harvest-allow-hosts` names the host.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("datasetId" = String, Path, description = "The dataset the source feeds", example = "aed-nachbarkreis")),
    request_body = NewSourceBody,
    responses(
        (status = 201, description = "The source", body = store::SourceRow),
        (status = 400, description = "A bad URL, kind or setting", body = crate::api::error::ErrorBody),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key may not ingest into this dataset", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[post("/admin/datasets/{datasetId}/sources")]
pub async fn post_source(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<NewSourceBody>,
) -> Result<HttpResponse> {
    let dataset = path.into_inner();
    let admitted = admit(&req, &state, Action::Ingest, Some(&dataset)).await?;
    let b = body.into_inner();
    let added = async {
        // The harvest creates a new dataset without a key: it would be the portal's, not the
        // bound key's publisher's.
        if admitted.key.scope.publisher.is_some()
            && crate::catalog::repo::dataset_publisher(&state.write_pool, &dataset)
                .await?
                .is_none()
        {
            return Err(crate::error::Error::Forbidden(format!(
                "a key bound to a publisher adds sources to its existing datasets; upload a \
                 first version of '{dataset}' (or ask the county to add the source)"
            )));
        }
        add(&state, &dataset, &b).await
    }
    .await;
    let source = admitted.finish(&state, added).await?;
    Ok(HttpResponse::Created().json(source))
}

async fn add(state: &AppState, dataset: &str, b: &NewSourceBody) -> Result<store::SourceRow> {
    let kind = match &b.kind {
        Some(k) => k.clone(),
        None => SourceKind::guess(
            &reqwest::Url::parse(&b.url)
                .map_err(|e| Error::invalid("url", format!("'{}': {e}", b.url)))?,
        )
        .as_str()
        .to_string(),
    };
    let mapping = b.map.clone().unwrap_or_default();
    let id = harvest::add(
        &state.write_pool,
        &policy(state),
        &store::NewSource {
            dataset_id: dataset,
            kind: &kind,
            url: &b.url,
            dataset_kind: b.dataset_kind.as_deref().unwrap_or("generic"),
            crs: b.crs,
            interval_s: b.interval_s.unwrap_or(3600),
            mapping: &mapping,
            page_size: b.page_size.unwrap_or(1000),
            query: b.query.as_deref(),
            credentials: b.credentials.as_deref(),
            priority: b.priority.unwrap_or(100),
        },
    )
    .await?;
    store::find(&state.write_pool, id)
        .await?
        .ok_or_else(|| Error::Internal(format!("source {id} vanished")))
}

fn policy(state: &AppState) -> net::Policy {
    net::Policy::allowing(state.config.harvest_allow_hosts.iter().cloned())
}

/// The source `id` and the admission of a request on its dataset.
async fn source_for(
    req: &HttpRequest,
    state: &AppState,
    id: i64,
) -> Result<(store::SourceRow, crate::api::admitted::Admitted)> {
    // Admission first, so that a key without scope learns nothing about which sources exist.
    let found = store::find(&state.write_pool, id).await?;
    let dataset = found.as_ref().map(|s| s.dataset_id.clone());
    let admitted = admit(req, state, Action::Ingest, dataset.as_deref()).await?;
    let Some(source) = found else {
        let missing = Error::not_found("source", id.to_string());
        return match admitted.finish(state, Err::<(), _>(missing)).await {
            Err(e) => Err(e),
            Ok(()) => Err(Error::Internal("a failure audited as success".into())),
        };
    };
    Ok((source, admitted))
}

/// Remove a source
///
/// The dataset stops being fed from it and keeps its versions.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("sourceId" = i64, Path, description = "The source", example = 3)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key may not ingest into its dataset", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such source", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[delete("/admin/sources/{sourceId}")]
pub async fn delete_source(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse> {
    let (source, admitted) = source_for(&req, &state, path.into_inner()).await?;
    let removed = harvest::remove(&state.write_pool, source.id)
        .await
        .map(|_| ());
    admitted.finish(&state, removed).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Run a source now
///
/// Fetches the source and loads what is new, as the schedule does; answers how it ended. A
/// failed run is a 200 with `status: failed` and the reason: the dataset keeps its version.
#[utoipa::path(
    tag = TAG_ADMIN,
    params(("sourceId" = i64, Path, description = "The source", example = 3)),
    responses(
        (status = 200, description = "How the run ended", body = harvest::RunReport),
        (status = 401, description = "No or no valid API key", body = crate::api::error::ErrorBody),
        (status = 403, description = "The key may not ingest into its dataset", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such source", body = crate::api::error::ErrorBody),
        (status = 409, description = "It is being run now, by this or another node", body = crate::api::error::ErrorBody)
    ),
    security(("api_key" = []))
)]
#[post("/admin/sources/{sourceId}/run")]
pub async fn post_source_run(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse> {
    let (source, admitted) = source_for(&req, &state, path.into_inner()).await?;
    let ran = async {
        let client = fetch::Client::new(fetch::Settings {
            policy: policy(&state),
            ..fetch::Settings::default()
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        harvest::run(&state.write_pool, &client, &source)
            .await?
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "source {} is being run now (by this or another node); retry when it is \
                     done",
                    source.id
                ))
            })
    }
    .await;
    let report = admitted.finish(&state, ran).await?;
    Ok(HttpResponse::Ok().json(report))
}
