//! CityGML 1.0 and 2.0 buildings (LoD2, as every Land publishes them): one feature per
//! building with its footprint, or one feature per roof polygon with its area, tilt and
//! azimuth. A BuildingPart keeps its own attributes and takes the building's where it has
//! none; the geometry of a building is in its boundary surfaces (the LoD2 solid only points
//! at them by `xlink:href`, so it is not read twice).

use super::geometry::{Geom, GeomError, Reader};
use super::properties::Leaf;
use super::xml::{Element, Ns};
use crate::ingest::formats::gml::arc::Pos;

/// What a building becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One feature per building, its footprint in 2D.
    Buildings,
    /// One feature per roof polygon, in 3D.
    Roofs,
}

/// One feature made from a building.
pub struct Record {
    pub attrs: Vec<(String, Vec<Leaf>)>,
    pub geometry: Option<(Geom, bool)>,
}

/// Attributes a building or a building part states itself.
#[derive(Debug, Default, Clone)]
struct Stated {
    function: Option<String>,
    usage: Option<String>,
    roof_type: Option<String>,
    measured_height: Option<f64>,
    storeys_above_ground: Option<String>,
    storeys_below_ground: Option<String>,
    year_of_construction: Option<String>,
    name: Option<String>,
    creation_date: Option<String>,
    /// `gen:*Attribute`s by name.
    generic: Vec<(String, String)>,
    addresses: Vec<Address>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Address {
    street: Option<String>,
    house_number: Option<String>,
    postcode: Option<String>,
    locality: Option<String>,
    country: Option<String>,
}

impl Stated {
    fn of(unit: &Element) -> Self {
        let mut s = Self::default();
        for c in &unit.children {
            let text = || Some(c.text.clone()).filter(|t| !t.is_empty());
            match (&c.ns, c.name.as_str()) {
                (Ns::CityBuilding, "function") => s.function = s.function.take().or_else(text),
                (Ns::CityBuilding, "usage") => s.usage = s.usage.take().or_else(text),
                (Ns::CityBuilding, "roofType") => s.roof_type = text(),
                (Ns::CityBuilding, "measuredHeight") => {
                    s.measured_height = c.text.trim().parse().ok();
                }
                (Ns::CityBuilding, "storeysAboveGround") => s.storeys_above_ground = text(),
                (Ns::CityBuilding, "storeysBelowGround") => s.storeys_below_ground = text(),
                (Ns::CityBuilding, "yearOfConstruction") => s.year_of_construction = text(),
                (Ns::Gml, "name") => s.name = text(),
                (Ns::CityCore, "creationDate") => s.creation_date = text(),
                (Ns::CityGeneric, kind) if kind.ends_with("Attribute") => {
                    if let (Some(name), Some(value)) = (
                        c.attr(&Ns::None, "name"),
                        c.children.iter().find(|v| v.name == "value"),
                    ) {
                        s.generic.push((name.to_string(), value.text.clone()));
                    }
                }
                (Ns::CityBuilding, "address") => {
                    let address = Address::of(c);
                    if !s.addresses.contains(&address) {
                        s.addresses.push(address);
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// This part's attributes, the building's where the part states none.
    fn inherit(mut self, building: &Self) -> Self {
        let or = |a: &mut Option<String>, b: &Option<String>| {
            if a.is_none() {
                a.clone_from(b);
            }
        };
        or(&mut self.function, &building.function);
        or(&mut self.usage, &building.usage);
        or(&mut self.roof_type, &building.roof_type);
        or(
            &mut self.storeys_above_ground,
            &building.storeys_above_ground,
        );
        or(
            &mut self.storeys_below_ground,
            &building.storeys_below_ground,
        );
        or(
            &mut self.year_of_construction,
            &building.year_of_construction,
        );
        or(&mut self.name, &building.name);
        or(&mut self.creation_date, &building.creation_date);
        if self.measured_height.is_none() {
            self.measured_height = building.measured_height;
        }
        for (name, value) in &building.generic {
            if !self.generic.iter().any(|(n, _)| n == name) {
                self.generic.push((name.clone(), value.clone()));
            }
        }
        if self.addresses.is_empty() {
            self.addresses.clone_from(&building.addresses);
        }
        self
    }

    fn attrs(&self, out: &mut Vec<(String, Vec<Leaf>)>) {
        let mut code = |name: &str, v: &Option<String>| {
            out.push((name.into(), vec![v.clone().map_or(Leaf::Null, Leaf::Code)]));
        };
        code("function", &self.function);
        code("usage", &self.usage);
        code("roof_type", &self.roof_type);
        code("storeys_above_ground", &self.storeys_above_ground);
        code("storeys_below_ground", &self.storeys_below_ground);
        code("year_of_construction", &self.year_of_construction);
        code("name", &self.name);
        code("creation_date", &self.creation_date);
        let address = self.addresses.first().cloned().unwrap_or_default();
        code("street", &address.street);
        code("house_number", &address.house_number);
        code("postcode", &address.postcode);
        code("locality", &address.locality);
        code("country", &address.country);
        out.push(("measured_height".into(), vec![float(self.measured_height)]));
        for (name, value) in &self.generic {
            out.push((generic_name(name), vec![Leaf::Code(value.clone())]));
        }
    }
}

/// A generic attribute's column: its name in lower case with `_` between words, as the
/// other columns (`Gemeindeschluessel` → `gemeindeschluessel`).
fn generic_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn float(v: Option<f64>) -> Leaf {
    v.filter(|v| v.is_finite())
        .map_or(Leaf::Null, |v| Leaf::Text(format!("{v:?}")))
}

impl Address {
    /// `Street 6, 46483 Wesel`, as one line.
    fn line(&self) -> String {
        let street = [self.street.as_deref(), self.house_number.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let place = [self.postcode.as_deref(), self.locality.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        [street, place]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An xAL address (`core:Address/core:xalAddress/xAL:AddressDetails/…`).
    fn of(property: &Element) -> Self {
        let find = |name: &str| {
            property
                .descendants()
                .into_iter()
                .find(|e| e.ns == Ns::Xal && e.name == name)
                .map(|e| e.text.clone())
                .filter(|t| !t.is_empty())
        };
        Self {
            street: find("ThoroughfareName"),
            house_number: find("ThoroughfareNumber"),
            postcode: find("PostalCodeNumber"),
            locality: find("LocalityName"),
            country: find("CountryName"),
        }
    }
}

/// The building and its parts, each with its attributes.
fn units(building: &Element) -> Vec<(&Element, Option<&Element>, Stated)> {
    let own = Stated::of(building);
    let mut out = vec![(building, None, own.clone())];
    for consists in building.children_named(&Ns::CityBuilding, "consistsOfBuildingPart") {
        for part in consists.children_named(&Ns::CityBuilding, "BuildingPart") {
            out.push((part, Some(part), Stated::of(part).inherit(&own)));
        }
    }
    out
}

/// A polygon of a boundary surface: the surface's `gml:id`, the polygon's, its rings.
type SurfacePolygon<'a> = (Option<&'a str>, Option<&'a str>, Vec<Vec<Pos>>);

/// The polygons of the boundary surfaces named `surface` of one unit (the building or a part),
/// each with its `gml:id` and its surface's.
fn surfaces<'a>(
    unit: &'a Element,
    surface: &str,
    reader: &mut Reader<'a>,
) -> Result<Vec<SurfacePolygon<'a>>, GeomError> {
    let mut out = Vec::new();
    for bounded in unit.children_named(&Ns::CityBuilding, "boundedBy") {
        for s in bounded.children.iter().filter(|s| s.name == surface) {
            for lod in s
                .children
                .iter()
                .filter(|g| g.name.starts_with("lod") && g.name.ends_with("MultiSurface"))
            {
                let Some(multi) = lod.children.first() else {
                    continue;
                };
                for polygon in reader.members(multi)? {
                    let mut polygons = Vec::new();
                    reader.polygons_of(polygon, &mut polygons)?;
                    for rings in polygons {
                        out.push((s.gml_id(), polygon.gml_id(), rings));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The features `building` becomes.
pub fn records<'a>(
    building: &'a Element,
    output: Output,
    reader: &mut Reader<'a>,
) -> Result<Vec<Record>, GeomError> {
    let id = building.gml_id().map(str::to_string);
    let units = units(building);
    match output {
        Output::Roofs => {
            let mut out = Vec::new();
            for (unit, part, stated) in &units {
                for (surface_id, polygon_id, rings) in surfaces(unit, "RoofSurface", reader)? {
                    let m = RoofMetrics::of(&rings);
                    let mut attrs = vec![
                        (
                            "building_id".into(),
                            vec![id.clone().map_or(Leaf::Null, Leaf::Code)],
                        ),
                        (
                            "part_id".into(),
                            vec![part
                                .and_then(|p| p.gml_id())
                                .map_or(Leaf::Null, |p| Leaf::Code(p.into()))],
                        ),
                        (
                            "roof_surface_id".into(),
                            vec![surface_id.map_or(Leaf::Null, |s| Leaf::Code(s.into()))],
                        ),
                        (
                            "polygon_id".into(),
                            vec![polygon_id.map_or(Leaf::Null, |s| Leaf::Code(s.into()))],
                        ),
                    ];
                    stated.attrs(&mut attrs);
                    attrs.push(("area_3d".into(), vec![float(Some(m.area_3d))]));
                    attrs.push(("footprint_area".into(), vec![float(Some(m.footprint_area))]));
                    attrs.push(("tilt".into(), vec![float(Some(m.tilt))]));
                    attrs.push(("azimuth".into(), vec![float(m.azimuth)]));
                    out.push(Record {
                        attrs,
                        geometry: Some((Geom::Polygon(rings), true)),
                    });
                }
            }
            Ok(out)
        }
        Output::Buildings => {
            let mut ground = Vec::new();
            let mut roofs = Vec::new();
            for (unit, _, _) in &units {
                ground.extend(surfaces(unit, "GroundSurface", reader)?);
                roofs.extend(surfaces(unit, "RoofSurface", reader)?);
            }
            let roof_area: f64 = roofs
                .iter()
                .map(|(_, _, r)| RoofMetrics::of(r).area_3d)
                .sum();
            let heights = units.iter().filter_map(|(_, _, s)| s.measured_height);
            let height = heights.fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.max(h))));
            let (_, _, own) = &units[0];
            let mut stated = own.clone();
            stated.measured_height = height;
            // A building without parts states its roof type; with parts, the first part's.
            if stated.roof_type.is_none() {
                stated.roof_type = units.iter().find_map(|(_, _, s)| s.roof_type.clone());
            }
            // Every address of the building and its parts, once.
            let mut addresses: Vec<Address> = Vec::new();
            for (_, _, s) in &units {
                for a in &s.addresses {
                    if !addresses.contains(a) {
                        addresses.push(a.clone());
                    }
                }
            }
            let mut attrs = Vec::new();
            stated.attrs(&mut attrs);
            attrs.push((
                "addresses".into(),
                vec![Leaf::Json(
                    serde_json::Value::from(
                        addresses.iter().map(Address::line).collect::<Vec<_>>(),
                    )
                    .to_string(),
                )],
            ));
            let count = |n: usize| Leaf::Text(n.to_string());
            attrs.push(("parts".into(), vec![count(units.len() - 1)]));
            attrs.push(("roof_polygons".into(), vec![count(roofs.len())]));
            attrs.push(("roof_area".into(), vec![float(Some(roof_area))]));
            // The footprint: the ground surfaces, else the roofs seen from above; the parts'
            // joined into one outline.
            let from = if ground.is_empty() { roofs } else { ground };
            let footprint = footprint(from.into_iter().map(|(_, _, rings)| rings));
            let geometry =
                (!footprint.is_empty()).then_some((Geom::MultiPolygon(footprint), false));
            Ok(vec![Record { attrs, geometry }])
        }
    }
}

/// The outline of `polygons` seen from above: their union in 2D, so that the ground surfaces
/// of a building's parts, which share edges, make one valid (multi)polygon.
fn footprint(polygons: impl Iterator<Item = Vec<Vec<Pos>>>) -> Vec<Vec<Vec<Pos>>> {
    use geo::orient::{Direction, Orient};
    let ring = |r: Vec<Pos>| {
        geo::LineString::from(r.into_iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())
    };
    let flat: Vec<geo::Polygon<f64>> = polygons
        .filter_map(|mut rings| {
            if rings.is_empty() {
                return None;
            }
            let exterior = ring(rings.remove(0));
            let interiors = rings.into_iter().map(ring).collect();
            // One winding for all: a part written the other way round must add, not cut.
            Some(geo::Polygon::new(exterior, interiors).orient(Direction::Default))
        })
        .collect();
    let union = geo::unary_union(&flat);
    union
        .0
        .into_iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|r| r.0.iter().map(|c| [c.x, c.y, f64::NAN]).collect())
                .collect()
        })
        .collect()
}

/// Area, tilt and orientation of a planar 3D polygon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoofMetrics {
    /// Area in the polygon's plane, holes subtracted (m²).
    pub area_3d: f64,
    /// Area seen from above (m²).
    pub footprint_area: f64,
    /// Degrees from the horizontal: 0 flat, 90 vertical.
    pub tilt: f64,
    /// Degrees clockwise from north of the way the roof faces (the horizontal part of its
    /// upward normal); `None` for a flat roof.
    pub azimuth: Option<f64>,
}

/// Below this tilt (degrees) a roof faces no direction.
const FLAT: f64 = 1e-6;

impl RoofMetrics {
    pub fn of(rings: &[Vec<Pos>]) -> Self {
        let normal = |ring: &[Pos]| -> [f64; 3] {
            // Newell's method, relative to the first vertex for precision in UTM metres.
            let Some(o) = ring.first() else {
                return [0.0; 3];
            };
            let z = |p: &Pos| if p[2].is_nan() { 0.0 } else { p[2] - o[2] };
            let mut n = [0.0; 3];
            for w in ring.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let (ax, ay, az) = (a[0] - o[0], a[1] - o[1], z(a));
                let (bx, by, bz) = (b[0] - o[0], b[1] - o[1], z(b));
                n[0] += (ay - by) * (az + bz);
                n[1] += (az - bz) * (ax + bx);
                n[2] += (ax - bx) * (ay + by);
            }
            n
        };
        let len = |n: [f64; 3]| (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        let Some((exterior, holes)) = rings.split_first() else {
            return Self {
                area_3d: 0.0,
                footprint_area: 0.0,
                tilt: 0.0,
                azimuth: None,
            };
        };
        let mut n = normal(exterior);
        let area_3d = len(n) / 2.0 - holes.iter().map(|h| len(normal(h)) / 2.0).sum::<f64>();
        let footprint_area =
            n[2].abs() / 2.0 - holes.iter().map(|h| normal(h)[2].abs() / 2.0).sum::<f64>();
        // Upward, whatever the ring's winding.
        if n[2] < 0.0 {
            n = [-n[0], -n[1], -n[2]];
        }
        let tilt = (n[2] / len(n)).clamp(-1.0, 1.0).acos().to_degrees();
        let azimuth = (tilt > FLAT).then(|| n[0].atan2(n[1]).to_degrees().rem_euclid(360.0));
        Self {
            area_3d,
            footprint_area,
            tilt: if tilt.is_finite() { tilt } else { 0.0 },
            azimuth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roof_facing_south_at_30_degrees() {
        // A 10 m × 10 m (horizontal) plane rising to the north: it faces south.
        let rise = 10.0 * 30f64.to_radians().tan();
        let ring = vec![
            [0.0, 0.0, 0.0],
            [10.0, 0.0, 0.0],
            [10.0, 10.0, rise],
            [0.0, 10.0, rise],
            [0.0, 0.0, 0.0],
        ];
        for ring in [ring.clone(), ring.into_iter().rev().collect()] {
            let m = RoofMetrics::of(&[ring]);
            assert!((m.tilt - 30.0).abs() < 1e-9, "{m:?}");
            assert!((m.azimuth.unwrap() - 180.0).abs() < 1e-9, "{m:?}");
            assert!((m.footprint_area - 100.0).abs() < 1e-9);
            assert!((m.area_3d - 100.0 / 30f64.to_radians().cos()).abs() < 1e-9);
        }
        let flat = RoofMetrics::of(&[vec![
            [0.0, 0.0, 5.0],
            [1.0, 0.0, 5.0],
            [1.0, 1.0, 5.0],
            [0.0, 0.0, 5.0],
        ]]);
        assert_eq!(flat.azimuth, None);
        assert_eq!(generic_name("Gemeindeschluessel"), "gemeindeschluessel");
        assert_eq!(
            generic_name("DatenquelleDachhoehe"),
            "datenquelle_dachhoehe"
        );
    }
}
