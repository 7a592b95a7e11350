//! `GET /collections/{collectionId}/nearest`: the citizen's "where is the nearest one?".

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::TAG_CITIZENS;
use crate::api::state::{AppState, MinVersion};
use crate::catalog::{Column, Version};
use crate::crs::{ApiCrs, Point};
use crate::db::ident::QualifiedTable;
use crate::error::{Error, Result};
use crate::features::params::{parse_crs, parse_point, Limit};
use crate::features::query;
use crate::ogc::FeatureCollectionDoc;
use crate::value::FeatureRow;
use crate::{aed, hours, routing};

/// Query string of the nearest search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NearestParams {
    /// Where the citizen is: `lon,lat` in CRS84, or x,y in `point-crs`.
    #[param(example = "10.4115,53.2487")]
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
    /// How many features, 1 to 100; default 5.
    #[param(value_type = Option<u32>, example = 3)]
    pub limit: Option<String>,
    /// AED collections leave out defibrillators with `access=private` or `access=no` unless
    /// this is `all`.
    #[param(example = "all")]
    pub access: Option<String>,
    /// AED collections: `true` keeps only defibrillators whose OSM `opening_hours` say open now
    /// (German time and public holidays); hours that do not parse count as unknown, never open.
    #[param(value_type = Option<bool>, example = true)]
    pub open_now: Option<String>,
    /// The moment `open_now` is evaluated at, local German time `YYYY-MM-DDThh:mm` [now].
    #[param(example = "2026-11-23T09:00")]
    pub at: Option<String>,
    /// `straight` (default): nearest in a straight line. `walk`: nearest on foot over the
    /// walking network of the loaded OpenStreetMap dataset (pgRouting), each feature with
    /// `walk_m` (the legs to and from the network included), `walk_min` (at
    /// `serve --walk-speed-kmh`, default 5), `snap_m`, `start_snap_m` and `reachable`.
    #[param(example = "walk")]
    pub mode: Option<String>,
    /// With `mode=walk`: `true` adds each feature's walking route as a GeoJSON LineString
    /// property `route`.
    #[param(value_type = Option<bool>, example = true)]
    pub route: Option<String>,
}

/// A nearest question, parsed.
struct Asked {
    point: Point,
    crs: ApiCrs,
    limit: u32,
    everyone: bool,
    open_only: bool,
    at: chrono::NaiveDateTime,
    /// `mode=walk`, with `route` or without.
    walk: Option<bool>,
}

impl Asked {
    fn on_foot<'a>(
        &'a self,
        version: &'a Version,
        network: &'a QualifiedTable,
        exclude: Option<(&'a Column, &'a [&'a str])>,
        route: bool,
        walking: routing::Walking,
    ) -> routing::Question<'a> {
        routing::Question {
            version,
            network,
            point: self.point,
            limit: self.limit,
            exclude,
            crs: &self.crs,
            route,
            walking,
        }
    }
}

impl NearestParams {
    fn asked(&self) -> Result<Asked> {
        let point_crs = parse_crs("point-crs", self.point_crs.as_deref())?;
        Ok(Asked {
            point: parse_point("point", self.point.as_deref(), &point_crs)?,
            crs: parse_crs("crs", self.crs.as_deref())?,
            limit: Limit::NEAREST.parse(self.limit.as_deref())?,
            everyone: self.everyone()?,
            open_only: self.open_only()?,
            at: self.moment()?,
            walk: self.walking()?,
        })
    }

    /// `access=all`: the private defibrillators too.
    fn everyone(&self) -> Result<bool> {
        match self.access.as_deref() {
            None => Ok(false),
            Some("all") => Ok(true),
            Some(other) => Err(Error::invalid("access", format!("'{other}' is not 'all'"))),
        }
    }

    fn open_only(&self) -> Result<bool> {
        match self.open_now.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(Error::invalid(
                "open_now",
                format!("'{other}' is not true or false"),
            )),
        }
    }

    /// `mode=walk` (with `route`), or the straight line.
    fn walking(&self) -> Result<Option<bool>> {
        let route = match self.route.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(Error::invalid(
                    "route",
                    format!("'{other}' is not true or false"),
                ))
            }
        };
        match self.mode.as_deref() {
            None | Some("straight") if route => {
                Err(Error::invalid("route", "routes are walked: add mode=walk"))
            }
            None | Some("straight") => Ok(None),
            Some("walk") => Ok(Some(route)),
            Some(other) => Err(Error::invalid(
                "mode",
                format!("'{other}' is not straight or walk"),
            )),
        }
    }

    /// The moment `open_now` is judged at: `at`, else now, in German time.
    fn moment(&self) -> Result<chrono::NaiveDateTime> {
        match self.at.as_deref() {
            None => Ok(hours::now_in_germany()),
            Some(text) => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .map_err(|_| Error::invalid("at", format!("'{text}' is not YYYY-MM-DDThh:mm"))),
        }
    }
}

/// Nearest features
///
/// The features of a collection nearest to a point, nearest first, as a GeoJSON
/// FeatureCollection whose features carry `distance_m` (metres on the WGS 84 ellipsoid). Uses
/// the spatial index. For AED collections, defibrillators the public cannot use
/// (`access=private`, `access=no`) are left out unless `access=all`.
#[utoipa::path(
    tag = TAG_CITIZENS,
    params(("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"), NearestParams, MinVersion),
    responses(
        (status = 200, description = "The nearest features, nearest first", content_type = "application/geo+json", body = FeatureCollectionDoc,
         example = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "id": 17,
            "geometry": {"type": "Point", "coordinates": [10.4102, 53.2491]},
            "properties": {"emergency": "defibrillator", "access": "yes", "opening_hours": "24/7", "distance_m": 93.4}}],
            "numberReturned": 1})),
        (status = 400, description = "A malformed parameter", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/nearest")]
pub async fn get_nearest(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<NearestParams>,
) -> Result<HttpResponse> {
    let ask = params.asked()?;
    let id = path.into_inner();
    let (collection, lsn) = state.served(&req, &id).await?;
    let version = &collection.version;
    let exclude = aed::excluded_access(collection.kind, version, ask.everyone);
    let hours = aed::hours_column(collection.kind, version);
    if ask.open_only && hours.is_none() {
        return Err(Error::invalid(
            "open_now",
            "only AED collections with opening_hours know what is open",
        ));
    }
    let land = state.land().await;
    let keep = |rows: &mut Vec<FeatureRow>, limit: u32| match hours {
        Some(column) => aed::mark_open(rows, column, ask.at, land, ask.open_only, limit),
        None => rows.truncate(limit as usize),
    };
    let rows = match ask.walk {
        None => {
            let candidates = aed::candidates(ask.limit, ask.open_only);
            let crs = &ask.crs;
            let mut rows = state
                .read(lsn, |pool| async move {
                    query::nearest(&pool, version, ask.point, candidates, exclude, crs).await
                })
                .await?;
            keep(&mut rows, ask.limit);
            rows
        }
        Some(route) => {
            let network = walk_network(&state).await?;
            let question = ask.on_foot(version, &network, exclude, route, state.walking());
            let keep = |rows: &mut Vec<_>| keep(rows, u32::MAX);
            state
                .read(lsn, |pool| {
                    let (question, keep, cache) = (&question, &keep, &state.walk_cache);
                    async move { routing::nearest_on_foot(&pool, question, cache, keep).await }
                })
                .await?
        }
    };
    crate::api::respond::feature_collection(&req, &state, &id, version, &rows, &ask.crs)
}

/// The walking network of the basemap's OpenStreetMap dataset.
async fn walk_network(state: &AppState) -> Result<QualifiedTable> {
    let (collections, _) = state.collections_at().await?;
    let osm =
        crate::basemap::source(&collections, state.config.basemap.as_deref()).ok_or_else(|| {
            Error::invalid(
                "mode",
                "no walking network: load an OpenStreetMap extract (--kind osm)",
            )
        })?;
    Ok(QualifiedTable::data(crate::osm::walk_table_name(
        &osm.version.table_name,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::ApiCrs;

    #[test]
    fn points_and_limits() {
        let crs84 = ApiCrs::crs84();
        let p = parse_point("point", Some("10.4, 53.2"), &crs84).unwrap();
        assert_eq!((p.x, p.y, p.srid), (10.4, 53.2, 4326));
        let wgs84 = ApiCrs::from_uri("http://www.opengis.net/def/crs/EPSG/0/4326").unwrap();
        let p = parse_point("point", Some("53.2,10.4"), &wgs84).unwrap();
        assert_eq!((p.x, p.y), (10.4, 53.2));
        for bad in [
            None,
            Some("10.4"),
            Some("a,b"),
            Some("200,0"),
            Some("0,95"),
            Some("NaN,1"),
        ] {
            assert!(
                matches!(
                    parse_point("point", bad, &crs84),
                    Err(Error::InvalidParameter { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(Limit::NEAREST.parse(None).unwrap(), 5);
        assert!(Limit::NEAREST.parse(Some("0")).is_err());
        assert!(Limit::NEAREST.parse(Some("101")).is_err());
        assert_eq!(Limit::NEAREST.parse(Some("100")).unwrap(), 100);
        // A page is served at its maximum instead.
        assert_eq!(Limit::ITEMS.parse(Some("50000")).unwrap(), 10_000);
        assert!(Limit::ITEMS.parse(Some("0")).is_err());
        assert!(Limit::ITEMS.parse(Some("-1")).is_err());
    }
}
