//! Irradiance on a tilted plane and what a PV module makes of it, hour by hour, as PVGIS and
//! pvlib compute it:
//!
//! - extraterrestrial normal irradiance by Spencer (1971), 1366.1 W/m² solar constant;
//! - the Hay–Davies (1980) transposition: beam by the angle of incidence, diffuse split by the
//!   anisotropy index DNI/E₀ into a circumsolar part (treated as beam) and an isotropic part
//!   (by the sky view (1 + cos β)/2), ground reflection with albedo ρ by (1 − cos β)/2;
//! - the angle-of-incidence loss of Martin and Ruiz (2001), a_r = 0.16;
//! - the module temperature of Faiman (2008), U₀ = 25 W/m²K, U₁ = 6.84 W s/m³K;
//! - power proportional to effective irradiance, corrected by γ per kelvin above 25 °C.

use std::f64::consts::PI;

/// Solar constant of `pvlib.irradiance.get_extra_radiation`, W/m².
const SOLAR_CONSTANT: f64 = 1366.1;

/// The sun seen from the site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sun {
    /// Degrees from the vertical.
    pub zenith: f64,
    /// Degrees clockwise from north.
    pub azimuth: f64,
}

impl Sun {
    pub fn is_up(&self) -> bool {
        self.zenith < 90.0
    }

    /// The unit vector towards the sun: x east, y north, z up.
    pub fn direction(&self) -> [f64; 3] {
        let (z, a) = (self.zenith.to_radians(), self.azimuth.to_radians());
        [z.sin() * a.sin(), z.sin() * a.cos(), z.cos()]
    }
}

/// A plane: tilt from the horizontal and the azimuth it faces, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    pub tilt: f64,
    pub azimuth: f64,
}

impl Plane {
    /// The cosine of the angle between the plane's normal and the sun.
    pub fn cos_incidence(&self, sun: &Sun) -> f64 {
        let (t, z) = (self.tilt.to_radians(), sun.zenith.to_radians());
        let da = (sun.azimuth - self.azimuth).to_radians();
        (z.cos() * t.cos() + z.sin() * t.sin() * da.cos()).clamp(-1.0, 1.0)
    }
}

/// Extraterrestrial normal irradiance on day `day_of_year` (Spencer).
pub fn extraterrestrial(day_of_year: u32) -> f64 {
    let b = 2.0 * PI * f64::from(day_of_year.saturating_sub(1)) / 365.0;
    SOLAR_CONSTANT
        * (1.000_11
            + 0.034_221 * b.cos()
            + 0.00128 * b.sin()
            + 0.000_719 * (2.0 * b).cos()
            + 0.000_077 * (2.0 * b).sin())
}

/// The irradiance components on a plane, W/m².
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InPlane {
    /// Direct beam.
    pub beam: f64,
    /// Circumsolar diffuse, which comes from the sun's direction as the beam does.
    pub circumsolar: f64,
    /// Isotropic sky diffuse.
    pub isotropic: f64,
    /// Reflected from the ground.
    pub ground: f64,
}

impl InPlane {
    pub fn total(&self) -> f64 {
        self.beam + self.circumsolar + self.isotropic + self.ground
    }
}

/// Hay–Davies irradiance on `plane` for one hour. `dni`, `dhi`, `ghi` in W/m²; `e0` the
/// extraterrestrial irradiance.
pub fn hay_davies(
    plane: &Plane,
    sun: &Sun,
    dni: f64,
    dhi: f64,
    ghi: f64,
    e0: f64,
    albedo: f64,
) -> InPlane {
    let tilt = plane.tilt.to_radians();
    let ground = ghi * albedo * (1.0 - tilt.cos()) / 2.0;
    if !sun.is_up() {
        return InPlane {
            isotropic: dhi * (1.0 + tilt.cos()) / 2.0,
            ground,
            ..InPlane::default()
        };
    }
    let cos_aoi = plane.cos_incidence(sun).max(0.0);
    // pvlib bounds cos(zenith) below by cos(89°) so that Rb stays finite at sunrise.
    let cos_zenith = sun.zenith.to_radians().cos().max(0.017_452_406);
    let anisotropy = (dni / e0).clamp(0.0, 1.0);
    let rb = cos_aoi / cos_zenith;
    InPlane {
        beam: (dni * cos_aoi).max(0.0),
        circumsolar: (dhi * anisotropy * rb).max(0.0),
        isotropic: (dhi * (1.0 - anisotropy) * (1.0 + tilt.cos()) / 2.0).max(0.0),
        ground,
    }
}

/// The direct normal irradiance of a direct horizontal one, as pvlib's `irradiance.dni` makes
/// it: none with the sun lower than 2° (the division would amplify any error).
pub fn dni_from_horizontal(direct_horizontal: f64, sun: &Sun) -> f64 {
    if sun.zenith >= 88.0 || direct_horizontal <= 0.0 {
        return 0.0;
    }
    direct_horizontal / sun.zenith.to_radians().cos()
}

/// The share of the beam a module's glass lets through at an angle of incidence whose cosine
/// is `cos_aoi` (Martin–Ruiz).
pub fn martin_ruiz(cos_aoi: f64, a_r: f64) -> f64 {
    if cos_aoi <= 0.0 {
        return 0.0;
    }
    (1.0 - (-cos_aoi / a_r).exp()) / (1.0 - (-1.0 / a_r).exp())
}

/// The shares of isotropic sky and ground-reflected light a module tilted by `tilt` degrees
/// lets through (Martin–Ruiz's diffuse factors, c₁ = 0.4244, c₂ = a_r/2 − 0.154, as PVGIS 5
/// and `pvlib.iam.martin_ruiz_diffuse` apply them).
pub fn martin_ruiz_diffuse(tilt: f64, a_r: f64) -> (f64, f64) {
    const C1: f64 = 0.4244;
    let c2 = 0.5 * a_r - 0.154;
    // The formulas divide by zero for a horizontal (and an upside-down) plane.
    let tilt = tilt.clamp(1e-6, 180.0 - 1e-6);
    let beta = tilt.to_radians();
    let sin_beta = if tilt < 90.0 {
        beta.sin()
    } else {
        (PI - beta).sin()
    };
    let sky = sin_beta + (PI - beta - sin_beta) / (1.0 + beta.cos());
    let ground = sin_beta + (beta - sin_beta) / (1.0 - beta.cos());
    let iam = |t: f64| 1.0 - (-(C1 + c2 * t) * t / a_r).exp();
    (iam(sky), iam(ground))
}

/// Module temperature (Faiman), °C, from air temperature, in-plane irradiance and wind.
pub fn faiman(temp_air: f64, poa_global: f64, wind_speed: f64) -> f64 {
    const U0: f64 = 25.0;
    const U1: f64 = 6.84;
    temp_air + poa_global / (U0 + U1 * wind_speed.max(0.0))
}

/// DC power per kWp, kW, at effective irradiance `effective` (W/m²) and module temperature
/// `t_module`; `gamma` in 1/K (e.g. −0.0035).
pub fn power_per_kwp(effective: f64, t_module: f64, gamma: f64) -> f64 {
    (effective / 1000.0 * (1.0 + gamma * (t_module - 25.0))).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plane_facing_the_sun_gets_the_whole_beam() {
        let sun = Sun {
            zenith: 30.0,
            azimuth: 180.0,
        };
        let facing = Plane {
            tilt: 30.0,
            azimuth: 180.0,
        };
        assert!((facing.cos_incidence(&sun) - 1.0).abs() < 1e-12);
        let away = Plane {
            tilt: 70.0,
            azimuth: 0.0,
        };
        assert!(away.cos_incidence(&sun) < 0.0);
        let p = hay_davies(&facing, &sun, 800.0, 100.0, 793.0, 1361.0, 0.2);
        assert!((p.beam - 800.0).abs() < 1e-9);
        assert!(p.circumsolar > 0.0 && p.isotropic > 0.0 && p.ground > 0.0);
        // The sun's direction: south and 60° above the horizon.
        let d = sun.direction();
        assert!(
            d[0].abs() < 1e-12 && d[1] < 0.0 && (d[2] - 30f64.to_radians().cos()).abs() < 1e-12
        );
        assert!((martin_ruiz(1.0, 0.16) - 1.0).abs() < 1e-12);
        assert!(martin_ruiz(0.1, 0.16) < 0.5);
        assert!((extraterrestrial(1) - 1366.1 * 1.035_05).abs() < 0.01);
        // pvlib 0.16.1: martin_ruiz_diffuse(30, 0.16) = (0.954973522300…, 0.794442569327…).
        let (sky, ground) = martin_ruiz_diffuse(30.0, 0.16);
        assert!((sky - 0.954_973_522_300_251).abs() < 1e-12, "{sky}");
        assert!((ground - 0.794_442_569_327_782).abs() < 1e-12, "{ground}");
    }
}
