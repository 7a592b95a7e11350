//! A dataset of another portal's catalog — a CKAN package (`package_show`) or a DCAT-AP dataset
//! document (Turtle, JSON-LD or RDF/XML) — resolved to the download distribution in the format
//! kreisgeo reads best, which is then fetched like a file.

use oxrdf::{NamedOrBlankNode, Term, Triple};
use reqwest::Url;
use serde_json::Value;

use super::fetch::{Body, Client, Fetched};
use super::ogcapi::HarvestError;

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT_FORMAT: &str = "http://purl.org/dc/terms/format";

/// The formats kreisgeo reads, best first: what a media type or format name contains.
const PREFERRED: &[&[&str]] = &[
    &["geo+json", "geojson"],
    &["geopackage", "gpkg"],
    &["flatgeobuf", "fgb"],
    &["shapefile", "shp", "shape"],
    &["csv"],
    &["gml", "wfs"],
];

/// A distribution as a catalog describes it: where, and what it says its format is.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub url: String,
    /// Format names and media types, lower case.
    pub formats: Vec<String>,
}

/// The distribution in the best format kreisgeo reads; none whose format is an API (OGC API,
/// WMS) or unknown.
pub fn choose(distributions: &[Distribution]) -> Option<&Distribution> {
    PREFERRED.iter().find_map(|names| {
        distributions.iter().find(|d| {
            let api = d
                .formats
                .iter()
                .any(|f| f.contains("ogc api") || f.contains("wms") || f.contains("html"));
            !api && d
                .formats
                .iter()
                .chain(std::iter::once(&d.url.to_ascii_lowercase()))
                .any(|f| names.iter().any(|n| f.contains(n)))
        })
    })
}

/// The `package_show` URL of a CKAN package URL: `…/api/3/action/package_show?id=…` as it is,
/// `…/dataset/{name}` turned into it.
pub fn package_show(url: &Url) -> Result<Url, String> {
    if url.path().ends_with("/api/3/action/package_show") {
        return Ok(url.clone());
    }
    let path = url.path().trim_end_matches('/');
    let Some((prefix, name)) = path.rsplit_once("/dataset/") else {
        return Err(format!(
            "{url}: neither …/api/3/action/package_show?id=… nor …/dataset/NAME"
        ));
    };
    let mut api = url.clone();
    api.set_path(&format!("{prefix}/api/3/action/package_show"));
    api.set_query(None);
    api.query_pairs_mut().append_pair("id", name);
    Ok(api)
}

fn error(url: &Url, message: impl Into<String>) -> HarvestError {
    HarvestError::Answer {
        url: super::net::without_credentials(url),
        message: message.into(),
    }
}

async fn body(client: &Client, url: &Url, accept: &str) -> Result<(Vec<u8>, String), HarvestError> {
    match client.get(url, accept, None).await? {
        Fetched::Body {
            body: Body::Memory(bytes),
            content_type,
            ..
        } => Ok((bytes, content_type.unwrap_or_default())),
        _ => Err(error(url, "no body")),
    }
}

/// The download URL a CKAN package offers in the best format.
pub async fn ckan(client: &Client, package: &Url) -> Result<Url, HarvestError> {
    let api = package_show(package).map_err(|e| error(package, e))?;
    let (bytes, _) = body(client, &api, "application/json").await?;
    let answer: Value =
        serde_json::from_slice(&bytes).map_err(|e| error(&api, format!("not JSON: {e}")))?;
    if answer["success"] != Value::Bool(true) {
        return Err(error(&api, format!("CKAN says: {}", answer["error"])));
    }
    let distributions: Vec<Distribution> = answer["result"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let url = r["url"].as_str()?.to_string();
            let formats = ["format", "mimetype"]
                .iter()
                .filter_map(|k| r[*k].as_str())
                .map(str::to_ascii_lowercase)
                .collect();
            Some(Distribution { url, formats })
        })
        .collect();
    let chosen = choose(&distributions)
        .ok_or_else(|| error(&api, "no resource in a format kreisgeo reads"))?;
    api.join(&chosen.url)
        .map_err(|e| error(&api, format!("resource URL '{}': {e}", chosen.url)))
}

/// The triples of an RDF document, by its media type. RDF/XML with a DOCTYPE is refused: no
/// entity is ever declared, let alone expanded.
fn triples(bytes: &[u8], media_type: &str) -> Result<Vec<Triple>, String> {
    let media_type = media_type.split(';').next().unwrap_or("").trim();
    match media_type {
        "text/turtle" | "application/x-turtle" => oxttl::TurtleParser::new()
            .for_slice(bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("Turtle: {e}")),
        "application/ld+json" | "application/json" => oxjsonld::JsonLdParser::new()
            .for_slice(bytes)
            .map(|q| q.map(Triple::from))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("JSON-LD: {e}")),
        "application/rdf+xml" | "application/xml" | "text/xml" => {
            if bytes
                .windows(9)
                .any(|w| w.eq_ignore_ascii_case(b"<!doctype"))
            {
                return Err("RDF/XML with a DOCTYPE (entities are not read)".into());
            }
            oxrdfxml::RdfXmlParser::new()
                .for_slice(bytes)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("RDF/XML: {e}"))
        }
        other => Err(format!("'{other}' is not an RDF format kreisgeo reads")),
    }
}

/// The download URL a DCAT dataset document offers in the best format.
pub async fn dcat(client: &Client, dataset: &Url) -> Result<Url, HarvestError> {
    let (bytes, media_type) = body(
        client,
        dataset,
        "text/turtle, application/ld+json;q=0.9, application/rdf+xml;q=0.8",
    )
    .await?;
    let triples = triples(&bytes, &media_type).map_err(|e| error(dataset, e))?;
    let distribution = format!("{DCAT}distribution");
    let text = |t: &Term| match t {
        Term::NamedNode(n) => Some(n.as_str().to_string()),
        Term::Literal(l) => Some(l.value().to_string()),
        Term::BlankNode(_) => None,
    };
    let mut distributions = Vec::new();
    for d in triples
        .iter()
        .filter(|t| t.predicate.as_str() == distribution)
    {
        let node: NamedOrBlankNode = match &d.object {
            Term::NamedNode(n) => n.clone().into(),
            Term::BlankNode(b) => b.clone().into(),
            Term::Literal(_) => continue,
        };
        let about = |predicate: &str| -> Vec<String> {
            triples
                .iter()
                .filter(|t| t.subject == node && t.predicate.as_str() == predicate)
                .filter_map(|t| text(&t.object))
                .collect()
        };
        // A download URL is the file; an access URL alone is a service or a page.
        let Some(url) = about(&format!("{DCAT}downloadURL")).into_iter().next() else {
            continue;
        };
        let formats = about(&format!("{DCAT}mediaType"))
            .into_iter()
            .chain(about(DCT_FORMAT))
            .map(|f| f.to_ascii_lowercase())
            .collect();
        distributions.push(Distribution { url, formats });
    }
    let chosen = choose(&distributions)
        .ok_or_else(|| error(dataset, "no distribution in a format kreisgeo reads"))?;
    dataset
        .join(&chosen.url)
        .map_err(|e| error(dataset, format!("download URL '{}': {e}", chosen.url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(url: &str, formats: &[&str]) -> Distribution {
        Distribution {
            url: url.into(),
            formats: formats.iter().map(|f| f.to_ascii_lowercase()).collect(),
        }
    }

    #[test]
    fn the_best_format_kreisgeo_reads() {
        let list = [
            d(
                "https://a.de/collections/aed",
                &["OGC API Features", "application/json"],
            ),
            d("https://a.de/aed.csv", &["CSV", "text/csv"]),
            d("https://a.de/aed.gpkg", &["GeoPackage"]),
            d("https://a.de/wms", &["WMS"]),
        ];
        assert_eq!(choose(&list).unwrap().url, "https://a.de/aed.gpkg");
        assert_eq!(
            choose(&[d(
                "https://a.de/x",
                &["http://publications.europa.eu/resource/authority/file-type/GEOJSON"]
            )])
            .unwrap()
            .url,
            "https://a.de/x"
        );
        assert!(choose(&[d("https://a.de/karte.html", &["HTML"])]).is_none());
    }

    #[test]
    fn package_urls_become_package_show() {
        let u = |s: &str| package_show(&Url::parse(s).unwrap()).map(|u| u.to_string());
        assert_eq!(
            u("https://ckan.govdata.de/dataset/aed-landkreis").unwrap(),
            "https://ckan.govdata.de/api/3/action/package_show?id=aed-landkreis"
        );
        assert_eq!(
            u("https://a.de/api/3/action/package_show?id=x").unwrap(),
            "https://a.de/api/3/action/package_show?id=x"
        );
        assert!(u("https://a.de/other").is_err());
    }

    #[test]
    fn rdf_xml_with_a_doctype_is_refused() {
        let doc = br#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>"#;
        assert!(triples(doc, "application/rdf+xml")
            .unwrap_err()
            .contains("DOCTYPE"));
    }
}
