//! A year of one plane: in-plane irradiation and the yield of a PV system on it, hour by hour
//! as PVGIS computes it, summed.

use chrono::Datelike;

use super::irradiance::{self, Plane, Sun};
use super::weather::Weather;

/// The model's parameters, with the defaults the README documents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Ground reflectance.
    pub albedo: f64,
    /// Martin–Ruiz angular loss coefficient.
    pub a_r: f64,
    /// Power temperature coefficient, 1/K.
    pub gamma: f64,
    /// System losses (cables, inverter, soiling), as a share.
    pub losses: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            albedo: 0.2,
            a_r: 0.16,
            gamma: -0.0035,
            losses: 0.14,
        }
    }
}

/// What a plane receives and yields in a year.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Year {
    /// In-plane irradiation without shading, kWh/m².
    pub irradiation: f64,
    /// The direct part (beam and circumsolar) of it, kWh/m².
    pub direct: f64,
    /// In-plane irradiation with shading, kWh/m².
    pub shaded_irradiation: f64,
    /// Energy per kWp after angular, temperature and system losses, kWh/kWp.
    pub specific_yield: f64,
}

/// The hours of a year prepared once for all planes: the sun and the extraterrestrial and
/// normal irradiance of each.
pub struct Sky<'a> {
    pub weather: &'a Weather,
    pub suns: Vec<Sun>,
    e0: Vec<f64>,
    dni: Vec<f64>,
}

impl<'a> Sky<'a> {
    pub fn new(weather: &'a Weather, suns: Vec<Sun>) -> Self {
        let e0 = weather
            .hours
            .iter()
            .map(|h| irradiance::extraterrestrial(h.start.ordinal()))
            .collect();
        let dni = weather
            .hours
            .iter()
            .zip(&suns)
            .map(|(h, sun)| {
                h.dni
                    .unwrap_or_else(|| irradiance::dni_from_horizontal(h.ghi - h.dhi, sun))
            })
            .collect();
        Self {
            weather,
            suns,
            e0,
            dni,
        }
    }

    /// The year of `plane`; `lit(hour)` is the share of the plane the sun reaches in that hour
    /// (1 without shading), which scales the beam and the circumsolar diffuse.
    pub fn year(&self, plane: &Plane, params: &Params, lit: impl Fn(usize) -> f64) -> Year {
        let mut y = Year::default();
        let mut energy = 0.0;
        let (iam_sky, iam_ground) = irradiance::martin_ruiz_diffuse(plane.tilt, params.a_r);
        for (i, h) in self.weather.hours.iter().enumerate() {
            let sun = &self.suns[i];
            let p = irradiance::hay_davies(
                plane,
                sun,
                self.dni[i],
                h.dhi,
                h.ghi,
                self.e0[i],
                params.albedo,
            );
            let share = if sun.is_up() {
                lit(i).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let direct = p.beam + p.circumsolar;
            y.irradiation += p.total();
            y.direct += direct;
            let shaded = direct * share + p.isotropic + p.ground;
            y.shaded_irradiation += shaded;
            // The glass reflects more of the light the flatter it arrives: the beam (and the
            // circumsolar light from its direction) by its angle, the sky and the ground by
            // the plane's tilt, as PVGIS does.
            let iam = irradiance::martin_ruiz(plane.cos_incidence(sun), params.a_r);
            let effective = direct * share * iam + p.isotropic * iam_sky + p.ground * iam_ground;
            let t_module = irradiance::faiman(h.temp_air, shaded, h.wind_speed);
            energy += irradiance::power_per_kwp(effective, t_module, params.gamma);
        }
        y.irradiation /= 1000.0;
        y.direct /= 1000.0;
        y.shaded_irradiation /= 1000.0;
        y.specific_yield = energy * (1.0 - params.losses);
        y
    }
}
