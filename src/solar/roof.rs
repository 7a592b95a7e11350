//! The potential of one roof polygon: its plane, the area modules can use, the share of the
//! sun the neighbours leave it hour by hour, and what a PV system on it yields.

use geo::{Area, Buffer, Contains};

use super::irradiance::Plane;
use super::model::{Params, Sky};
use super::shading::{Scene, Vec3};

/// The settings of a computation, with the defaults the README documents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Modules keep this far from the roof's outline, metres in the roof plane.
    pub setback: f64,
    /// Less module area than this is not worth a system, m².
    pub min_area: f64,
    /// Roofs flatter than this carry modules on racks, degrees.
    pub flat_below: f64,
    /// The racks' tilt and orientation on a flat roof, degrees.
    pub flat_tilt: f64,
    pub flat_azimuth: f64,
    /// The share of a flat roof the racked modules cover (ground-coverage ratio).
    pub gcr: f64,
    /// Peak power per m² of module.
    pub kwp_per_m2: f64,
    /// Spacing of the points whose view of the sun is tested, metres.
    pub grid: f64,
    /// How far obstacles count, metres.
    pub radius: f64,
    /// CO₂ the German electricity mix emits per kWh, kg.
    pub co2_kg_per_kwh: f64,
    pub model: Params,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            setback: 0.5,
            min_area: 10.0,
            flat_below: 10.0,
            flat_tilt: 15.0,
            flat_azimuth: 180.0,
            gcr: 0.5,
            kwp_per_m2: 0.2,
            grid: 1.0,
            radius: 300.0,
            // Umweltbundesamt, CO₂-Emissionsfaktor des deutschen Strommix 2023 (vorläufig).
            co2_kg_per_kwh: 0.380,
            model: Params::default(),
        }
    }
}

/// What a roof polygon can give.
#[derive(Debug, Clone, PartialEq)]
pub struct Potential {
    pub tilt: f64,
    /// Degrees clockwise from north; `None` for a flat roof.
    pub azimuth: Option<f64>,
    /// The roof polygon's area in its plane, m².
    pub area: f64,
    /// The area inside the setback, m².
    pub usable_area: f64,
    pub module_area: f64,
    /// In-plane irradiation of the modules without shading, kWh/m²a.
    pub irradiation: f64,
    /// The share of it the surroundings take, %.
    pub shading_pct: f64,
    pub kwp: f64,
    pub yield_kwh: f64,
    pub specific_yield: f64,
    pub co2_kg: f64,
    pub suitability: &'static str,
}

/// The sun directions of a year, hours with the sun up binned by 2° of azimuth and 1° of
/// elevation, so that a roof point casts one ray per bin instead of one per hour.
pub struct SunBins {
    pub directions: Vec<Vec3>,
    /// The bin of each hour; `None` with the sun down.
    pub of_hour: Vec<Option<u32>>,
}

impl SunBins {
    pub fn new(sky: &Sky<'_>) -> Self {
        let mut keys: std::collections::HashMap<(i64, i64), u32> = std::collections::HashMap::new();
        let mut sums: Vec<Vec3> = Vec::new();
        let of_hour = sky
            .suns
            .iter()
            .map(|sun| {
                if !sun.is_up() {
                    return None;
                }
                #[allow(clippy::cast_possible_truncation)]
                let key = (
                    (sun.azimuth / 2.0).floor() as i64,
                    ((90.0 - sun.zenith) / 1.0).floor() as i64,
                );
                let d = sun.direction();
                #[allow(clippy::cast_possible_truncation)]
                let bin = *keys.entry(key).or_insert_with(|| {
                    sums.push([0.0; 3]);
                    (sums.len() - 1) as u32
                });
                let s = &mut sums[bin as usize];
                for k in 0..3 {
                    s[k] += d[k];
                }
                Some(bin)
            })
            .collect();
        let directions = sums
            .into_iter()
            .map(|s| {
                let n = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt();
                [s[0] / n, s[1] / n, s[2] / n]
            })
            .collect();
        Self {
            directions,
            of_hour,
        }
    }
}

/// A roof polygon's plane: its upward unit normal, two unit axes in it (u horizontal, v up
/// the slope), its origin.
struct Frame {
    origin: Vec3,
    normal: Vec3,
    u: Vec3,
    v: Vec3,
}

impl Frame {
    fn of(exterior: &[Vec3]) -> Option<Self> {
        let origin = *exterior.first()?;
        let n = super::shading::newell(exterior);
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len < 1e-9 {
            return None;
        }
        let mut normal = [n[0] / len, n[1] / len, n[2] / len];
        if normal[2] < 0.0 {
            normal = [-normal[0], -normal[1], -normal[2]];
        }
        let h = normal[0].hypot(normal[1]);
        let u = if h < 1e-12 {
            [1.0, 0.0, 0.0]
        } else {
            // Horizontal, along the roof's contour lines.
            [-normal[1] / h, normal[0] / h, 0.0]
        };
        let v = [
            normal[1] * u[2] - normal[2] * u[1],
            normal[2] * u[0] - normal[0] * u[2],
            normal[0] * u[1] - normal[1] * u[0],
        ];
        Some(Self {
            origin,
            normal,
            u,
            v,
        })
    }

    fn to_plane(&self, p: Vec3) -> (f64, f64) {
        let d = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        (
            d[0] * self.u[0] + d[1] * self.u[1] + d[2] * self.u[2],
            d[0] * self.v[0] + d[1] * self.v[1] + d[2] * self.v[2],
        )
    }

    fn to_space(&self, (a, b): (f64, f64), lift: f64) -> Vec3 {
        [
            self.origin[0] + a * self.u[0] + b * self.v[0] + lift * self.normal[0],
            self.origin[1] + a * self.u[1] + b * self.v[1] + lift * self.normal[1],
            self.origin[2] + a * self.u[2] + b * self.v[2] + lift * self.normal[2],
        ]
    }

    fn tilt(&self) -> f64 {
        self.normal[2].clamp(-1.0, 1.0).acos().to_degrees()
    }

    fn azimuth(&self) -> f64 {
        self.normal[0]
            .atan2(self.normal[1])
            .to_degrees()
            .rem_euclid(360.0)
    }
}

/// How far above its roof a point looks for the sun, so that the roof itself does not hide it.
const LIFT: f64 = 0.05;

/// Most points one roof is sampled at.
const MAX_POINTS: f64 = 4096.0;

/// The widest a roof polygon can plausibly be, metres: wider ones (a wrong CRS, a crafted
/// file) are left out of the computation and counted.
pub const MAX_ROOF_EXTENT: f64 = 1000.0;

/// Whether `rings` can be a roof: finite coordinates within [`MAX_ROOF_EXTENT`].
pub fn plausible(rings: &[Vec<Vec3>]) -> bool {
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    for p in rings.iter().flatten() {
        for k in 0..3 {
            if !p[k].is_finite() {
                return false;
            }
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    rings.first().is_some_and(|r| r.len() >= 4)
        && (0..3).all(|k| max[k] - min[k] <= MAX_ROOF_EXTENT)
}

/// The potential of the roof polygon `rings` (3D, metric, exterior first) in `scene`, whose
/// shading the sun `bins` sample, under `sky`; `best` is the in-plane irradiation of the best
/// unshaded orientation at the site (kWh/m²a).
pub fn potential(
    rings: &[Vec<Vec3>],
    scene: &Scene,
    sky: &Sky<'_>,
    bins: &SunBins,
    best: f64,
    s: &Settings,
) -> Option<Potential> {
    let frame = Frame::of(rings.first()?)?;
    let ring2 = |r: &Vec<Vec3>| {
        geo::LineString::from(r.iter().map(|p| frame.to_plane(*p)).collect::<Vec<_>>())
    };
    let polygon = geo::Polygon::new(ring2(&rings[0]), rings[1..].iter().map(ring2).collect());
    let area = polygon.unsigned_area();
    let usable = polygon.buffer(-s.setback);
    let usable_area = usable.unsigned_area();
    let tilt = frame.tilt();
    let flat = tilt < s.flat_below;
    let module_area = if flat {
        usable_area * s.gcr
    } else {
        usable_area
    };
    // Points on a grid over the usable area, each looking for the sun; a huge roof gets a
    // coarser grid rather than millions of points.
    let mut points = Vec::new();
    if let Some(rect) = geo::BoundingRect::bounding_rect(&usable) {
        let grid = s
            .grid
            .max((rect.width() * rect.height() / MAX_POINTS).sqrt());
        let mut y = rect.min().y + grid / 2.0;
        while y < rect.max().y {
            let mut x = rect.min().x + grid / 2.0;
            while x < rect.max().x {
                if usable.contains(&geo::Point::new(x, y)) {
                    points.push(frame.to_space((x, y), LIFT));
                }
                x += grid;
            }
            y += grid;
        }
    }
    let lit: Vec<f64> = bins
        .directions
        .iter()
        .map(|d| {
            if points.is_empty() {
                return 1.0;
            }
            let open = points
                .iter()
                .filter(|p| !scene.blocked(**p, *d, s.radius))
                .count();
            #[allow(clippy::cast_precision_loss)]
            let share = open as f64 / points.len() as f64;
            share
        })
        .collect();
    let plane = if flat {
        Plane {
            tilt: s.flat_tilt,
            azimuth: s.flat_azimuth,
        }
    } else {
        Plane {
            tilt,
            azimuth: frame.azimuth(),
        }
    };
    let year = sky.year(&plane, &s.model, |h| {
        bins.of_hour[h].map_or(1.0, |b| lit[b as usize])
    });
    let shading_pct = if year.irradiation > 0.0 {
        100.0 * (1.0 - year.shaded_irradiation / year.irradiation)
    } else {
        0.0
    };
    let kwp = module_area * s.kwp_per_m2;
    let yield_kwh = year.specific_yield * kwp;
    let ratio = if best > 0.0 {
        year.shaded_irradiation / best
    } else {
        0.0
    };
    let suitability = if module_area < s.min_area {
        "nicht geeignet"
    } else if ratio >= 0.95 {
        "sehr gut"
    } else if ratio >= 0.80 {
        "gut"
    } else if ratio >= 0.70 {
        "bedingt geeignet"
    } else {
        "nicht geeignet"
    };
    Some(Potential {
        tilt,
        azimuth: (!flat).then(|| frame.azimuth()),
        area,
        usable_area,
        module_area,
        irradiation: year.irradiation,
        shading_pct,
        kwp,
        yield_kwh,
        specific_yield: year.specific_yield,
        co2_kg: yield_kwh * s.co2_kg_per_kwh,
        suitability,
    })
}

/// The in-plane irradiation of the best orientation at the site, unshaded: tilts 0–70° in
/// steps of 5°, azimuths 90–270° in steps of 5°.
pub fn best_irradiation(sky: &Sky<'_>, params: &Params) -> f64 {
    let mut best = 0.0f64;
    for t in 0..=14 {
        for a in 0..=36 {
            let plane = Plane {
                tilt: f64::from(t) * 5.0,
                azimuth: 90.0 + f64::from(a) * 5.0,
            };
            best = best.max(sky.year(&plane, params, |_| 1.0).irradiation);
        }
    }
    best
}

/// A roof polygon of the roofs dataset: its building unit (a building or one of its parts),
/// its rings (3D, metric, exterior first) and the unit's measured height.
#[derive(Debug, Clone)]
pub struct RoofInput {
    pub building: String,
    pub unit: String,
    pub rings: Vec<Vec<Vec3>>,
    pub measured_height: Option<f64>,
}

/// The obstacles the roofs make: the roof polygons (open where they have holes), and walls
/// from every exterior roof edge down to the ground of its unit (the unit's highest roof point less its measured height; without a
/// height, down to its lowest roof point).
pub fn scene(roofs: &[RoofInput]) -> Scene {
    use std::collections::HashMap;
    let mut top: HashMap<&str, (f64, f64)> = HashMap::new();
    for r in roofs {
        let e = top
            .entry(r.unit.as_str())
            .or_insert((f64::NEG_INFINITY, f64::INFINITY));
        for p in r.rings.iter().flatten() {
            e.0 = e.0.max(p[2]);
            e.1 = e.1.min(p[2]);
        }
    }
    let mut scene = super::shading::SceneBuilder::default();
    for r in roofs {
        scene.polygon(&r.rings);
        let (highest, lowest) = top[r.unit.as_str()];
        let ground = r.measured_height.map_or(lowest, |h| highest - h);
        let Some(exterior) = r.rings.first() else {
            continue;
        };
        for w in exterior.windows(2) {
            let (a, b) = (w[0], w[1]);
            if a[2] - ground < 0.01 && b[2] - ground < 0.01 {
                continue;
            }
            let (a0, b0) = ([a[0], a[1], ground], [b[0], b[1], ground]);
            scene.triangle([a, b, b0]);
            scene.triangle([a, b0, a0]);
        }
    }
    scene.build()
}
