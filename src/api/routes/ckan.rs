//! `GET|POST /api/3/action/{action}`: the CKAN Action API subset harvesters use —
//! package_list, package_show, package_search, organization_list, organization_show,
//! status_show — in CKAN 2.10's
//! JSON shapes. Parameters come from the query string (GET) or a JSON or form body (POST), as
//! CKAN accepts them.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

use super::downloads::of_rows;
use super::TAG_OPEN_DATA;
use crate::api::error::CkanError;
use crate::api::state::AppState;
use crate::catalog::repo;
use crate::error::Error;
use crate::opendata::ckan;
use crate::opendata::metadata::{DatasetMetadata, Publisher};

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
    match result(state, req, action, &params).await {
        Ok(result) => Ok(HttpResponse::Ok().json(json!({
            "help": help,
            "success": true,
            "result": result,
        }))),
        Err(error) => Err(CkanError { help, error }),
    }
}

/// Every package, in name order, then the deleted ones still listed.
async fn packages(
    state: &AppState,
    base: &str,
) -> crate::Result<(Publisher, Vec<Json>, Vec<Json>)> {
    let publisher = repo::publisher(&state.pool)
        .await?
        .unwrap_or_else(|| Publisher::unconfigured(base));
    let (rows, _) =
        repo::catalog_rows::<DatasetMetadata>(&state.pool, None, None, i64::MAX, 0).await?;
    // Each package takes its own version's files from the list.
    let downloads = of_rows(state, base, &rows).await?;
    let packages = rows
        .iter()
        .map(|row| ckan::package(base, &publisher, row, &downloads))
        .collect();
    let deleted = repo::tombstones::<DatasetMetadata>(&state.pool, None)
        .await?
        .iter()
        .map(|t| ckan::deleted_package(base, &publisher, t))
        .collect();
    Ok((publisher, packages, deleted))
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
            let (_, packages, _) = packages(state, &base).await?;
            let offset = count(params, "offset", 0)? as usize;
            let limit = match params.get("limit") {
                Some(_) => count(params, "limit", 0)? as usize,
                None => usize::MAX,
            };
            Ok(Json::Array(
                packages
                    .iter()
                    .skip(offset)
                    .take(limit)
                    .map(|p| p["name"].clone())
                    .collect(),
            ))
        }
        "package_show" => {
            let id = text(params, "id")
                .or_else(|| text(params, "name_or_id"))
                .ok_or_else(|| Error::invalid("id", "Missing value"))?;
            let (_, packages, deleted) = packages(state, &base).await?;
            packages
                .into_iter()
                .chain(deleted)
                .find(|p| p["name"] == id || p["id"] == id)
                .ok_or_else(|| Error::not_found("package", id))
        }
        "package_search" => {
            let (_, mut packages, deleted) = packages(state, &base).await?;
            // As in CKAN: deleted packages only when asked for, so that incremental harvesters
            // (fq on metadata_modified) learn of deletions.
            if flag(params, "include_deleted") {
                packages.extend(deleted);
            }
            search(packages, params)
        }
        "organization_list" => {
            let (publisher, packages, _) = packages(state, &base).await?;
            let org = full_organization(&publisher, &packages);
            Ok(if flag(params, "all_fields") {
                json!([org])
            } else {
                json!([org["name"]])
            })
        }
        // The stock CKAN harvester asks for the source's organization by name or id.
        "organization_show" => {
            let id = text(params, "id")
                .ok_or_else(|| Error::invalid("id", "Missing value"))?
                .to_string();
            let (publisher, packages, _) = packages(state, &base).await?;
            let mut org = full_organization(&publisher, &packages);
            if org["name"] != id.as_str() && org["id"] != id.as_str() {
                return Err(Error::not_found("organization", id));
            }
            if flag(params, "include_datasets") {
                if let Some(o) = org.as_object_mut() {
                    // As CKAN: at most 1,000, the rest by package_search.
                    let listed: Vec<Json> = packages.into_iter().take(1000).collect();
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

/// The county as CKAN organization, with the fields `all_fields` and `organization_show` add.
fn full_organization(publisher: &Publisher, packages: &[Json]) -> Json {
    let created = packages
        .iter()
        .filter_map(|p| p["metadata_created"].as_str())
        .min()
        .map(|t| t.trim_end_matches(".000000").to_string() + "Z")
        .unwrap_or_else(crate::time::now_rfc3339);
    let mut org = ckan::organization(publisher, &created);
    if let Some(o) = org.as_object_mut() {
        o.insert("package_count".into(), json!(packages.len()));
        o.insert("display_name".into(), json!(publisher.name));
    }
    org
}

/// package_search over the packages: `q` (words that must all occur in name, title, notes or
/// tags; `*:*` or empty for all), `fq` (field clauses that must all hold), sort, rows, start.
fn search(packages: Vec<Json>, params: &Params) -> crate::Result<Json> {
    let rows = count(params, "rows", 10)?.min(ROWS_MAX) as usize;
    let start = count(params, "start", 0)? as usize;
    let q = text(params, "q").unwrap_or("").trim();
    let words: Vec<String> = if q.is_empty() || q == "*:*" {
        Vec::new()
    } else {
        q.split_whitespace().map(str::to_lowercase).collect()
    };
    let clauses = parse_fq(text(params, "fq").unwrap_or(""))?;
    let mut found: Vec<Json> = packages
        .into_iter()
        .filter(|p| {
            let haystack = format!(
                "{} {} {} {}",
                p["name"].as_str().unwrap_or(""),
                p["title"].as_str().unwrap_or(""),
                p["notes"].as_str().unwrap_or(""),
                p["tags"]
                    .as_array()
                    .map(|t| t
                        .iter()
                        .filter_map(|t| t["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(" "))
                    .unwrap_or_default()
            )
            .to_lowercase();
            words.iter().all(|w| haystack.contains(w.as_str()))
                && clauses.iter().all(|c| c.matches(p))
        })
        .collect();
    let sort = text(params, "sort").unwrap_or("score desc, metadata_modified desc");
    let (field, descending) = match sort.split(',').next().map(str::trim) {
        Some(s) if s.starts_with("score") => ("metadata_modified", true),
        Some(s) => {
            let (f, dir) = s.split_once(' ').unwrap_or((s, "asc"));
            let descending = match dir.trim() {
                "asc" => false,
                "desc" => true,
                _ => return Err(Error::invalid("sort", format!("bad direction in '{s}'"))),
            };
            let field = match f {
                "metadata_modified" | "metadata_created" | "name" | "id" => f,
                "title_string" | "title" => "title",
                _ => return Err(Error::invalid("sort", format!("cannot sort by '{f}'"))),
            };
            (field, descending)
        }
        None => ("metadata_modified", true),
    };
    found.sort_by(|a, b| {
        let key = |p: &Json| p[field].as_str().unwrap_or("").to_string();
        let order = key(a)
            .cmp(&key(b))
            .then_with(|| key_name(a).cmp(&key_name(b)));
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    let count = found.len();
    let results: Vec<Json> = found.into_iter().skip(start).take(rows).collect();
    Ok(json!({
        "count": count,
        "facets": {},
        "results": results,
        "sort": sort,
        "search_facets": {},
    }))
}

fn key_name(p: &Json) -> String {
    p["name"].as_str().unwrap_or("").to_string()
}

/// One `fq` clause.
enum Clause {
    /// `field:value` on organization, tags, name or res_format.
    Equals { field: String, value: String },
    /// `metadata_modified:[FROM TO TO]`, either end `*`.
    Modified {
        from: Option<String>,
        to: Option<String>,
    },
}

impl Clause {
    fn matches(&self, p: &Json) -> bool {
        match self {
            Self::Equals { field, value } => match field.as_str() {
                "organization" => p["organization"]["name"] == value.as_str(),
                "name" => p["name"] == value.as_str(),
                "tags" => p["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t["name"] == value.as_str())),
                _ => p["resources"].as_array().is_some_and(|r| {
                    r.iter().any(|r| {
                        r["format"]
                            .as_str()
                            .is_some_and(|f| f.eq_ignore_ascii_case(value))
                    })
                }),
            },
            Self::Modified { from, to } => {
                let m = p["metadata_modified"].as_str().unwrap_or("");
                from.as_deref().is_none_or(|f| m >= f) && to.as_deref().is_none_or(|t| m <= t)
            }
        }
    }
}

/// Solr-style `fq` as harvesters send it: clauses separated by spaces (or `AND`), each
/// optionally `+`-prefixed, values optionally quoted.
fn parse_fq(fq: &str) -> crate::Result<Vec<Clause>> {
    let mut clauses = Vec::new();
    let mut rest = fq.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches('+');
        if let Some(after) = rest.strip_prefix("AND ") {
            rest = after.trim_start();
            continue;
        }
        let (field, after) = rest
            .split_once(':')
            .ok_or_else(|| Error::invalid("fq", format!("expected field:value at '{rest}'")))?;
        let field = field.trim();
        let (value, remaining) = if let Some(range) = after.strip_prefix('[') {
            let (inner, remaining) = range
                .split_once(']')
                .ok_or_else(|| Error::invalid("fq", "unclosed range"))?;
            (format!("[{inner}]"), remaining)
        } else if let Some(quoted) = after.strip_prefix('"') {
            let (inner, remaining) = quoted
                .split_once('"')
                .ok_or_else(|| Error::invalid("fq", "unclosed quote"))?;
            (inner.to_string(), remaining)
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        rest = remaining.trim_start();
        clauses.push(match field {
            "organization" | "tags" | "name" | "res_format" => Clause::Equals {
                field: field.to_string(),
                value,
            },
            "metadata_modified" => {
                let inner = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .ok_or_else(|| Error::invalid("fq", "metadata_modified takes [FROM TO TO]"))?;
                let (from, to) = inner
                    .split_once(" TO ")
                    .ok_or_else(|| Error::invalid("fq", "metadata_modified takes [FROM TO TO]"))?;
                let end = |s: &str| -> crate::Result<Option<String>> {
                    let s = s.trim();
                    if s == "*" {
                        return Ok(None);
                    }
                    // CKAN compares its naive UTC times; normalise `…Z` to that form.
                    let t = chrono::DateTime::parse_from_rfc3339(s)
                        .map(|t| t.naive_utc())
                        .or_else(|_| {
                            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        })
                        .map_err(|_| Error::invalid("fq", format!("'{s}' is not a time")))?;
                    Ok(Some(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()))
                };
                Clause::Modified {
                    from: end(from)?,
                    to: end(to)?,
                }
            }
            other => {
                return Err(Error::invalid(
                    "fq",
                    format!(
                        "cannot filter on '{other}'; organization, tags, name, res_format and \
                         metadata_modified are supported"
                    ),
                ))
            }
        });
    }
    Ok(clauses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fq_clauses() {
        let c = parse_fq(r#"+organization:landkreis-x tags:"Erste Hilfe" metadata_modified:[2026-01-01T00:00:00Z TO *]"#)
            .unwrap();
        assert_eq!(c.len(), 3);
        assert!(matches!(&c[1], Clause::Equals { value, .. } if value == "Erste Hilfe"));
        assert!(
            matches!(&c[2], Clause::Modified { from: Some(f), to: None } if f == "2026-01-01T00:00:00.000000")
        );
        assert!(parse_fq("owner:x").is_err());
        assert!(parse_fq("metadata_modified:[yesterday TO *]").is_err());
        assert!(parse_fq("").unwrap().is_empty());
    }
}
