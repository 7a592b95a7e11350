//! The sun's position for every hour of a typical year, by NREL's Solar Position Algorithm
//! (Reda and Andreas 2004, ±0.0003°) as the `solar-positioning` crate implements it, with ΔT
//! estimated by Espenak and Meeus, at the moment of each hour that its irradiance describes.
//! The zenith is the true one, without refraction: PVGIS made its beam normal with it.

use chrono::{Datelike, Duration, TimeZone, Utc};
use solar_positioning::{delta_t, Location, SolarPositions};

use super::irradiance::Sun;
use super::weather::Weather;

/// The sun for each hour of `weather` at `latitude`, `longitude` (degrees) and `elevation`
/// (metres).
pub fn hourly(weather: &Weather, latitude: f64, longitude: f64) -> Result<Vec<Sun>, String> {
    let spa = SolarPositions::new();
    let location = Location {
        latitude,
        longitude,
    };
    // The readers keep the offset within the hour.
    #[allow(clippy::cast_possible_truncation)]
    let offset = Duration::milliseconds(
        (weather.sun_offset_hours.clamp(0.0, 1.0) * 3_600_000.0).round() as i64,
    );
    weather
        .hours
        .iter()
        .map(|h| {
            let at = Utc.from_utc_datetime(&(h.start + offset));
            let dt =
                delta_t::estimate_from_date(at.year(), at.month()).map_err(|e| e.to_string())?;
            let p = spa
                .for_time(&at, dt)
                .and_then(|prepared| prepared.at(location, weather.elevation, None))
                .map_err(|e| format!("the sun at {at}: {e}"))?;
            Ok(Sun {
                zenith: p.zenith_angle(),
                azimuth: p.azimuth(),
            })
        })
        .collect()
}
