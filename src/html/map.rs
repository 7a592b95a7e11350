//! The citizen map page (`/map`): a panel for layers, tools and details over the map; its
//! style is the asset `map.css`, its behaviour `map.js`.

use super::assets::WITH_MAPLIBRE;
use super::Lang;

/// The page in `lang`; `external` is the origin an external basemap comes from.
pub fn page(lang: Lang, external: Option<&str>) -> String {
    let title = lang.pick("Karte", "Map");
    let layers = lang.pick("Ebenen", "Layers");
    let (other, other_label) = (lang.other().code(), lang.other().name());
    let missing = lang.pick(
        "Die Kartenbibliothek fehlt in diesem Build: npm ci --prefix web ausführen und neu bauen.",
        "The map library is missing from this build: run npm ci --prefix web and build again.",
    );
    let code = lang.code();
    // Citizens learn that their map views reach another server.
    let notice = external.map_or_else(String::new, |origin| {
        format!(
            "<p id=\"basemap-notice\">{} <a href=\"{origin}\">{origin}</a>.</p>",
            lang.pick(
                "Die Grundkarte wird geladen von",
                "The basemap is loaded from"
            ),
            origin = super::escape(origin)
        )
    });
    let map = if WITH_MAPLIBRE {
        format!("<div id=\"map\" role=\"region\" aria-label=\"{title}\"></div>")
    } else {
        format!("<div id=\"map\"><p>{missing}</p></div>")
    };
    let legal = super::page::legal_links(lang);
    format!(
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – kreisgeo</title>\
         <link rel=\"stylesheet\" href=\"/assets/maplibre-gl.css\">\
         <link rel=\"stylesheet\" href=\"/assets/map.css\">\
         </head><body><main><h1 class=\"visually-hidden\">{title} – kreisgeo</h1>\
         <div id=\"panel\"><nav><a href=\"/?f=html&amp;lang={code}\">kreisgeo</a> · \
         <a href=\"/map?lang={other}\" hreflang=\"{other}\" lang=\"{other}\">{other_label}</a></nav>\
         <section id=\"layers\" aria-label=\"{layers}\"></section><div id=\"tools\"></div>\
         <section id=\"details\" aria-live=\"polite\"></section>{notice}{legal}</div>{map}</main>\
         <script src=\"/assets/maplibre-gl-csp.js\"></script><script src=\"/assets/map.js\"></script>\
         </body></html>"
    )
}
