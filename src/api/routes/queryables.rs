//! `GET /collections/{collectionId}/queryables` (OGC API Features Part 3).

use actix_web::{get, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

use super::TAG_DATA;
use crate::api::request::CollectionRequest;
use crate::catalog::Collection;
use crate::error::Result;
use crate::features::filter::{self, GEOMETRY};
use crate::features::params::FormatParams;
use crate::html::{answer, DocFormat};
use crate::ogc::media;

/// Queryables
///
/// The properties `filter` and the property-filter parameters of `/items` may use, as a JSON
/// Schema: one entry per attribute (JSON attributes cannot be filtered) and `geometry` for the
/// spatial relations.
#[utoipa::path(
    tag = TAG_DATA,
    params(("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"), FormatParams),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The queryables as JSON Schema", content_type = "application/schema+json", body = Object),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/queryables")]
pub async fn get_queryables(req: HttpRequest, doc: CollectionRequest) -> Result<HttpResponse> {
    let validators = doc.validators(&req);
    let mut response = validators.check(&req)?;
    let CollectionRequest {
        format,
        collection,
        base,
    } = doc;
    let doc = schema(&base, &collection);
    match format {
        DocFormat::Json => Ok(response.content_type(media::SCHEMA_JSON).json(doc)),
        DocFormat::Html => {
            let title = format!("{} – Queryables", collection.title);
            answer(format, &req, response, (&title, &title), &doc)
        }
    }
}

/// The queryables of `collection` as JSON Schema: every attribute a filter can name, with its
/// type and, for a profile's canonical name, the name in the source file.
fn schema(base: &str, collection: &Collection) -> Json {
    let id = &collection.id;
    let mut properties = Map::new();
    for c in &collection.version.columns {
        if filter::queryable(&collection.version, &c.original).is_none() {
            continue;
        }
        let mut schema = json!({ "title": c.original });
        if let Some(source) = &c.source {
            // A profile's canonical name: what the county's file called it.
            schema["description"] = format!("'{source}' in the source file").into();
            schema["x-kreisgeo-source-name"] = source.clone().into();
        }
        let (ty, format) = c.ty.json_schema();
        schema["type"] = ty.into();
        if let Some(format) = format {
            schema["format"] = format.into();
        }
        properties.insert(c.original.clone(), schema);
    }
    properties.insert(
        GEOMETRY.into(),
        json!({ "title": "geometry", "format": "geometry-any", "x-ogc-role": "primary-geometry" }),
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/collections/{id}/queryables"),
        "type": "object",
        "title": collection.title,
        "properties": Json::Object(properties),
        "additionalProperties": false,
    })
}
