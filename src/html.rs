//! HTML views of the OGC resources: the same documents as the JSON, for people with a browser
//! (`f=html`, or a browser's `Accept: text/html`). Plain, server-rendered, no scripts, no CDN;
//! every value from the data is escaped here.

use std::fmt::Write as _;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use serde_json::Value as Json;

use crate::catalog::Version;
use crate::error::{Error, Result};
use crate::ogc::Link;
use crate::value::{FeatureRow, Value};

/// How a single-resource document is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Json,
    Html,
}

impl DocFormat {
    /// `f` decides (`json`, `html`); without it, HTML only for clients that ask for it first
    /// (browsers), JSON for everyone else.
    pub fn negotiate(f: Option<&str>, accept: Option<&str>) -> Result<Self> {
        match f {
            Some("json" | "geojson") => Ok(Self::Json),
            Some("html") => Ok(Self::Html),
            Some(other) => Err(Error::invalid(
                "f",
                format!("unsupported format '{other}'; supported: json, html"),
            )),
            None => Ok(if prefers_html(accept) {
                Self::Html
            } else {
                Self::Json
            }),
        }
    }
}

impl DocFormat {
    /// The format a request asks for (`f`, else its Accept header).
    pub fn of(req: &HttpRequest, f: Option<&str>) -> Result<Self> {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        Self::negotiate(f, accept)
    }
}

/// Answers `doc` as JSON, or as a page titled `title` when the request asked for HTML.
pub fn answer<T: Serialize>(
    format: DocFormat,
    req: &HttpRequest,
    mut response: HttpResponseBuilder,
    title: &str,
    doc: &T,
) -> HttpResponse {
    response.insert_header((header::VARY, "Accept"));
    match format {
        DocFormat::Json => response.json(doc),
        DocFormat::Html => {
            let mut json_href = format!("{}?f=json", req.path());
            for pair in req.query_string().split('&') {
                if !pair.is_empty() && !pair.starts_with("f=") {
                    json_href.push('&');
                    json_href.push_str(pair);
                }
            }
            let doc = serde_json::to_value(doc).unwrap_or_default();
            response
                .content_type(HTML)
                .body(document(title, &json_href, &doc))
        }
    }
}

/// Media type of the pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// Whether `text/html` comes before any JSON type in `Accept` (browsers list it first).
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let html = accept.find("text/html");
    let json = accept.find("json");
    match (html, json) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `s` safe as HTML text and attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:1rem auto;\
padding:0 1rem;line-height:1.5;color:#1b1b1b}a{color:#0b57d0}table{border-collapse:collapse;\
width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;\
vertical-align:top}th{background:#f2f2f2}nav a{margin-right:1rem}\
@media(max-width:40rem){table{display:block;overflow-x:auto}}";

/// The start of a page, up to and including the opening of `<main>`.
pub fn head(title: &str, json_href: &str) -> String {
    let t = escape(title);
    format!(
        "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} – kreisgeo</title><style>{STYLE}</style>\
         <link rel=\"alternate\" type=\"application/json\" href=\"{json}\"></head><body>\
         <nav aria-label=\"Navigation\"><a href=\"/?f=html\">Start</a>\
         <a href=\"/collections?f=html\">Datensätze / Collections</a>\
         <a href=\"/api.html\">API</a><a href=\"{json}\">JSON</a></nav><main><h1>{t}</h1>",
        json = escape(json_href)
    )
}

/// The end of a page.
pub const FOOT: &str = "</main></body></html>";

/// A link list from a document's `links`, pointing at the HTML views where there are any.
fn links(out: &mut String, links: &Json) {
    let Some(links) = links.as_array() else {
        return;
    };
    out.push_str("<h2>Links</h2><ul>");
    for l in links {
        let href = l["href"].as_str().unwrap_or_default();
        let title = l["title"].as_str().unwrap_or(href);
        let rel = l["rel"].as_str().unwrap_or_default();
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a> ({})</li>",
            escape(&html_href(href, l["type"].as_str())),
            escape(title),
            escape(rel)
        );
    }
    out.push_str("</ul>");
}

/// The HTML view of a JSON resource link, where kreisgeo has one.
pub fn html_href(href: &str, media_type: Option<&str>) -> String {
    let has_view = matches!(
        media_type,
        Some("application/json" | "application/geo+json")
    ) && !href.contains('{')
        && !href.contains("/api");
    if !has_view {
        return href.to_string();
    }
    let (path, query) = href.split_once('?').unwrap_or((href, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("f="))
        .collect();
    let mut out = format!("{path}?f=html");
    for p in kept {
        out.push('&');
        out.push_str(p);
    }
    out
}

/// A JSON document (landing page, conformance, collections, collection) as a page.
pub fn document(title: &str, json_href: &str, doc: &Json) -> String {
    let mut out = head(title, json_href);
    if let Some(d) = doc["description"].as_str() {
        let _ = write!(out, "<p>{}</p>", escape(d));
    }
    if let Some(classes) = doc["conformsTo"].as_array() {
        out.push_str("<ul>");
        for c in classes.iter().filter_map(Json::as_str) {
            let _ = write!(out, "<li>{}</li>", escape(c));
        }
        out.push_str("</ul>");
    }
    if let Some(collections) = doc["collections"].as_array() {
        out.push_str(
            "<table><caption>Datensätze / Collections</caption><thead><tr><th scope=\"col\">\
             Titel / Title</th><th scope=\"col\">Art / Kind</th><th scope=\"col\">Objekte / \
             Features</th><th scope=\"col\">Beschreibung / Description</th></tr></thead><tbody>",
        );
        for c in collections {
            let id = c["id"].as_str().unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td><a href=\"/collections/{}?f=html\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(id),
                escape(c["title"].as_str().unwrap_or(id)),
                escape(c["kind"].as_str().unwrap_or_default()),
                c["featureCount"].as_i64().unwrap_or_default(),
                escape(c["description"].as_str().unwrap_or_default()),
            );
        }
        out.push_str("</tbody></table>");
    }
    if let Some(b) = doc["extent"]["spatial"]["bbox"][0].as_array() {
        let numbers: Vec<String> = b.iter().map(ToString::to_string).collect();
        let _ = write!(
            out,
            "<p>Ausdehnung / Extent (CRS84): {}</p>",
            escape(&numbers.join(", "))
        );
    }
    if let Some(items) = doc["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "items"))
    {
        let _ = write!(
            out,
            "<p><a href=\"{}\">Objekte ansehen / Browse the features</a></p>",
            escape(&html_href(
                items["href"].as_str().unwrap_or_default(),
                Some("application/geo+json")
            ))
        );
    }
    links(&mut out, &doc["links"]);
    out.push_str(FOOT);
    out
}

/// One feature as a page: its attributes as a table, and its links.
pub fn feature_page(
    title: &str,
    json_href: &str,
    version: &Version,
    row: &FeatureRow,
    feature_links: &[Link],
) -> String {
    let mut out = head(title, json_href);
    out.push_str("<table><caption>Eigenschaften / Properties</caption><tbody>");
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
        &serde_json::to_value(feature_links).unwrap_or_default(),
    );
    out.push_str(FOOT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_and_escaping() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(
            DocFormat::negotiate(None, Some(browser)).unwrap(),
            DocFormat::Html
        );
        assert_eq!(DocFormat::negotiate(None, None).unwrap(), DocFormat::Json);
        assert_eq!(
            DocFormat::negotiate(None, Some("application/json, text/html")).unwrap(),
            DocFormat::Json
        );
        assert!(DocFormat::negotiate(Some("xml"), None).is_err());
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(
            html_href(
                "http://h/collections/a/items?limit=5&f=json",
                Some("application/geo+json")
            ),
            "http://h/collections/a/items?f=html&limit=5"
        );
        assert_eq!(
            html_href("http://h/api", Some("application/json")),
            "http://h/api"
        );
    }
}
