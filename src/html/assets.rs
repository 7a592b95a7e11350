//! The browser files of the portal, served from the binary itself: MapLibre GL JS (its CSP
//! build, embedded at build time from npm by build.rs) and kreisgeo's own scripts.

/// A file the pages load.
pub struct Asset {
    pub name: &'static str,
    pub media_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

pub const ASSETS: &[Asset] = &[
    Asset {
        name: "maplibre-gl-csp.js",
        media_type: JS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl-csp.js")),
    },
    Asset {
        name: "maplibre-gl-csp-worker.js",
        media_type: JS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl-csp-worker.js")),
    },
    Asset {
        name: "maplibre-gl.css",
        media_type: "text/css; charset=utf-8",
        body: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre-gl.css")),
    },
    Asset {
        name: "map.css",
        media_type: "text/css; charset=utf-8",
        body: include_bytes!("../../web/map.css"),
    },
    Asset {
        name: "map.js",
        media_type: JS,
        body: include_bytes!("../../web/map.js"),
    },
    Asset {
        name: "features-map.js",
        media_type: JS,
        body: include_bytes!("../../web/features-map.js"),
    },
];

/// Whether MapLibre was embedded (npm had installed it when the binary was built).
pub const WITH_MAPLIBRE: bool = cfg!(maplibre);

/// The asset called `name`, if this build has it.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name && !a.body.is_empty())
}
