//! The pages: a JSON document of the API (landing page, conformance, collections, collection,
//! tilesets, tile matrix sets, downloads) shown section by section, a single feature, and a
//! dataset's metadata.

use std::fmt::Write as _;

use actix_web::HttpRequest;
use serde_json::Value as Json;

use super::page::{foot, head, json_href, map};
use super::{escape, View};
use crate::catalog::Version;
use crate::downloads::Download;
use crate::ogc::Link;
use crate::opendata::metadata::{license_title, Resolved, Text};
use crate::value::{FeatureRow, Value};

/// What a link leads to, in the page's language (the JSON's titles are English).
fn rel_label(view: View, rel: &str, fallback: &str) -> String {
    let (de, en) = match rel.rsplit('/').next().unwrap_or(rel) {
        "self" => ("Diese Seite", "This page"),
        "service-desc" => ("API-Definition (OpenAPI)", "API definition (OpenAPI)"),
        "service-doc" => ("API-Dokumentation", "API documentation"),
        "conformance" => ("Implementierte Konformitätsklassen", "Conformance classes"),
        "data" => ("Datensätze", "Collections"),
        "items" => ("Objekte", "Features"),
        "collection" => ("Zum Datensatz", "The collection"),
        "tilesets-vector" => ("Vektorkacheln", "Vector tiles"),
        "tiling-schemes" => ("Kachelschemata", "Tiling schemes"),
        "tiling-scheme" => ("Kachelschema", "Tiling scheme"),
        "queryables" => ("Abfragbare Attribute", "Queryables"),
        "describedby" => (
            "TileJSON für MapLibre und QGIS",
            "TileJSON for MapLibre and QGIS",
        ),
        "enclosure" => ("Downloads", "Downloads"),
        "license" => ("Lizenz", "Licence"),
        _ => return fallback.to_string(),
    };
    view.pick(de, en).to_string()
}

/// A document's `links` as a list, pointing at the HTML views where there are any; URI
/// templates are shown, not linked.
fn links(out: &mut String, view: View, links: &Json) {
    let Some(links) = links.as_array().filter(|l| !l.is_empty()) else {
        return;
    };
    let _ = write!(out, "<h2>{}</h2><ul>", view.pick("Verweise", "Links"));
    for l in links {
        let href = l["href"].as_str().unwrap_or_default();
        let rel = l["rel"].as_str().unwrap_or_default();
        let media_type = l["type"].as_str();
        let title = l["title"].as_str().unwrap_or(href);
        // A relation that leads to different things is labelled by what it leads to.
        let label = match (rel, media_type) {
            ("describedby", Some("application/xml")) => view
                .pick("Metadaten (ISO 19115/19139)", "Metadata (ISO 19115/19139)")
                .to_string(),
            ("describedby", Some("text/turtle")) => view
                .pick("Metadaten (DCAT-AP.de)", "Metadata (DCAT-AP.de)")
                .to_string(),
            ("service-meta", Some("application/xml")) => view
                .pick(
                    "Metadaten des Dienstes (ISO 19119/19139)",
                    "Service metadata (ISO 19119/19139)",
                )
                .to_string(),
            ("service-meta", _) => view
                .pick(
                    "Metadaten des Dienstes (DCAT-AP.de)",
                    "Service metadata (DCAT-AP.de)",
                )
                .to_string(),
            // One bulk download of several: its own title.
            ("enclosure", _) if l.get("length").is_some() => title.to_string(),
            _ => rel_label(view, rel, title),
        };
        if l["templated"] == true {
            let _ = write!(
                out,
                "<li>{}: <code>{}</code></li>",
                escape(&label),
                escape(href)
            );
            continue;
        }
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a> <small>({}{})</small></li>",
            escape(&view.href(href, media_type)),
            escape(&label),
            escape(media_type.unwrap_or_default()),
            if rel.is_empty() {
                String::new()
            } else {
                format!(", {}", escape(rel))
            }
        );
    }
    out.push_str("</ul>");
}

fn number(n: &Json) -> String {
    n.as_f64().map(|v| format!("{v}")).unwrap_or_default()
}

/// A JSON document of the API as a page.
pub fn document(req: &HttpRequest, view: View, title: &str, doc: &Json) -> String {
    let json = json_href(req);
    let mut out = head(
        req,
        view,
        title,
        &[(&json, "application/json", "JSON")],
        false,
    );
    if let Some(d) = doc["description"].as_str() {
        let _ = write!(out, "<p>{}</p>", escape(d));
    }
    if req.path() == "/" {
        let _ = write!(
            out,
            "<p><a href=\"/map?lang={}\">{}</a></p>",
            view.lang.code(),
            view.pick(
                "Zur Karte: Defibrillatoren in der Nähe, das Solarpotenzial Ihres Dachs, \
                 Flurstücke",
                "To the map: defibrillators nearby, the solar potential of your roof, parcels"
            )
        );
    }
    if let Some(classes) = doc["conformsTo"].as_array() {
        out.push_str("<ul>");
        for c in classes.iter().filter_map(Json::as_str) {
            let _ = write!(out, "<li><code>{}</code></li>", escape(c));
        }
        out.push_str("</ul>");
    }
    if let Some(collections) = doc["collections"].as_array() {
        collections_table(&mut out, view, collections);
    }
    if doc["itemType"].is_string() {
        collection_facts(&mut out, view, doc);
    }
    if let Some(sets) = doc["tilesets"].as_array() {
        tilesets_table(&mut out, view, sets);
    }
    if let Some(sets) = doc["tileMatrixSets"].as_array() {
        tile_matrix_sets_table(&mut out, view, sets);
    }
    if let Some(files) = doc["downloads"].as_array() {
        downloads_table(&mut out, view, files);
    }
    if let Some(layers) = doc["layers"].as_array() {
        layers_table(&mut out, view, doc, layers);
    }
    if let (Some(_), Some(properties)) = (doc["$schema"].as_str(), doc["properties"].as_object()) {
        queryables_table(&mut out, view, properties);
    }
    if let Some(matrices) = doc["tileMatrices"].as_array() {
        tile_matrices_table(&mut out, view, matrices);
    }
    links(&mut out, view, &doc["links"]);
    out.push_str(&foot(view));
    out
}

fn collections_table(out: &mut String, view: View, collections: &[Json]) {
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         </tr></thead><tbody>",
        view.pick("Datensätze", "Collections"),
        view.pick("Titel", "Title"),
        view.pick("Art", "Kind"),
        view.pick("Objekte", "Features"),
        view.pick("Beschreibung", "Description"),
    );
    for c in collections {
        let id = c["id"].as_str().unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&view.href(&format!("/collections/{id}"), Some("application/json"))),
            escape(c["title"].as_str().unwrap_or(id)),
            escape(kind_label(view, c["kind"].as_str().unwrap_or_default())),
            c["featureCount"].as_i64().unwrap_or_default(),
            escape(c["description"].as_str().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
}

fn kind_label(view: View, kind: &str) -> &str {
    match kind {
        "parcels" => view.pick("Flurstücke", "Parcels"),
        "solar" => view.pick("Solarpotenzial", "Solar potential"),
        "aed" => view.pick("Defibrillatoren", "Defibrillators"),
        "generic" => view.pick("Sonstige", "Other"),
        "buildings" => view.pick("Gebäude", "Buildings"),
        "roofs" => view.pick("Dachflächen", "Roof surfaces"),
        "addresses" => view.pick("Adressen", "Addresses"),
        other => other,
    }
}

/// What a collection holds and where to go from it.
fn collection_facts(out: &mut String, view: View, doc: &Json) {
    let id = doc["id"].as_str().unwrap_or_default();
    let _ = write!(
        out,
        "<ul><li><a href=\"{}\">{}</a></li><li><a href=\"{}\">{}</a></li>\
         <li><a href=\"{}\">{}</a></li><li><a href=\"/map?lang={}\">{}</a></li></ul>\
         <table><caption>{}</caption><tbody>",
        escape(&view.href(
            &format!("/collections/{id}/items"),
            Some("application/geo+json")
        )),
        view.pick("Objekte ansehen", "Browse the features"),
        escape(&view.href(
            &format!("/collections/{id}/downloads"),
            Some("application/json")
        )),
        view.pick("Downloads (ganzer Datensatz)", "Downloads (whole dataset)"),
        escape(&view.href(&format!("/catalog/datasets/{id}"), Some("application/json"))),
        view.pick("Metadaten (DCAT-AP.de)", "Metadata (DCAT-AP.de)"),
        view.lang.code(),
        view.pick("Auf der Karte", "On the map"),
        view.pick("Angaben", "Facts"),
    );
    let kind = doc["kind"].as_str().unwrap_or_default();
    let rows = [
        (view.pick("Art", "Kind"), kind_label(view, kind).to_string()),
        (
            view.pick("Objekte", "Features"),
            doc["featureCount"].to_string(),
        ),
        (view.pick("Version", "Version"), doc["version"].to_string()),
        (
            view.pick("Speicher-KBS", "Storage CRS"),
            doc["storageCrs"].as_str().unwrap_or_default().to_string(),
        ),
        (
            view.pick("Ausdehnung (CRS84)", "Extent (CRS84)"),
            doc["extent"]["spatial"]["bbox"][0]
                .as_array()
                .map(|b| b.iter().map(number).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(&v)
        );
    }
    out.push_str("</tbody></table>");
}

fn tilesets_table(out: &mut String, view: View, sets: &[Json]) {
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th></tr></thead><tbody>",
        view.pick("Kachelsätze", "Tilesets"),
        view.pick("Kachelsatz", "Tileset"),
        view.pick("Koordinatenreferenzsystem", "Coordinate reference system"),
    );
    for t in sets {
        let this = t["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "self"))
            .and_then(|l| l["href"].as_str())
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><a href=\"{}\">{}</a></td><td><code>{}</code></td></tr>",
            escape(&view.href(this, Some("application/json"))),
            escape(t["title"].as_str().unwrap_or_default()),
            escape(t["crs"].as_str().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
}

fn tile_matrix_sets_table(out: &mut String, view: View, sets: &[Json]) {
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">Id</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        view.pick("Kachelschemata", "Tiling schemes"),
        view.pick("Titel", "Title"),
        view.pick("Koordinatenreferenzsystem", "Coordinate reference system"),
    );
    for t in sets {
        let id = t["id"].as_str().unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><a href=\"/tileMatrixSets/{}\">{}</a></td><td>{}</td><td><code>{}</code></td></tr>",
            escape(id),
            escape(id),
            escape(t["title"].as_str().unwrap_or_default()),
            escape(t["crs"].as_str().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
}

/// The layers of a tileset with their attributes.
fn layers_table(out: &mut String, view: View, doc: &Json, layers: &[Json]) {
    if let Some(tms) = doc["tileMatrixSetId"].as_str() {
        let _ = write!(
            out,
            "<p>{}: <a href=\"/tileMatrixSets/{}\">{}</a></p>",
            view.pick("Kachelschema", "Tiling scheme"),
            escape(tms),
            escape(tms)
        );
    }
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th></tr></thead><tbody>",
        view.pick("Ebenen", "Layers"),
        view.pick("Ebene", "Layer"),
        view.pick("Attribute", "Attributes"),
    );
    for layer in layers {
        let fields = layer["propertiesSchema"]["properties"]
            .as_object()
            .map(|p| {
                p.iter()
                    .map(|(name, schema)| {
                        format!("{name} ({})", schema["type"].as_str().unwrap_or_default())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(layer["title"].as_str().unwrap_or_default()),
            escape(&fields)
        );
    }
    out.push_str("</tbody></table>");
}

/// A collection's queryables (JSON Schema properties).
fn queryables_table(out: &mut String, view: View, properties: &serde_json::Map<String, Json>) {
    let _ = write!(
        out,
        "<p>{}</p><table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        view.pick(
            "Diese Attribute können in filter (CQL2) und als eigene Parameter von items abgefragt \
             werden.",
            "These attributes may be used in filter (CQL2) and as parameters of their own on items."
        ),
        view.pick("Abfragbare Attribute", "Queryables"),
        view.pick("Name", "Name"),
        view.pick("Typ", "Type"),
        view.pick("Format", "Format"),
    );
    for (name, schema) in properties {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(schema["type"].as_str().unwrap_or_default()),
            escape(schema["format"].as_str().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
}

/// The zoom levels of a tile matrix set.
fn tile_matrices_table(out: &mut String, view: View, matrices: &[Json]) {
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         </tr></thead><tbody>",
        view.pick("Kachelmatrizen", "Tile matrices"),
        view.pick("Zoomstufe", "Zoom level"),
        view.pick("Maßstabszahl", "Scale denominator"),
        view.pick("Zellgröße (m)", "Cell size (m)"),
        view.pick("Kacheln (Breite × Höhe)", "Tiles (width × height)"),
    );
    for m in matrices {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.0}</td><td>{:.4}</td><td>{} × {}</td></tr>",
            escape(m["id"].as_str().unwrap_or_default()),
            m["scaleDenominator"].as_f64().unwrap_or_default(),
            m["cellSize"].as_f64().unwrap_or_default(),
            m["matrixWidth"],
            m["matrixHeight"],
        );
    }
    out.push_str("</tbody></table>");
}

/// One feature as a page: a map of it, its attributes as a table, and its links.
pub fn feature_page(
    req: &HttpRequest,
    view: View,
    title: &str,
    version: &Version,
    row: &FeatureRow,
    feature_links: &[Link],
) -> String {
    let json = json_href(req);
    let mut out = head(
        req,
        view,
        title,
        &[(&json, "application/geo+json", "GeoJSON")],
        true,
    );
    map(&mut out, view, &json);
    let _ = write!(
        out,
        "<table><caption>{}</caption><tbody>",
        view.pick("Eigenschaften", "Properties")
    );
    for (column, value) in version.columns.iter().zip(&row.values) {
        let text = value.as_ref().map(Value::to_text).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(&column.original),
            escape(&text)
        );
    }
    out.push_str("</tbody></table>");
    links(
        &mut out,
        view,
        &serde_json::to_value(feature_links).unwrap_or_default(),
    );
    out.push_str(&foot(view));
    out
}

/// The text in the page's language, else the German one.
fn text(view: View, t: &Text) -> String {
    match view.lang {
        super::Lang::En => t.en.clone().unwrap_or_else(|| t.de.clone()),
        super::Lang::De => t.de.clone(),
    }
}

/// The facts of a dataset: its metadata as harvesters get it in DCAT-AP.de (every default
/// applied), and its downloads.
pub fn dataset_page(
    req: &HttpRequest,
    view: View,
    id: &str,
    metadata: &Resolved<'_>,
    modified: &str,
    downloads: &[Download],
) -> String {
    let jsonld = format!("/catalog/datasets/{id}.jsonld");
    let turtle = format!("/catalog/datasets/{id}.ttl");
    let data = [
        (
            jsonld.as_str(),
            "application/ld+json",
            "JSON-LD (DCAT-AP.de)",
        ),
        (turtle.as_str(), "text/turtle", "Turtle"),
    ];
    let mut out = head(req, view, &text(view, &metadata.title), &data, false);
    let _ = write!(out, "<p>{}</p>", escape(&text(view, &metadata.description)));
    let _ = write!(
        out,
        "<table><caption>{}</caption><tbody>",
        view.pick("Metadaten", "Metadata")
    );
    let mut row = |k: &str, v: String| {
        if !v.is_empty() {
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{v}</td></tr>",
                escape(k)
            );
        }
    };
    row(
        view.pick("Schlagwörter", "Keywords"),
        escape(&metadata.keywords.join(", ")),
    );
    row(
        view.pick("Themen (EU)", "Themes (EU)"),
        escape(&metadata.themes.join(", ")),
    );
    row(
        view.pick("Lizenz", "Licence"),
        format!(
            "<a href=\"{}\">{}</a>",
            escape(metadata.license),
            escape(license_title(metadata.license).unwrap_or(metadata.license))
        ),
    );
    row(
        view.pick("Namensnennung", "Attribution"),
        escape(metadata.attribution.unwrap_or_default()),
    );
    row(
        view.pick("Aktualisierung", "Update frequency"),
        escape(metadata.accrual_periodicity.unwrap_or_default()),
    );
    if let Some(t) = metadata.temporal {
        row(
            view.pick("Zeitraum", "Period"),
            escape(&format!(
                "{} – {}",
                t.start.as_deref().unwrap_or_default(),
                t.end.as_deref().unwrap_or_default()
            )),
        );
    }
    row(view.pick("Geändert", "Modified"), escape(modified));
    let c = metadata.contact;
    let mut contact = escape(&c.name);
    if let Some(email) = &c.email {
        let _ = write!(contact, ", <a href=\"mailto:{0}\">{0}</a>", escape(email));
    }
    if let Some(url) = &c.url {
        let _ = write!(contact, ", <a href=\"{0}\">{0}</a>", escape(url));
    }
    if let Some(phone) = &c.phone {
        let _ = write!(contact, ", {}", escape(phone));
    }
    row(view.pick("Kontakt", "Contact"), contact);
    out.push_str("</tbody></table>");
    let downloads = serde_json::to_value(downloads).unwrap_or_default();
    downloads_table(
        &mut out,
        view,
        downloads.as_array().map_or(&[], Vec::as_slice),
    );
    let _ = write!(
        out,
        "<h2>{}</h2><ul><li><a href=\"/catalog/datasets/{id}.ttl\">Turtle</a></li>\
         <li><a href=\"/catalog/datasets/{id}.rdf\">RDF/XML</a></li>\
         <li><a href=\"/catalog/datasets/{id}.jsonld\">JSON-LD</a></li>\
         <li><a href=\"{}\">{}</a></li></ul>",
        view.pick(
            "Metadaten für Harvester (DCAT-AP.de)",
            "Metadata for harvesters (DCAT-AP.de)"
        ),
        escape(&view.href(&format!("/collections/{id}"), Some("application/json"))),
        view.pick("Zum Datensatz", "The collection"),
        id = escape(id),
    );
    out.push_str(&foot(view));
    out
}

/// The built files of a dataset (the `downloads` of the JSON listing), with what a harvester
/// checks: size, features, SHA-256.
fn downloads_table(out: &mut String, view: View, downloads: &[Json]) {
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">SHA-256</th></tr></thead><tbody>",
        view.pick("Downloads", "Downloads"),
        view.pick("Datei", "File"),
        view.pick("Format", "Format"),
        view.pick("Koordinatenreferenzsystem", "Coordinate reference system"),
        view.pick("Größe", "Size"),
        view.pick("Objekte", "Features"),
    );
    for d in downloads {
        let text = |k: &str| escape(d[k].as_str().unwrap_or_default());
        let _ = write!(
            out,
            "<tr><td><a href=\"{}\" download>{}</a></td><td>{}</td><td><code>{}</code></td>\
             <td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            text("href"),
            text("name"),
            text("mediaType"),
            text("crs"),
            human_bytes(d["bytes"].as_i64().unwrap_or_default()),
            d["features"].as_i64().unwrap_or_default(),
            text("sha256"),
        );
    }
    if downloads.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"6\">{}</td></tr>",
            view.pick(
                "Die Dateien werden noch erstellt.",
                "The files are still being built."
            )
        );
    }
    out.push_str("</tbody></table>");
}

fn human_bytes(n: i64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{:.1} MiB", n / 1024.0 / 1024.0)
    }
}
