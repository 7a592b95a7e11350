//! HTML views of the OGC resources: the same documents as the JSON, for people with a browser
//! (`f=html`, or a browser's `Accept: text/html`), in German or English. Server-rendered; the
//! only scripts are the maps of feature pages, from the binary (no CDN). Every value from the
//! data is escaped here.

pub mod assets;
pub mod lang;
pub mod legal;
pub mod map;
pub mod page;
mod views;

pub use lang::Lang;
pub use views::{dataset_page, document, feature_page};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::error::{Error, Result};

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

/// Answers `doc` as JSON, or as a page titled `title` (German, English) when the request
/// asked for HTML.
pub fn answer<T: Serialize>(
    format: DocFormat,
    req: &HttpRequest,
    mut response: HttpResponseBuilder,
    title: (&str, &str),
    doc: &T,
) -> Result<HttpResponse> {
    response.insert_header((header::VARY, "Accept, Accept-Language"));
    Ok(match format {
        DocFormat::Json => response.json(doc),
        DocFormat::Html => {
            let view = View::of(req)?;
            let doc = serde_json::to_value(doc).unwrap_or_default();
            response
                .content_type(HTML)
                .body(document(req, view, view.pick(title.0, title.1), &doc))
        }
    })
}

/// How a page is shown: its language, and whether the visitor chose it with `lang` (then the
/// page's links carry the choice on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub lang: Lang,
    chosen: bool,
}

impl View {
    pub fn of(req: &HttpRequest) -> Result<Self> {
        Ok(Self {
            lang: Lang::of(req)?,
            chosen: req
                .query_string()
                .split('&')
                .any(|p| p.starts_with("lang=")),
        })
    }

    /// This view in German (Leichte Sprache is German only).
    pub fn german(self) -> Self {
        Self {
            lang: Lang::De,
            chosen: self.chosen,
        }
    }

    /// The German or the English text.
    pub fn pick<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(de, en)
    }

    /// The HTML view of a link where kreisgeo has one, in this page's language.
    pub fn href(self, href: &str, media_type: Option<&str>) -> String {
        let out = html_href(href, media_type);
        if self.chosen && out.contains("f=html") {
            format!("{out}&lang={}", self.lang.code())
        } else {
            out
        }
    }
}

/// Media type of the pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// Whether `text/html` comes before any JSON type in `Accept` (browsers list it first).
pub fn prefers_html(accept: Option<&str>) -> bool {
    // Every machine format kreisgeo serves competes with HTML; a tie goes to the one the
    // client named first, `*/*` alone to a machine format.
    const OFFERS: &[(&str, bool)] = &[
        ("application/json", false),
        ("application/geo+json", false),
        ("application/ld+json", false),
        ("application/rdf+xml", false),
        ("text/turtle", false),
        ("text/csv", false),
        ("application/flatgeobuf", false),
        ("application/schema+json", false),
        ("application/vnd.oai.openapi+json", false),
        ("text/html", true),
    ];
    crate::negotiate::media(accept, OFFERS).unwrap_or(false)
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
        .filter(|p| !p.is_empty() && !p.starts_with("f=") && !p.starts_with("lang="))
        .collect();
    let mut out = format!("{path}?f=html");
    for p in kept {
        out.push('&');
        out.push_str(p);
    }
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
