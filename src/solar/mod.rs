//! The county's own solar cadastre (issue 19): the potential of every roof from its LoD2
//! geometry and a typical meteorological year. So far: the weather years ([`weather`]), the
//! sun ([`sun`]), the irradiance on a plane ([`irradiance`]) and a plane's year
//! ([`model`]); shading and the computed dataset follow.

pub mod compute;
pub mod irradiance;
pub mod model;
pub mod roof;
pub mod shading;
pub mod store;
pub mod sun;
pub mod weather;

use weather::{Site, Weather};

/// The latitude and longitude of the weather's site: as the file gives them, or (a DWD grid
/// cell in ETRS89 / LCC Europe) transformed by PostGIS.
pub async fn locate(pool: &sqlx::PgPool, weather: &Weather) -> crate::Result<(f64, f64)> {
    match weather.site {
        Site::LatLon {
            latitude,
            longitude,
        } => Ok((latitude, longitude)),
        Site::Lcc { x, y } => {
            let (lon, lat) = crate::db::spatial::to_lon_lat(pool, 3034, x, y).await?;
            Ok((lat, lon))
        }
    }
}
