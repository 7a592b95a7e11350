//! HTML output of `/items`: the page as a table, with paging links, streamed like the others.

use std::fmt::Write as _;

use super::{FeatureEncoder, PageEnd};
use crate::catalog::Version;
use crate::error::Result;
use crate::html::{escape, head, html_href, FOOT};
use crate::value::{FeatureRow, Value};

pub use crate::html::HTML;

pub struct HtmlEncoder {
    title: String,
    json_href: String,
    /// `/collections/{id}/items`, for the links to single features.
    items_path: String,
    columns: Vec<String>,
}

impl HtmlEncoder {
    pub fn new(version: &Version, title: &str, json_href: String) -> Self {
        Self {
            title: title.to_string(),
            json_href,
            items_path: format!("/collections/{}/items", version.dataset_id),
            columns: version.columns.iter().map(|c| c.original.clone()).collect(),
        }
    }
}

impl FeatureEncoder for HtmlEncoder {
    fn content_type(&self) -> &'static str {
        HTML
    }

    fn begin(&mut self, out: &mut Vec<u8>) {
        let mut s = head(
            &format!("{} – Objekte / Features", self.title),
            &self.json_href,
        );
        s.push_str(
            "<table><caption>Objekte / Features</caption><thead><tr><th scope=\"col\">id</th>",
        );
        for c in &self.columns {
            let _ = write!(s, "<th scope=\"col\">{}</th>", escape(c));
        }
        s.push_str("</tr></thead><tbody>");
        out.extend_from_slice(s.as_bytes());
    }

    fn feature(&mut self, out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        let mut s = format!(
            "<tr><td><a href=\"{}/{}?f=html\">{}</a></td>",
            escape(&self.items_path),
            row.fid,
            row.fid
        );
        for value in &row.values {
            let text = value.as_ref().map(Value::to_text).unwrap_or_default();
            let _ = write!(s, "<td>{}</td>", escape(&text));
        }
        s.push_str("</tr>");
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        let mut s = String::from("</tbody></table><p>");
        let _ = write!(s, "{} Objekte auf dieser Seite", page.number_returned);
        if let Some(matched) = page.number_matched {
            let _ = write!(s, " von {matched}");
        }
        s.push_str(" / features on this page.</p><nav aria-label=\"Seiten / Pages\"><ul>");
        for l in &page.links {
            let label = match l.rel.as_str() {
                "next" => "Nächste Seite / Next page",
                "collection" => "Zum Datensatz / The collection",
                _ => continue,
            };
            let _ = write!(
                s,
                "<li><a rel=\"{}\" href=\"{}\">{label}</a></li>",
                escape(&l.rel),
                escape(&html_href(&l.href, Some("application/geo+json")))
            );
        }
        s.push_str("</ul></nav>");
        s.push_str(FOOT);
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
