//! A feature's attributes from its tree, as flat columns: each property element a column; a
//! property holding an object (NAS `gemarkung/AX_Gemarkung_Schluessel/land`) gives one
//! column per leaf, named by the property path (`gemarkung_land`); a property that repeats
//! (NAS `modellart`, `zeigtAufExternes`) gives a JSON array; a reference (`xlink:href`)
//! gives its target, a code list entry its code.

use super::geometry::is_geometry;
use super::xml::{Element, Ns};

/// One value of a property.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// Text typed as the other formats type it (numbers, booleans, dates).
    Text(String),
    /// Text that stays text: codes and keys whose digits are not a quantity.
    Code(String),
    /// A JSON document (a list kept whole).
    Json(String),
    Null,
}

/// The attributes of `feature` in document order, and the property element holding its
/// geometry (NAS `position`, else the first that holds one).
pub fn attributes(feature: &Element) -> (Vec<(String, Vec<Leaf>)>, Option<&Element>) {
    let mut out = Leaves::default();
    let mut geometry: Option<&Element> = None;
    for property in &feature.children {
        if property.ns == Ns::Gml && property.name == "boundedBy" {
            continue;
        }
        if let Some(g) = property.children.first().filter(|g| is_geometry(g)) {
            let preferred = property.name == "position";
            if geometry.is_none() || preferred {
                geometry = Some(g);
            }
            continue;
        }
        leaves(property, &property.name, &mut out);
    }
    (out.list, geometry)
}

/// The attributes in document order, found by name in constant time.
#[derive(Default)]
struct Leaves {
    list: Vec<(String, Vec<Leaf>)>,
    index: std::collections::HashMap<String, usize>,
}

fn push(out: &mut Leaves, name: &str, leaf: Leaf) {
    if let Some(&i) = out.index.get(name) {
        out.list[i].1.push(leaf);
        return;
    }
    out.index.insert(name.to_string(), out.list.len());
    out.list.push((name.to_string(), vec![leaf]));
}

fn leaves(property: &Element, path: &str, out: &mut Leaves) {
    if property.attr(&Ns::Xsi, "nil") == Some("true") {
        push(out, path, Leaf::Null);
        return;
    }
    if property.children.is_empty() {
        let value = if property.text.is_empty() {
            property.attr(&Ns::Xlink, "href").map(reference)
        } else {
            Some(property.text.clone())
        };
        push(out, path, value.map_or(Leaf::Null, Leaf::Text));
        return;
    }
    for child in &property.children {
        if is_object(child) {
            // The object's properties belong to the property that holds it.
            for p in &child.children {
                if !is_geometry(p) {
                    leaves(p, &format!("{path}_{}", p.name), out);
                }
            }
        } else if !is_geometry(child) {
            leaves(child, &format!("{path}_{}", child.name), out);
        }
    }
}

/// GML alternates objects (`AX_Gemarkung_Schluessel`, `AA_Modellart`: upper camel case) and
/// their properties (lower camel case).
fn is_object(e: &Element) -> bool {
    e.name.starts_with(|c: char| c.is_ascii_uppercase()) && !e.children.is_empty()
}

/// The value of a reference: a code list entry's code (the last segment of a registry URI,
/// `…/AA_Anlassart/010704` → `010704`), else the reference as written (`urn:adv:oid:…`).
fn reference(href: &str) -> String {
    if href.contains("/codelist/") {
        if let Some(code) = href.rsplit('/').next().filter(|c| !c.is_empty()) {
            return code.to_string();
        }
    }
    href.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(name: &str, text: &str, children: Vec<Element>) -> Element {
        Element {
            ns: Ns::Adv,
            name: name.into(),
            attrs: Vec::new(),
            children,
            text: text.into(),
            offset: 0,
        }
    }

    #[test]
    fn paths_repeats_and_references() {
        let feature = el(
            "AX_Flurstueck",
            "",
            vec![
                el(
                    "gemarkung",
                    "",
                    vec![el(
                        "AX_Gemarkung_Schluessel",
                        "",
                        vec![
                            el("land", "05", vec![]),
                            el("gemarkungsnummer", "4320", vec![]),
                        ],
                    )],
                ),
                el(
                    "modellart",
                    "",
                    vec![el(
                        "AA_Modellart",
                        "",
                        vec![el("advStandardModell", "DLKM", vec![])],
                    )],
                ),
                el(
                    "modellart",
                    "",
                    vec![el(
                        "AA_Modellart",
                        "",
                        vec![el("advStandardModell", "DKKM500", vec![])],
                    )],
                ),
                el("flurnummer", "25", vec![]),
            ],
        );
        let (attrs, geometry) = attributes(&feature);
        assert!(geometry.is_none());
        let text = |s: &str| Leaf::Text(s.into());
        assert_eq!(
            attrs,
            [
                ("gemarkung_land".to_string(), vec![text("05")]),
                ("gemarkung_gemarkungsnummer".to_string(), vec![text("4320")]),
                (
                    "modellart_advStandardModell".to_string(),
                    vec![text("DLKM"), text("DKKM500")]
                ),
                ("flurnummer".to_string(), vec![text("25")]),
            ]
        );
        assert_eq!(
            reference("https://registry.gdi-de.org/codelist/de.adv-online.gid/AA_Anlassart/010704"),
            "010704"
        );
        assert_eq!(
            reference("urn:adv:oid:DENW36AL10000Lqn"),
            "urn:adv:oid:DENW36AL10000Lqn"
        );
    }
}
