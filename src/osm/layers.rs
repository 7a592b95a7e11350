//! Which basemap layer an OSM element belongs to, and with which class: the OpenMapTiles idea
//! (a few layers, a `class` the style colours by, the OSM value as `subclass`), cut down to what
//! a county's citizen map draws.

use super::tags::Tags;

/// A basemap layer: a value of the `layer` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Road,
    Railway,
    Water,
    Waterway,
    Landuse,
    Building,
    Place,
    Boundary,
    Address,
}

impl Layer {
    pub const ALL: [Layer; 9] = [
        Layer::Road,
        Layer::Railway,
        Layer::Water,
        Layer::Waterway,
        Layer::Landuse,
        Layer::Building,
        Layer::Place,
        Layer::Boundary,
        Layer::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Road => "road",
            Layer::Railway => "railway",
            Layer::Water => "water",
            Layer::Waterway => "waterway",
            Layer::Landuse => "landuse",
            Layer::Building => "building",
            Layer::Place => "place",
            Layer::Boundary => "boundary",
            Layer::Address => "address",
        }
    }
}

/// An element's place in a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub layer: Layer,
    pub class: String,
    /// The OSM value the class was derived from (`residential` for class `minor`).
    pub subclass: Option<String>,
    /// Drawn as an area (a polygon), not as a line.
    pub area: bool,
}

impl Mapping {
    fn line(layer: Layer, class: &str, subclass: Option<&str>) -> Self {
        Self {
            layer,
            class: class.into(),
            subclass: subclass.map(Into::into),
            area: false,
        }
    }

    fn area(layer: Layer, class: &str, subclass: Option<&str>) -> Self {
        Self {
            area: true,
            ..Self::line(layer, class, subclass)
        }
    }
}

/// The road class of a `highway` value; `None` for what is no road (bus stops, construction).
pub fn road_class(highway: &str) -> Option<&'static str> {
    Some(match highway {
        "motorway" | "motorway_link" => "motorway",
        "trunk" | "trunk_link" => "trunk",
        "primary" | "primary_link" => "primary",
        "secondary" | "secondary_link" => "secondary",
        "tertiary" | "tertiary_link" => "tertiary",
        "unclassified" | "residential" | "living_street" | "road" => "minor",
        "service" => "service",
        "track" => "track",
        "pedestrian" => "pedestrian",
        "footway" | "path" | "cycleway" | "bridleway" | "steps" | "corridor" => "path",
        _ => return None,
    })
}

const RAILWAYS: &[&str] = &[
    "rail",
    "light_rail",
    "subway",
    "tram",
    "narrow_gauge",
    "monorail",
    "funicular",
    "preserved",
];
const WATERWAYS: &[&str] = &["river", "stream", "canal", "ditch", "drain"];
const NATURAL_COVER: &[&str] = &[
    "wood",
    "scrub",
    "heath",
    "grassland",
    "wetland",
    "sand",
    "beach",
    "bare_rock",
    "scree",
];
const LEISURE: &[&str] = &[
    "park",
    "garden",
    "pitch",
    "playground",
    "sports_centre",
    "golf_course",
    "nature_reserve",
    "stadium",
    "track",
    "swimming_pool",
];
const AMENITY_AREAS: &[&str] = &[
    "school",
    "university",
    "college",
    "kindergarten",
    "hospital",
    "parking",
    "grave_yard",
];
const PLACES: &[&str] = &[
    "city",
    "town",
    "village",
    "borough",
    "suburb",
    "quarter",
    "hamlet",
    "neighbourhood",
    "isolated_dwelling",
    "locality",
];

/// The zoom rank of a place (1 = city … 7 = a single farm), for label priority and thinning.
pub fn place_rank(place: &str) -> Option<i64> {
    Some(match place {
        "city" => 1,
        "town" => 2,
        "village" | "borough" => 3,
        "suburb" => 4,
        "hamlet" | "quarter" => 5,
        "neighbourhood" => 6,
        "isolated_dwelling" | "locality" => 7,
        _ => return None,
    })
}

/// What a way is drawn as. A closed way is an area when its tags say so (a building, a
/// landuse, `area=yes`); a closed highway without `area=yes` stays a line (a roundabout).
pub fn for_way(tags: &Tags, closed: bool) -> Vec<Mapping> {
    let mut out = lines(tags);
    if closed && !tags.is("area", &["no"]) {
        out.extend(areas(tags));
    }
    out
}

/// What a multipolygon or boundary relation is drawn as.
pub fn for_relation(tags: &Tags) -> Vec<Mapping> {
    match tags.get("type") {
        Some("multipolygon") => areas(tags),
        Some("boundary") => boundary(tags).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// What a tagged node is drawn as (a place label).
pub fn for_node(tags: &Tags) -> Option<Mapping> {
    let place = tags.get("place").filter(|p| PLACES.contains(p))?;
    tags.get("name")?;
    Some(Mapping::line(Layer::Place, place, None))
}

fn lines(tags: &Tags) -> Vec<Mapping> {
    let mut out = Vec::new();
    if let Some(highway) = tags.get("highway") {
        if let Some(class) = road_class(highway) {
            if !tags.yes("area") {
                out.push(Mapping::line(Layer::Road, class, Some(highway)));
            }
        }
    }
    if let Some(railway) = tags.get("railway").filter(|r| RAILWAYS.contains(r)) {
        out.push(Mapping::line(Layer::Railway, railway, tags.get("service")));
    }
    if let Some(waterway) = tags.get("waterway").filter(|w| WATERWAYS.contains(w)) {
        out.push(Mapping::line(Layer::Waterway, waterway, None));
    }
    out
}

fn areas(tags: &Tags) -> Vec<Mapping> {
    let mut out = Vec::new();
    if let Some(water) = water_class(tags) {
        out.push(Mapping::area(Layer::Water, water, None));
    } else if let Some(landuse) = tags.get("landuse") {
        out.push(Mapping::area(Layer::Landuse, landuse, Some("landuse")));
    } else if let Some(natural) = tags.get("natural").filter(|n| NATURAL_COVER.contains(n)) {
        out.push(Mapping::area(Layer::Landuse, natural, Some("natural")));
    } else if let Some(leisure) = tags.get("leisure").filter(|l| LEISURE.contains(l)) {
        out.push(Mapping::area(Layer::Landuse, leisure, Some("leisure")));
    } else if let Some(amenity) = tags.get("amenity").filter(|a| AMENITY_AREAS.contains(a)) {
        out.push(Mapping::area(Layer::Landuse, amenity, Some("amenity")));
    }
    if let Some(building) = tags.get("building").filter(|b| *b != "no") {
        out.push(Mapping::area(Layer::Building, building, None));
    }
    if let Some(m) = boundary(tags) {
        out.push(m);
    }
    out
}

fn water_class(tags: &Tags) -> Option<&str> {
    if tags.is("natural", &["water"]) {
        return Some(tags.get("water").unwrap_or("lake"));
    }
    if tags.is("waterway", &["riverbank", "dock"]) {
        return Some("river");
    }
    tags.get("landuse")
        .filter(|l| ["reservoir", "basin"].contains(l))
}

fn boundary(tags: &Tags) -> Option<Mapping> {
    if !tags.is("boundary", &["administrative"]) {
        return None;
    }
    let level = tags.get("admin_level")?;
    level.parse::<u8>().ok()?;
    Some(Mapping::area(
        Layer::Boundary,
        "administrative",
        Some(level),
    ))
}

/// An address an element carries (`addr:*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub street: Option<String>,
    pub housenumber: String,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub suburb: Option<String>,
}

/// The address of an element with a house number; `addr:place` stands in for a street where
/// a hamlet's houses are numbered by place.
pub fn address(tags: &Tags) -> Option<Address> {
    let housenumber = tags.get("addr:housenumber")?;
    Some(Address {
        street: tags
            .get("addr:street")
            .or_else(|| tags.get("addr:place"))
            .map(Into::into),
        housenumber: housenumber.into(),
        postcode: tags.get("addr:postcode").map(Into::into),
        city: tags.get("addr:city").map(Into::into),
        suburb: tags.get("addr:suburb").map(Into::into),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        Tags::from_pairs(pairs)
    }

    #[test]
    fn a_roundabout_stays_a_line_and_a_building_is_an_area() {
        let ring = for_way(
            &tags(&[("highway", "primary"), ("junction", "roundabout")]),
            true,
        );
        assert_eq!(
            ring,
            vec![Mapping::line(Layer::Road, "primary", Some("primary"))]
        );
        let house = for_way(&tags(&[("building", "house")]), true);
        assert_eq!(house, vec![Mapping::area(Layer::Building, "house", None)]);
        // An unclosed building outline draws nothing.
        assert!(for_way(&tags(&[("building", "house")]), false).is_empty());
        assert!(
            for_way(&tags(&[("building", "no"), ("landuse", "grass")]), true)
                .iter()
                .all(|m| m.layer == Layer::Landuse)
        );
    }

    #[test]
    fn water_wins_over_landuse_and_boundaries_need_a_level() {
        let lake = for_way(&tags(&[("natural", "water"), ("water", "pond")]), true);
        assert_eq!(lake, vec![Mapping::area(Layer::Water, "pond", None)]);
        let basin = for_way(&tags(&[("landuse", "basin")]), true);
        assert_eq!(basin[0].layer, Layer::Water);
        let rel = tags(&[
            ("type", "boundary"),
            ("boundary", "administrative"),
            ("admin_level", "8"),
        ]);
        assert_eq!(for_relation(&rel)[0].subclass.as_deref(), Some("8"));
        let rel = tags(&[("type", "boundary"), ("boundary", "administrative")]);
        assert!(for_relation(&rel).is_empty());
    }

    #[test]
    fn places_need_a_name_and_addresses_a_number() {
        assert!(for_node(&tags(&[("place", "village")])).is_none());
        let village = for_node(&tags(&[("place", "village"), ("name", "Beerbach")])).unwrap();
        assert_eq!(
            (village.layer, village.class.as_str()),
            (Layer::Place, "village")
        );
        assert!(address(&tags(&[("addr:street", "Marktplatz")])).is_none());
        let a = address(&tags(&[
            ("addr:place", "Weigenhofen"),
            ("addr:housenumber", "3a"),
        ]))
        .unwrap();
        assert_eq!(a.street.as_deref(), Some("Weigenhofen"));
    }
}
