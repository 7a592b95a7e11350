//! An OGC API Features collection (another kreisgeo, pygeoapi, ldproxy, GeoServer) read page by
//! page, following its `next` links, into one GeoJSON file for the ingest. Each feature keeps
//! the remote id as `remote_id`.

use std::collections::HashSet;
use std::io::Write;

use reqwest::Url;
use serde_json::Value;

use super::fetch::{Body, Client, FetchError, Fetched, Validators};

/// Pages read at most from one collection (a million features at 1,000 a page, ten times).
const MAX_PAGES: u32 = 10_000;

/// What a harvest of a collection found.
#[derive(Debug)]
pub struct Harvested {
    pub file: tempfile::NamedTempFile,
    pub features: u64,
    pub pages: u32,
    /// The first page's, for the next conditional request.
    pub validators: Validators,
}

/// Unchanged since the validators, or read anew.
#[derive(Debug)]
pub enum Outcome {
    NotModified,
    Harvested(Harvested),
}

/// Why a collection could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url}: {message}")]
    Answer { url: String, message: String },
    #[error("writing the harvest: {0}")]
    Io(#[from] std::io::Error),
}

/// The items URL of a collection URL (`…/collections/aed` or `…/collections/aed/items`), with
/// `limit` and GeoJSON asked for.
pub fn items_url(collection: &Url, page_size: u32) -> Url {
    let mut url = collection.clone();
    let path = url.path().trim_end_matches('/').to_string();
    if !path.ends_with("/items") {
        url.set_path(&format!("{path}/items"));
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "limit" && k != "f")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("limit", &page_size.to_string());
    url
}

const ACCEPT: &str = "application/geo+json, application/json;q=0.8";

/// Reads every page of the collection at `collection` into one GeoJSON FeatureCollection.
pub async fn harvest(
    client: &Client,
    collection: &Url,
    page_size: u32,
    known: Option<&Validators>,
) -> Result<Outcome, HarvestError> {
    let mut next = Some(items_url(collection, page_size));
    let mut seen = HashSet::new();
    let mut file = tempfile::Builder::new()
        .prefix("kreisgeo-harvest-")
        .suffix(".geojson")
        .tempfile()?;
    let mut out = std::io::BufWriter::new(file.as_file_mut());
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    let (mut features, mut pages) = (0u64, 0u32);
    let mut validators = Validators::default();
    while let Some(url) = next.take() {
        if !seen.insert(url.to_string()) {
            return Err(answer(&url, "its next links go round in a circle"));
        }
        if pages >= MAX_PAGES {
            return Err(answer(&url, &format!("more than {MAX_PAGES} pages")));
        }
        let conditional = if pages == 0 { known } else { None };
        let (bytes, page_url) = match client.get(&url, ACCEPT, conditional).await? {
            Fetched::NotModified if pages == 0 => return Ok(Outcome::NotModified),
            Fetched::NotModified => return Err(answer(&url, "304 for a page not asked so")),
            Fetched::Body {
                body,
                validators: v,
                url: page_url,
                ..
            } => {
                if pages == 0 {
                    validators = v;
                }
                let Body::Memory(bytes) = body else {
                    unreachable!("pages are read into memory")
                };
                (bytes, page_url)
            }
        };
        pages += 1;
        let page: Value = serde_json::from_slice(&bytes)
            .map_err(|e| answer(&page_url, &format!("not JSON ({e}): {}", preview(&bytes))))?;
        let Some(list) = page.get("features").and_then(Value::as_array) else {
            return Err(answer(
                &page_url,
                &format!("not a GeoJSON FeatureCollection: {}", preview(&bytes)),
            ));
        };
        for feature in list {
            let mut feature = feature.clone();
            let Some(object) = feature.as_object_mut() else {
                return Err(answer(&page_url, "a feature that is not a JSON object"));
            };
            if let Some(id) = object.get("id").cloned() {
                let remote = match id {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                if let Some(Value::Object(p)) = object.get_mut("properties") {
                    p.insert("remote_id".into(), Value::String(remote));
                } else {
                    object.insert(
                        "properties".into(),
                        serde_json::json!({ "remote_id": remote }),
                    );
                }
            }
            if features > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut out, &feature).map_err(std::io::Error::from)?;
            features += 1;
        }
        next = next_link(&page, &page_url)?;
        // A page without features ends the collection, whatever its links say.
        if list.is_empty() {
            next = None;
        }
    }
    out.write_all(b"]}")?;
    out.flush()?;
    drop(out);
    Ok(Outcome::Harvested(Harvested {
        file,
        features,
        pages,
        validators,
    }))
}

/// The page's `next` link (GeoJSON or JSON, or of no type), resolved against the page.
fn next_link(page: &Value, base: &Url) -> Result<Option<Url>, HarvestError> {
    let Some(links) = page.get("links").and_then(Value::as_array) else {
        return Ok(None);
    };
    let next = links.iter().find(|l| {
        l.get("rel").and_then(Value::as_str) == Some("next")
            && l.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t.contains("json"))
    });
    let Some(href) = next.and_then(|l| l.get("href")).and_then(Value::as_str) else {
        return Ok(None);
    };
    base.join(href)
        .map(Some)
        .map_err(|e| answer(base, &format!("next link '{href}': {e}")))
}

fn answer(url: &Url, message: &str) -> HarvestError {
    HarvestError::Answer {
        url: super::net::without_credentials(url),
        message: message.to_string(),
    }
}

/// The start of a body, for an error message.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_urls_become_items_urls() {
        let u = |s: &str| items_url(&Url::parse(s).unwrap(), 500).to_string();
        assert_eq!(
            u("https://a.de/ogc/collections/aed"),
            "https://a.de/ogc/collections/aed/items?limit=500"
        );
        assert_eq!(
            u("https://a.de/collections/aed/items?f=json&limit=10&bbox=1,2,3,4"),
            "https://a.de/collections/aed/items?bbox=1%2C2%2C3%2C4&limit=500"
        );
        assert_eq!(
            u("https://a.de/collections/aed/"),
            "https://a.de/collections/aed/items?limit=500"
        );
    }

    #[test]
    fn next_links_are_followed_relative_to_the_page() {
        let base = Url::parse("https://a.de/collections/aed/items?limit=2").unwrap();
        let page = serde_json::json!({"links": [
            {"rel": "self", "href": "x"},
            {"rel": "next", "type": "text/html", "href": "items?f=html&offset=2"},
            {"rel": "next", "type": "application/geo+json", "href": "items?offset=2&limit=2"}
        ]});
        assert_eq!(
            next_link(&page, &base).unwrap().unwrap().as_str(),
            "https://a.de/collections/aed/items?offset=2&limit=2"
        );
        assert!(next_link(&serde_json::json!({}), &base).unwrap().is_none());
    }
}
