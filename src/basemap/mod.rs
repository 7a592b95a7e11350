//! kreisgeo's own basemap, drawn from a loaded OpenStreetMap extract (`--kind osm`): vector
//! tiles of its layers with a generalisation per zoom ([`tiles`]), a MapLibre style
//! ([`style`]) and the glyphs of its labels ([`fonts`]), all from this server, so that a
//! citizen's map loads nothing from elsewhere. Anchors: OpenMapTiles and Planetiler (layers,
//! zoom rules), Martin (glyph ranges from a font).

pub mod fonts;
pub mod style;
pub mod tiles;

use crate::catalog::{Collection, DatasetKind};

/// The attribution ODbL asks for, shown on the map.
pub const ATTRIBUTION: &str =
    "<a href=\"https://www.openstreetmap.org/copyright\">© OpenStreetMap-Mitwirkende</a>";

/// The collection the basemap is drawn from: `configured`, else the first OSM dataset by id.
pub fn source<'a>(
    collections: &'a [Collection],
    configured: Option<&str>,
) -> Option<&'a Collection> {
    match configured {
        Some(id) => collections
            .iter()
            .find(|c| c.id == id && c.kind == DatasetKind::Osm),
        None => collections
            .iter()
            .filter(|c| c.kind == DatasetKind::Osm)
            .min_by(|a, b| a.id.cmp(&b.id)),
    }
}
