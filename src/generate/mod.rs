//! Deterministic synthetic county data for tests and benchmarks: parcels, solar roofs and AEDs
//! inside the real boundary of Landkreis Lüneburg (AGS 03355, from BKG VG5000, EPSG:25832).
//!
//! The same kind, count and seed always give the same features, byte for byte, on any machine:
//! the random numbers come from a fixed SplitMix64, not from a library whose algorithm may change.

mod output;
mod rng;

use geo::{Area, BoundingRect, Contains, Coord, LineString, MultiPolygon, Point, Polygon};

use crate::value::Value;
pub use output::{write_fgb, write_geojson, OutputFormat};
use rng::SplitMix64;

/// EPSG code of the generated coordinates (ETRS89 / UTM 32N, as Niedersachsen publishes).
pub const SRID: i32 = 25832;

/// The county boundary (BKG VG5000, © GeoBasis-DE / BKG 2021, dl-de/by-2.0).
const BOUNDARY_GEOJSON: &str = include_str!("../../fixtures/lueneburg_boundary_25832.geojson");

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenKind {
    Parcels,
    Solar,
    Aed,
}

impl GenKind {
    /// Property names and types, in output order (FlatGeobuf needs them up front).
    pub fn schema(self) -> &'static [(&'static str, FieldType)] {
        use FieldType::{Float, Int, Text};
        match self {
            Self::Parcels => &[
                ("flurstueckskennzeichen", Text),
                ("land", Text),
                ("gemarkung", Text),
                ("flur", Int),
                ("zaehler", Int),
                ("nenner", Int),
                ("amtlicheflaeche", Int),
                ("kreis", Text),
            ],
            Self::Solar => &[
                ("building_id", Text),
                ("suitability", Text),
                ("roof_area_m2", Float),
                ("usable_area_m2", Float),
                ("module_area_m2", Float),
                ("kwp", Float),
                ("yield_kwh_a", Float),
                ("co2_saving_kg_a", Float),
                ("tilt_deg", Float),
                ("azimuth_deg", Float),
            ],
            Self::Aed => &[
                ("osm_id", Int),
                ("emergency", Text),
                ("access", Text),
                ("indoor", Text),
                ("level", Text),
                ("opening_hours", Text),
                ("defibrillator:location", Text),
                ("operator", Text),
                ("phone", Text),
            ],
        }
    }
}

/// Type of a generated property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Int,
    Float,
    Text,
}

/// One generated feature: values in schema order (`None` = null) and a geometry in EPSG:25832.
#[derive(Debug, Clone)]
pub struct GenFeature {
    pub values: Vec<Option<Value>>,
    pub geometry: geo::Geometry<f64>,
}

/// The county boundary in EPSG:25832.
pub fn boundary() -> MultiPolygon<f64> {
    let doc: serde_json::Value = serde_json::from_str(BOUNDARY_GEOJSON).unwrap_or_default();
    let coords = doc
        .pointer("/features/0/geometry/coordinates")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let ring = |r: &serde_json::Value| -> LineString<f64> {
        r.as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some(Coord {
                    x: p.get(0)?.as_f64()?,
                    y: p.get(1)?.as_f64()?,
                })
            })
            .collect()
    };
    MultiPolygon(
        coords
            .iter()
            .filter_map(|poly| {
                let rings = poly.as_array()?;
                let (outer, inner) = rings.split_first()?;
                Some(Polygon::new(ring(outer), inner.iter().map(ring).collect()))
            })
            .collect(),
    )
}

/// Generates `count` features of `kind` from `seed`, in a stable order.
pub fn generate(kind: GenKind, count: usize, seed: u64) -> Vec<GenFeature> {
    let area = boundary();
    match kind {
        GenKind::Parcels => parcels(&area, count, seed),
        GenKind::Solar => scatter(&area, count, seed, solar_roof),
        GenKind::Aed => scatter(&area, count, seed, aed),
    }
}

/// Typical edge of a generated parcel in metres.
const PARCEL_EDGE_M: f64 = 40.0;

/// Centre of the Hansestadt Lüneburg (Am Sande) in EPSG:25832; parcels fill outward from here.
const TOWN_CENTRE: Coord<f64> = Coord {
    x: 594_180.0,
    y: 5_900_870.0,
};

/// A jittered grid of parcels around the town centre, clipped to the county: neighbours share
/// corners, so parcels tile the plane without gaps or overlaps and every quadrilateral is valid.
/// Parcels keep a realistic size until the county is full, then shrink.
fn parcels(area: &MultiPolygon<f64>, count: usize, seed: u64) -> Vec<GenFeature> {
    let Some(rect) = area.bounding_rect() else {
        return Vec::new();
    };
    let mut cell = ((area.unsigned_area() / count.max(1) as f64).sqrt() * 0.97).min(PARCEL_EDGE_M);
    loop {
        let cols = ((rect.width() / cell).ceil() as i64).max(1);
        let rows = ((rect.height() / cell).ceil() as i64).max(1);
        let ci = ((TOWN_CENTRE.y - rect.min().y) / cell) as i64;
        let cj = ((TOWN_CENTRE.x - rect.min().x) / cell) as i64;
        let mut cells: Vec<(i64, i64)> = (0..rows)
            .flat_map(|i| (0..cols).map(move |j| (i, j)))
            .collect();
        cells.sort_by_key(|&(i, j)| ((i - ci).pow(2) + (j - cj).pow(2), i, j));
        let corner = |i: i64, j: i64| {
            let mut r = SplitMix64::new(seed ^ ((i as u64) << 32) ^ (j as u64) ^ 0x5eed);
            Coord {
                x: rect.min().x + (j as f64 + r.range(-0.25, 0.25)) * cell,
                y: rect.min().y + (i as f64 + r.range(-0.25, 0.25)) * cell,
            }
        };
        let mut out = Vec::with_capacity(count);
        for (i, j) in cells {
            let center = Point::new(
                rect.min().x + (j as f64 + 0.5) * cell,
                rect.min().y + (i as f64 + 0.5) * cell,
            );
            if !area.contains(&center) {
                continue;
            }
            let ring = LineString::from(vec![
                corner(i, j),
                corner(i, j + 1),
                corner(i + 1, j + 1),
                corner(i + 1, j),
                corner(i, j),
            ]);
            let mut r = SplitMix64::new(seed ^ 0xA5A5 ^ ((i as u64) << 24) ^ (j as u64));
            out.push(parcel_attributes(i, j, Polygon::new(ring, vec![]), &mut r));
            if out.len() == count {
                return out;
            }
        }
        cell *= 0.95;
    }
}

fn parcel_attributes(i: i64, j: i64, polygon: Polygon<f64>, r: &mut SplitMix64) -> GenFeature {
    // 64 × 64 cells make a Flur, 8 × 8 Fluren a Gemarkung.
    let (bi, bj) = (i / 64, j / 64);
    let gemarkung = 2400 + (bi / 8) * 40 + (bj / 8);
    let flur = 1 + (bi % 8) * 8 + (bj % 8);
    let zaehler = 1 + (i % 64) * 64 + (j % 64);
    let nenner = r
        .next_u64()
        .is_multiple_of(4)
        .then(|| 1 + (r.next_u64() % 20) as i64);
    let key = format!(
        "03{gemarkung:04}{flur:03}{zaehler:05}{}__",
        nenner.map_or_else(|| "____".to_string(), |n| format!("{n:04}"))
    );
    let area = polygon.unsigned_area().round() as i64;
    GenFeature {
        values: vec![
            Some(Value::Text(key)),
            Some(Value::Text("03".into())),
            Some(Value::Text(format!("{gemarkung:04}"))),
            Some(Value::Int(flur)),
            Some(Value::Int(zaehler)),
            nenner.map(Value::Int),
            Some(Value::Int(area)),
            Some(Value::Text("03355".into())),
        ],
        geometry: polygon.into(),
    }
}

/// Places `count` features at random points inside the county.
fn scatter(
    area: &MultiPolygon<f64>,
    count: usize,
    seed: u64,
    make: fn(usize, Coord<f64>, &mut SplitMix64) -> GenFeature,
) -> Vec<GenFeature> {
    let Some(rect) = area.bounding_rect() else {
        return Vec::new();
    };
    let mut r = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let c = Coord {
            x: r.range(rect.min().x, rect.max().x),
            y: r.range(rect.min().y, rect.max().y),
        };
        if area.contains(&Point(c)) {
            out.push(make(out.len(), c, &mut r));
        }
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn solar_roof(n: usize, c: Coord<f64>, r: &mut SplitMix64) -> GenFeature {
    let (w, h) = (r.range(8.0, 20.0), r.range(6.0, 14.0));
    let angle = r.range(0.0, std::f64::consts::FRAC_PI_2);
    let (s, co) = angle.sin_cos();
    let corner = |dx: f64, dy: f64| Coord {
        x: round2(c.x + dx * co - dy * s),
        y: round2(c.y + dx * s + dy * co),
    };
    let ring = vec![
        corner(-w / 2.0, -h / 2.0),
        corner(w / 2.0, -h / 2.0),
        corner(w / 2.0, h / 2.0),
        corner(-w / 2.0, h / 2.0),
        corner(-w / 2.0, -h / 2.0),
    ];
    let roof = w * h;
    let tilt = r.range(0.0, 50.0);
    let azimuth = r.range(0.0, 360.0);
    // South-facing (180°) roofs at 30–35° tilt yield most; north-facing least.
    let facing = f64::midpoint(1.0, (azimuth.to_radians() - std::f64::consts::PI).cos());
    let specific = 650.0 + 350.0 * (1.0 - facing) * (1.0 - ((tilt - 32.0) / 60.0).abs());
    let usable = roof * r.range(0.55, 0.8);
    let module = usable * 0.9;
    let kwp = module / 5.5;
    let yield_kwh = kwp * specific;
    let suitability = match specific {
        s if s >= 900.0 => "sehr gut",
        s if s >= 800.0 => "gut",
        s if s >= 700.0 => "bedingt geeignet",
        _ => "nicht geeignet",
    };
    GenFeature {
        values: vec![
            Some(Value::Text(format!("DENILG{:010}", 1_000_000 + n))),
            Some(Value::Text(suitability.into())),
            Some(Value::Float(round2(roof))),
            Some(Value::Float(round2(usable))),
            Some(Value::Float(round2(module))),
            Some(Value::Float(round2(kwp))),
            Some(Value::Float(yield_kwh.round())),
            Some(Value::Float((yield_kwh * 0.38).round())),
            Some(Value::Float(round2(tilt))),
            Some(Value::Float(round2(azimuth))),
        ],
        geometry: Polygon::new(LineString::from(ring), vec![]).into(),
    }
}

fn aed(n: usize, c: Coord<f64>, r: &mut SplitMix64) -> GenFeature {
    const ACCESS: [&str; 6] = ["yes", "yes", "yes", "permissive", "customers", "private"];
    const HOURS: [&str; 5] = [
        "24/7",
        "24/7",
        "Mo-Fr 08:00-18:00",
        "Mo-Sa 07:00-20:00; Su off",
        "Mo-Fr 09:00-17:00; PH off",
    ];
    const PLACES: [&str; 5] = [
        "Im Eingangsbereich links",
        "Außen an der Hauswand neben der Tür",
        "Foyer, gegenüber dem Empfang",
        "Sporthalle, Geräteraum",
        "Neben dem Aufzug im Erdgeschoss",
    ];
    const OPERATORS: [&str; 4] = [
        "Landkreis Lüneburg",
        "Hansestadt Lüneburg",
        "DRK Kreisverband Lüneburg",
        "Sparkasse Lüneburg",
    ];
    let pick = |r: &mut SplitMix64, n: usize| (r.next_u64() % n as u64) as usize;
    let indoor = !r.next_u64().is_multiple_of(3);
    let legacy = r.next_u64().is_multiple_of(20);
    GenFeature {
        values: vec![
            Some(Value::Int(9_000_000_000 + n as i64)),
            Some(Value::Text(
                if legacy { "aed" } else { "defibrillator" }.into(),
            )),
            Some(Value::Text(ACCESS[pick(r, ACCESS.len())].into())),
            Some(Value::Text(if indoor { "yes" } else { "no" }.into())),
            indoor.then(|| Value::Text((r.next_u64() % 3).to_string())),
            Some(Value::Text(HOURS[pick(r, HOURS.len())].into())),
            Some(Value::Text(PLACES[pick(r, PLACES.len())].into())),
            Some(Value::Text(OPERATORS[pick(r, OPERATORS.len())].into())),
            Some(Value::Text(format!(
                "+49 4131 {:06}",
                r.next_u64() % 1_000_000
            ))),
        ],
        geometry: Point(Coord {
            x: round2(c.x),
            y: round2(c.y),
        })
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_lueneburg() {
        let b = boundary();
        // Landkreis Lüneburg covers about 1,328 km²; VG5000 is generalised.
        let km2 = b.unsigned_area() / 1e6;
        assert!((1200.0..1450.0).contains(&km2), "{km2}");
    }

    #[test]
    fn parcels_have_valid_unique_keys() {
        let parcels = generate(GenKind::Parcels, 2000, 7);
        assert_eq!(parcels.len(), 2000);
        let mut keys = std::collections::HashSet::new();
        for p in &parcels {
            let Some(Value::Text(key)) = &p.values[0] else {
                panic!("no key")
            };
            assert_eq!(key.len(), 20, "{key}");
            assert!(key.starts_with("03"));
            assert!(key[2..14].chars().all(|c| c.is_ascii_digit()), "{key}");
            assert!(key.ends_with("__"));
            assert!(keys.insert(key.clone()), "duplicate {key}");
            assert!(matches!(p.geometry, geo::Geometry::Polygon(_)));
        }
    }

    #[test]
    fn deterministic() {
        for kind in [GenKind::Parcels, GenKind::Solar, GenKind::Aed] {
            let a = generate(kind, 50, 42);
            let b = generate(kind, 50, 42);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            let c = generate(kind, 50, 43);
            assert_ne!(format!("{a:?}"), format!("{c:?}"));
        }
    }

    #[test]
    fn parcels_start_in_town_with_realistic_size() {
        let area = boundary();
        assert!(area.contains(&Point(TOWN_CENTRE)));
        let parcels = generate(GenKind::Parcels, 100, 1);
        for p in &parcels {
            let geo::Geometry::Polygon(poly) = &p.geometry else {
                panic!()
            };
            let m2 = poly.unsigned_area();
            assert!((400.0..3000.0).contains(&m2), "{m2}");
            let c = geo::Centroid::centroid(poly).expect("centroid");
            assert!(geo::Distance::distance(&geo::Euclidean, c, Point(TOWN_CENTRE)) < 1000.0);
        }
    }

    #[test]
    fn points_lie_inside_the_county() {
        let area = boundary();
        for f in generate(GenKind::Aed, 100, 1) {
            let geo::Geometry::Point(p) = f.geometry else {
                panic!()
            };
            assert!(area.contains(&p));
        }
    }
}
