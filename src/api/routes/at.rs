//! `GET /collections/{collectionId}/at`: the citizen's "what is here?" — the roof and its solar
//! potential under a click, the parcel under a house.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::TAG_CITIZENS;
use crate::api::respond::feature_collection;
use crate::api::state::{AppState, MinVersion};
use crate::error::Result;
use crate::features::params::{parse_crs, parse_point, Limit};
use crate::features::query;
use crate::ogc::FeatureCollectionDoc;

/// Query string of the point query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AtParams {
    /// The point: `lon,lat` in CRS84, or x,y in `point-crs`.
    #[param(example = "6.7195,51.5091")]
    pub point: Option<String>,
    /// CRS of `point`, as a URI; default CRS84.
    #[serde(rename = "point-crs")]
    #[param(
        rename = "point-crs",
        example = "http://www.opengis.net/def/crs/EPSG/0/25832"
    )]
    pub point_crs: Option<String>,
    /// CRS of the returned coordinates, as a URI; default CRS84.
    #[param(example = "http://www.opengis.net/def/crs/EPSG/0/25832")]
    pub crs: Option<String>,
    /// How many features at most, 1 to 100; default 10.
    #[param(value_type = Option<u32>, example = 10)]
    pub limit: Option<String>,
}

/// Features at a point
///
/// The features whose geometry contains the point (a point on a shared border belongs to both
/// sides), in id order, as a GeoJSON FeatureCollection: on a solar collection the roof surfaces
/// with their potential, on a parcel collection the parcel. Uses the spatial index.
#[utoipa::path(
    tag = TAG_CITIZENS,
    params(("collectionId" = String, Path, description = "Collection (dataset) id", example = "solar"), AtParams, MinVersion),
    responses(
        (status = 200, description = "The features at the point", content_type = "application/geo+json", body = FeatureCollectionDoc,
         example = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "id": 42,
            "geometry": {"type": "Polygon", "coordinates": [[[10.4101, 53.2490], [10.4103, 53.2490], [10.4103, 53.2491], [10.4101, 53.2490]]]},
            "properties": {"eignung": "sehr gut", "kwp": 9.8, "jahresertrag_kwh": 8900}}],
            "numberReturned": 1})),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/at")]
pub async fn get_at(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<AtParams>,
) -> Result<HttpResponse> {
    let point_crs = parse_crs("point-crs", params.point_crs.as_deref())?;
    let point = parse_point("point", params.point.as_deref(), &point_crs)?;
    let crs = parse_crs("crs", params.crs.as_deref())?;
    let limit = Limit::AT.parse(params.limit.as_deref())?;
    let id = path.into_inner();
    let (collection, lsn) = state.served(&req, &id).await?;
    let rows = state
        .read(lsn, |pool| {
            let (version, crs) = (&collection.version, &crs);
            async move { query::at(&pool, version, point, limit, crs).await }
        })
        .await?;
    feature_collection(&req, &state, &id, &collection.version, &rows, &crs)
}
