//! `GET|POST /api/3/action/{action}`: the CKAN Action API subset harvesters use —
//! package_list, package_show, package_search, organization_list, organization_show,
//! status_show — in CKAN 2.10's
//! JSON shapes. Parameters come from the query string (GET) or a JSON or form body (POST), as
//! CKAN accepts them.

use std::collections::HashMap;

use crate::catalog::cache::{CatalogCache, Document};
use crate::catalog::packages::{self, Found};
use crate::opendata::ckan_search::{package_query, results, SearchQuery};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

use super::TAG_OPEN_DATA;
use crate::api::error::CkanError;
use crate::api::state::AppState;
use crate::catalog::repo;
use crate::error::Error;
use crate::opendata::ckan;
use crate::opendata::metadata::{DatasetMetadata, Publisher};
use crate::opendata::publishers::Publishers;

/// Most packages one package_search answers, as in CKAN's default `ckan.search.rows_max`.
pub const ROWS_MAX: i64 = 1000;

type Params = Map<String, Json>;

/// CKAN Action API (GET)
///
/// `package_list` (limit, offset), `package_show` (id: name or UUID; a deleted dataset shows
/// with `state` "deleted" for the retention time), `package_search` (q, fq with
/// `organization:`, `tags:`, `name:`, `res_format:` and `metadata_modified:[FROM TO TO]`, rows
/// up to 1000, start, sort, include_deleted), `organization_list` (all_fields),
/// `organization_show` (id, include_datasets), `status_show` — in CKAN 2.10's envelope `{"help", "success", "result"}`.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(("action" = String, Path, description = "package_list, package_show, package_search, organization_list, organization_show or status_show", example = "package_search")),
    responses(
        (status = 200, description = "`{\"help\", \"success\": true, \"result\"}`"),
        (status = 400, description = "Unknown action"),
        (status = 404, description = "No such package"),
        (status = 409, description = "A malformed parameter (CKAN's Validation Error)")
    )
)]
#[get("/api/3/action/{action}")]
pub async fn get_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, CkanError> {
    let action = path.into_inner();
    let help = help(&state, &req, &action);
    let params: Params = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .map_err(|e| CkanError {
            help: help.clone(),
            error: Error::invalid("query", e.to_string()),
        })?
        .into_iter()
        .map(|(k, v)| (k, Json::String(v)))
        .collect();
    answer(&state, &req, &action, help, params).await
}

/// CKAN Action API (POST)
///
/// The same actions with their parameters as a JSON object (as ckanapi sends them) or a form.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(("action" = String, Path, description = "package_list, package_show, package_search, organization_list, organization_show or status_show", example = "package_search")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"help\", \"success\": true, \"result\"}`"),
        (status = 400, description = "Unknown action"),
        (status = 404, description = "No such package"),
        (status = 409, description = "A malformed parameter (CKAN's Validation Error)")
    )
)]
#[post("/api/3/action/{action}")]
pub async fn post_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, CkanError> {
    let action = path.into_inner();
    let help = help(&state, &req, &action);
    let bad = |e: String| CkanError {
        help: help.clone(),
        error: Error::invalid("body", e),
    };
    let params: Params = if body.iter().all(u8::is_ascii_whitespace) {
        Params::new()
    } else if body.first() == Some(&b'{') {
        serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map_err(|e| bad(e.to_string()))?
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect()
    };
    answer(&state, &req, &action, help, params).await
}

fn help(state: &AppState, req: &HttpRequest, action: &str) -> String {
    format!(
        "{}/api/3/action/help_show?name={action}",
        state.base_url(req)
    )
}

async fn answer(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    help: String,
    params: Params,
) -> Result<HttpResponse, CkanError> {
    // package_show by name, as harvesters ask for each package: from memory, without a query
    // and without copying the package.
    if action == "package_show" {
        if let Some(package) = cached_package(state, req, &params).await {
            return Ok(HttpResponse::Ok().json(Envelope {
                help: &help,
                success: true,
                result: &package,
            }));
        }
    }
    match result(state, req, action, &params).await {
        Ok(result) => Ok(HttpResponse::Ok().json(json!({
            "help": help,
            "success": true,
            "result": result,
        }))),
        Err(error) => Err(CkanError { help, error }),
    }
}

/// CKAN's answer.
#[derive(serde::Serialize)]
struct Envelope<'a> {
    help: &'a str,
    success: bool,
    result: &'a Json,
}

/// The cached package `id` names, if it is cached.
async fn cached_package(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Option<std::sync::Arc<Json>> {
    let id = text(params, "id").or_else(|| text(params, "name_or_id"))?;
    let cache = state.catalog.as_deref()?;
    match cache.document(id, PACKAGE, &state.base_url(req)).await? {
        Document::Json(p) => Some(p),
        Document::Bytes(_) | Document::Shared(_) => None,
    }
}

/// The package dicts of `found`, in its order: from the catalog cache, else made from only those
/// datasets' rows and files.
async fn packages(state: &AppState, base: &str, found: &[Found]) -> crate::Result<Vec<Json>> {
    let cache = state.catalog.as_deref();
    let generation = cache.map(CatalogCache::generation);
    let mut by_id: HashMap<String, Json> = HashMap::new();
    if let Some(cache) = cache {
        for f in found {
            if let Some(Document::Json(p)) = cache.document(&f.id, PACKAGE, base).await {
                by_id.insert(f.id.clone(), (*p).clone());
            }
        }
    }
    let missing: Vec<&Found> = found
        .iter()
        .filter(|f| !by_id.contains_key(&f.id))
        .collect();
    if !missing.is_empty() {
        let publishers = state.publishers(base).await?;
        let (deleted, live): (Vec<&Found>, Vec<&Found>) = missing.iter().partition(|f| f.deleted);
        let live: Vec<String> = live.into_iter().map(|f| f.id.clone()).collect();
        let deleted: Vec<String> = deleted.into_iter().map(|f| f.id.clone()).collect();
        let rows = repo::catalog_rows_of::<DatasetMetadata>(&state.pool, &live).await?;
        let downloads = crate::downloads::listing::of_rows(&state.pool, base, &rows).await?;
        let mut made: Vec<(String, Json)> = rows
            .iter()
            .map(|row| {
                (
                    row.collection.id.clone(),
                    ckan::package(base, &publishers, row, &downloads),
                )
            })
            .collect();
        if !deleted.is_empty() {
            for t in repo::tombstones_of::<DatasetMetadata>(&state.pool, &deleted).await? {
                made.push((t.id.clone(), ckan::deleted_package(base, &publishers, &t)));
            }
        }
        for (id, package) in made {
            if let (Some(cache), Some(generation)) = (cache, generation) {
                let document = Document::Json(std::sync::Arc::new(package.clone()));
                cache
                    .store_document(&id, PACKAGE, base, document, generation)
                    .await;
            }
            by_id.insert(id, package);
        }
    }
    Ok(found.iter().filter_map(|f| by_id.remove(&f.id)).collect())
}

/// The cache kind of a CKAN package dict.
const PACKAGE: &str = "ckan-package";

/// Brings the search index up to date before it is searched.
async fn indexed(state: &AppState, base: &str) {
    // A node that cannot write (a read-only database) searches the index as it is.
    if let Err(e) = crate::opendata::ckan_index::refresh(&state.pool, base).await {
        tracing::warn!(error = %e, "the catalog's search index could not be brought up to date");
    }
}

fn text<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Json::as_str)
}

/// A non-negative integer parameter (a JSON number or its text).
fn count(params: &Params, name: &str, default: i64) -> crate::Result<i64> {
    let Some(v) = params.get(name) else {
        return Ok(default);
    };
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|n| *n >= 0)
        .ok_or_else(|| Error::invalid(name, "Invalid integer"))
}

fn flag(params: &Params, name: &str) -> bool {
    match params.get(name) {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        _ => false,
    }
}

async fn result(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    params: &Params,
) -> crate::Result<Json> {
    let base = state.base_url(req);
    match action {
        "package_list" => {
            let offset = count(params, "offset", 0)?;
            let limit = match params.get("limit") {
                Some(_) => count(params, "limit", 0)?,
                None => i64::MAX,
            };
            let names = packages::names(&state.pool, limit, offset).await?;
            Ok(Json::Array(names.into_iter().map(Json::String).collect()))
        }
        "package_show" => {
            let id = text(params, "id")
                .or_else(|| text(params, "name_or_id"))
                .ok_or_else(|| Error::invalid("id", "Missing value"))?;
            // A live dataset by name, as harvesters ask: its rows alone.
            let by_name = Found {
                id: id.to_string(),
                deleted: false,
            };
            if let Some(package) = packages(state, &base, std::slice::from_ref(&by_name))
                .await?
                .pop()
            {
                return Ok(package);
            }
            // A deleted one, or a CKAN id (of a dataset the index may not have seen yet).
            let found = if let Some(found) = packages::find(&state.pool, id).await? {
                found
            } else {
                indexed(state, &base).await;
                packages::find(&state.pool, id)
                    .await?
                    .ok_or_else(|| Error::not_found("package", id))?
            };
            packages(state, &base, std::slice::from_ref(&found))
                .await?
                .pop()
                .ok_or_else(|| Error::not_found("package", id))
        }
        "package_search" => {
            indexed(state, &base).await;
            let publishers = state.publishers(&base).await?;
            let sort = text(params, "sort");
            let query = package_query(
                &SearchQuery {
                    q: text(params, "q").unwrap_or(""),
                    fq: text(params, "fq").unwrap_or(""),
                    sort,
                    rows: count(params, "rows", 10)?.min(ROWS_MAX) as usize,
                    start: count(params, "start", 0)? as usize,
                    // As in CKAN: deleted packages only when asked for, so that incremental
                    // harvesters (fq on metadata_modified) learn of deletions.
                    include_deleted: flag(params, "include_deleted"),
                },
                &publishers,
            )?;
            let (found, total) = packages::search(&state.pool, &query).await?;
            let page = packages(state, &base, &found).await?;
            Ok(results(total, page, sort))
        }
        "organization_list" => {
            let publishers = state.publishers(&base).await?;
            let counts = packages::publisher_counts(&state.pool).await?;
            let mut orgs: Vec<Json> = publishers
                .all()
                .map(|(id, p)| full_organization(&publishers, id, p, &counts))
                .collect();
            // As CKAN: by name.
            orgs.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            Ok(if flag(params, "all_fields") {
                Json::Array(orgs)
            } else {
                Json::Array(orgs.iter().map(|o| o["name"].clone()).collect())
            })
        }
        // The stock CKAN harvester asks for the source's organization by name or id.
        "organization_show" => {
            let id = text(params, "id")
                .ok_or_else(|| Error::invalid("id", "Missing value"))?
                .to_string();
            let publishers = state.publishers(&base).await?;
            let counts = packages::publisher_counts(&state.pool).await?;
            let (owner, mut org) = publishers
                .all()
                .map(|(owner, p)| (owner, full_organization(&publishers, owner, p, &counts)))
                .find(|(_, org)| org["name"] == id.as_str() || org["id"] == id.as_str())
                .ok_or_else(|| Error::not_found("organization", id.clone()))?;
            if flag(params, "include_datasets") {
                // As CKAN: at most 1,000, the rest by package_search.
                let (rows, _) = repo::catalog_rows::<DatasetMetadata>(
                    &state.pool,
                    None,
                    None,
                    None,
                    Some(owner.unwrap_or("")),
                    1000,
                    0,
                )
                .await?;
                let downloads =
                    crate::downloads::listing::of_rows(&state.pool, &base, &rows).await?;
                let listed: Vec<Json> = rows
                    .iter()
                    .map(|row| ckan::package(&base, &publishers, row, &downloads))
                    .collect();
                if let Some(o) = org.as_object_mut() {
                    o.insert("packages".into(), Json::Array(listed));
                }
            }
            Ok(org)
        }
        "status_show" => {
            let publisher = repo::publisher::<Publisher>(&state.pool)
                .await?
                .unwrap_or_else(|| Publisher::unconfigured(&base));
            Ok(json!({
                "site_title": publisher.catalog_title().de,
                "site_description": publisher.catalog_description().de,
                "site_url": base,
                "ckan_version": ckan::CKAN_VERSION,
                "error_emails_to": null,
                "locale_default": "de",
                "extensions": ["kreisgeo", "dcat"],
            }))
        }
        other => Err(Error::invalid(
            "action",
            format!(
                "Action name not known: {other}; kreisgeo answers package_list, package_show, \
                 package_search, organization_list, organization_show and status_show"
            ),
        )),
    }
}

/// A publisher as CKAN organization, with the fields `all_fields` and `organization_show` add;
/// `counts` are the live packages per publisher (`""`: the portal's own) and their first
/// creation.
fn full_organization(
    publishers: &Publishers,
    id: Option<&str>,
    publisher: &Publisher,
    counts: &[(String, i64, String)],
) -> Json {
    let name = publishers.organization_name(id);
    let own = counts.iter().find(|(p, _, _)| p == id.unwrap_or(""));
    let created = own.map_or_else(crate::time::now_rfc3339, |(_, _, created)| created.clone());
    let mut org = ckan::organization(&name, publisher, &created);
    if let Some(o) = org.as_object_mut() {
        o.insert("package_count".into(), json!(own.map_or(0, |(_, n, _)| *n)));
        o.insert("display_name".into(), json!(publisher.name));
    }
    org
}
