//! `GET /collections/{collectionId}/items` and `…/items/{featureId}`.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use futures::{StreamExt, TryStreamExt};

use super::TAG_DATA;
use crate::api::cache::Validators;
use crate::api::state::{AppState, MinVersion};
use crate::catalog::{repo, Collection, Version};
use crate::db::replicas::Lsn;
use crate::error::{Error, Result};
use crate::features::encode::csv::CsvEncoder;
use crate::features::encode::fgb::FgbEncoder;
use crate::features::encode::geojson::GeoJsonEncoder;
use crate::features::encode::html::HtmlEncoder;
use crate::features::encode::inspire_cp::{CpColumns, CpGeoJsonEncoder, CpGmlEncoder, GML};
use crate::features::encode::{encode_page, FeatureEncoder, ItemsFormat, Matched, PageSpec};
use crate::features::params::{Cursor, FeatureParams, ItemsParams, ItemsQuery, Profile};
use crate::features::query;
use crate::html::{page, DocFormat, View};
use crate::ogc::{media, FeatureCollectionDoc, FeatureDoc, Link};

/// The collection a request addresses (the active version, or the version a cursor is on) and
/// the WAL position its data reads need.
async fn resolve(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    cursor: Option<Cursor>,
) -> Result<(Collection, Lsn)> {
    let Some(cursor) = cursor else {
        let (c, lsn) = state.served(req, id).await?;
        return Ok((std::sync::Arc::unwrap_or_clone(c), lsn));
    };
    if let Some(c) = repo::find_collection_at(&state.pool, id, cursor.version).await? {
        return Ok((c, state.catalog_lsn().await?));
    }
    match repo::find_collection(&state.pool, id).await? {
        Some(_) => Err(Error::Gone(format!(
            "the paging cursor refers to version {} of '{id}', which is no longer kept; start again from the first page",
            cursor.version
        ))),
        None => Err(Error::not_found("collection", id)),
    }
}

/// Features
///
/// A page of the collection's features in GeoJSON, in a stable order. Follow the `next` link
/// to harvest the whole collection: each feature appears exactly once, and a paging session
/// stays on the dataset version it started on even if a new version is ingested meanwhile.
/// `numberMatched` is exact: the catalog's count without filters; with `bbox` or `filter`,
/// counted once with the first page and carried by the `next` links, and left out when more
/// than 100,000 features match.
#[utoipa::path(
    tag = TAG_DATA,
    params(("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"), ItemsParams, MinVersion),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "A page of features", content(
            (FeatureCollectionDoc = "application/geo+json"),
            (String = "text/csv"),
            (Vec<u8> = "application/flatgeobuf")
        )),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody),
        (status = 410, description = "The cursor's version is no longer kept", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/items")]
pub async fn get_items(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let mut q = ItemsQuery::from_query(req.query_string())?;
    let accept = req.headers().get(header::ACCEPT);
    let mut format = ItemsFormat::negotiate(q.f.as_deref(), accept.and_then(|v| v.to_str().ok()))?;
    // A data model is served as GeoJSON or GML: a browser's Accept does not make it HTML.
    if q.profile.is_some() && q.f.is_none() && format != ItemsFormat::Gml {
        format = ItemsFormat::GeoJson;
    }
    let id = path.into_inner();
    let (collection, lsn) = resolve(&state, &req, &id, q.cursor).await?;
    q.compile(&collection)?;
    let title = collection.title.clone();
    let kind = collection.kind;
    let version = q.select_properties(collection.version)?;
    let base = state.base_url(&req);
    let cp = match q.profile {
        Some(Profile::InspireCp) => Some(CpColumns::of(
            kind,
            &version,
            format!("{base}/catalog/datasets/{id}"),
        )?),
        None => None,
    };
    // A page of a version never changes: answer a revalidation before running any query.
    // The format is part of the response's identity when Accept chose it.
    let state_tag = format!(
        "v{}-{}{}",
        version.id,
        format.param(),
        if cp.is_some() { "-inspire-cp" } else { "" }
    );
    let mut response =
        Validators::new(&req, &base, &state_tag, Some(&version.created_at)).check(&req)?;
    response
        .insert_header(("Content-Crs", format!("<{}>", q.crs.uri)))
        .insert_header((header::VARY, "Accept"));
    let page = Page {
        response,
        state: &state,
        lsn,
        version: &version,
        spec: page_spec(&req, &base, &id, &q, &version, format),
        next_in_header: !format.links_in_body(),
        query: q,
    };
    if let Some(cp) = cp {
        return match format {
            ItemsFormat::GeoJson => page.stream(CpGeoJsonEncoder::new(cp, &version)).await,
            ItemsFormat::Gml => {
                let encoder = CpGmlEncoder::new(cp, &version, &page.query.crs);
                page.stream(encoder).await
            }
            other => Err(Error::invalid(
                "f",
                format!(
                    "profile=inspire-cp is served as json (GeoJSON) or gml, not {}",
                    other.param()
                ),
            )),
        };
    }
    match format {
        ItemsFormat::GeoJson => page.stream(GeoJsonEncoder::new(&version)).await,
        ItemsFormat::Gml => Err(gml_needs_profile()),
        ItemsFormat::Csv => page.stream(CsvEncoder::new(&version)).await,
        ItemsFormat::FlatGeobuf => {
            let encoder = FgbEncoder::new(&version, &page.query.crs)?;
            page.stream(encoder).await
        }
        ItemsFormat::Html => {
            let encoder = html_encoder(&req, &title, &version, page.query.cursor.is_some())?;
            page.stream(encoder).await
        }
    }
}

fn gml_needs_profile() -> Error {
    Error::invalid(
        "f",
        "GML is served in the INSPIRE Cadastral Parcels model: add profile=inspire-cp (for a \
         parcels collection)",
    )
}

/// The links of a page and how its `next` link is made: the same parameters, the cursor after
/// the last feature, on the same version.
fn page_spec(
    req: &HttpRequest,
    base: &str,
    id: &str,
    q: &ItemsQuery,
    version: &Version,
    format: ItemsFormat,
) -> PageSpec {
    let href = format!("{base}/collections/{id}/items");
    let self_href = match req.query_string() {
        "" => href.clone(),
        qs => format!("{href}?{qs}"),
    };
    // The next page repeats every parameter but the cursor.
    let fixed = q.next_params((format != ItemsFormat::GeoJson).then(|| format.param()));
    let version_id = version.id;
    let matched = match q.cursor {
        Some(cursor) => Matched::Known(cursor.matched),
        None if q.bbox.is_none() && q.predicate.is_none() => {
            Matched::Known(Some(version.feature_count))
        }
        None => Matched::InRows,
    };
    PageSpec {
        limit: q.limit,
        matched,
        first: q.cursor.is_none(),
        links: vec![
            Link::new(self_href, "self", media::GEOJSON, "This page"),
            Link::to_collection(base, id),
        ],
        next_link: Box::new(move |last, matched| {
            let cursor = Cursor {
                version: version_id,
                after: last,
                matched,
            }
            .encode();
            Link::new(
                format!("{href}?{fixed}&cursor={cursor}"),
                "next",
                media::GEOJSON,
                "Next page",
            )
        }),
    }
}

/// The HTML table of a page, headed with the collection's title, its other formats and a map.
fn html_encoder(
    req: &HttpRequest,
    title: &str,
    version: &Version,
    continued: bool,
) -> Result<HtmlEncoder> {
    let view = View::of(req)?;
    let heading = format!("{title} – {}", view.pick("Objekte", "Features"));
    let json = page::json_href(req);
    let csv = json.replacen("f=json", "f=csv", 1);
    let fgb = json.replacen("f=json", "f=fgb", 1);
    let data = [
        (json.as_str(), media::GEOJSON, "GeoJSON"),
        (csv.as_str(), "text/csv", "CSV"),
        (fgb.as_str(), "application/flatgeobuf", "FlatGeobuf"),
    ];
    let mut start = page::head(req, view, &heading, &data, true);
    page::map(&mut start, view, &json);
    Ok(HtmlEncoder::new(version, view, start, continued))
}

/// A page about to be streamed in the format its encoder writes.
struct Page<'a> {
    response: actix_web::HttpResponseBuilder,
    state: &'a AppState,
    /// What a replica must have replayed to read the page.
    lsn: Lsn,
    version: &'a Version,
    query: ItemsQuery,
    spec: PageSpec,
    /// The format has no place for links in its body: the next page goes into the `Link`
    /// header, so it is looked up before the rows stream.
    next_in_header: bool,
}

impl Page<'_> {
    async fn stream<E: FeatureEncoder>(mut self, encoder: E) -> Result<HttpResponse> {
        // Only formats that show numberMatched have the query count.
        let count = encoder.shows_number_matched();
        let (version, query) = (self.version, &self.query);
        if self.next_in_header {
            let next = self
                .state
                .read(self.lsn, |pool| async move {
                    query::next_cursor(&pool, version, query).await
                })
                .await?;
            if let Some(last) = next {
                let next = (self.spec.next_link)(last, None);
                let link = format!("<{}>; rel=\"next\"", next.href);
                self.response.insert_header((header::LINK, link));
            }
        }
        // The page (at most MAX_LIMIT + 1 rows) is read whole and its connection returned
        // before the first byte goes out: a client that never reads its answer must not hold
        // a database connection while the socket stalls.
        let rows: Vec<_> = self
            .state
            .read(self.lsn, |pool| {
                query::page(pool, version.clone(), query.clone(), count).try_collect()
            })
            .await?;
        let rows = futures::stream::iter(rows.into_iter().map(Ok)).boxed();
        self.response.content_type(encoder.content_type());
        Ok(self
            .response
            .streaming(encode_page(rows, encoder, self.spec)))
    }
}

/// Feature
///
/// One feature by its id, in GeoJSON.
#[utoipa::path(
    tag = TAG_DATA,
    params(
        ("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"),
        ("featureId" = String, Path, description = "Feature id", example = "1"),
        FeatureParams,
        MinVersion
    ),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The feature", content_type = "application/geo+json", body = FeatureDoc),
        (status = 404, description = "No such collection or feature", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/items/{featureId}")]
pub async fn get_feature(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<FeatureParams>,
) -> Result<HttpResponse> {
    let crs = query.crs()?;
    let profile = query.profile()?;
    let gml = query.f.as_deref() == Some("gml");
    if gml && profile.is_none() {
        return Err(gml_needs_profile());
    }
    let html =
        !gml && profile.is_none() && DocFormat::of(&req, query.f.as_deref())? == DocFormat::Html;
    let (id, feature_id) = path.into_inner();
    let (collection, lsn) = resolve(&state, &req, &id, None).await?;
    let not_found = || Error::not_found("feature", format!("{id}/{feature_id}"));
    let fid: i64 = feature_id.parse().map_err(|_| not_found())?;
    let base = state.base_url(&req);
    let mut response = Validators::for_version(&req, &base, &collection.version).check(&req)?;
    let row = state
        .read(lsn, |pool| {
            let (version, crs) = (&collection.version, &crs);
            async move { query::feature(&pool, version, fid, crs).await }
        })
        .await?
        .ok_or_else(not_found)?;
    let links = [
        Link::new(
            format!("{base}/collections/{id}/items/{fid}"),
            "self",
            media::GEOJSON,
            "This feature",
        ),
        Link::to_collection(&base, &id),
    ];
    response.insert_header((header::VARY, "Accept, Accept-Language"));
    if html {
        let title = format!("{} – {fid}", collection.title);
        let view = View::of(&req)?;
        let page = crate::html::feature_page(&req, view, &title, &collection.version, &row, &links);
        return Ok(response.content_type(crate::html::HTML).body(page));
    }
    let mut body = Vec::with_capacity(1024);
    let content_type = match profile {
        Some(Profile::InspireCp) => {
            let cp = CpColumns::of(
                collection.kind,
                &collection.version,
                format!("{base}/catalog/datasets/{id}"),
            )?;
            if gml {
                CpGmlEncoder::new(cp, &collection.version, &crs)
                    .write_parcel(&mut body, &row, true)?;
                GML
            } else {
                CpGeoJsonEncoder::new(cp, &collection.version).write_feature(
                    &mut body,
                    &row,
                    Some(&links),
                )?;
                media::GEOJSON
            }
        }
        None => {
            GeoJsonEncoder::new(&collection.version).write_feature(
                &mut body,
                &row,
                Some(&links),
            )?;
            media::GEOJSON
        }
    };
    Ok(response
        .content_type(content_type)
        .insert_header(("Content-Crs", format!("<{}>", crs.uri)))
        .body(body))
}
