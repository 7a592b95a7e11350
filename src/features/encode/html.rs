//! HTML output of `/items`: a map of the page, the page as a table and paging links, streamed
//! like the other formats.

use std::fmt::Write as _;

use super::{FeatureEncoder, PageEnd};
use crate::catalog::Version;
use crate::error::Result;
use crate::html::page::foot;
use crate::html::{escape, View};
use crate::value::{FeatureRow, Value};

pub use crate::html::HTML;

pub struct HtmlEncoder {
    view: View,
    /// The page up to its table: heading, navigation, map.
    start: String,
    /// `/collections/{id}/items`, for the links to single features and to the first page.
    items_path: String,
    columns: Vec<String>,
    /// Whether this page came from a cursor (then it links back to the first).
    paged: bool,
}

impl HtmlEncoder {
    pub fn new(version: &Version, view: View, start: String, paged: bool) -> Self {
        Self {
            view,
            start,
            items_path: format!("/collections/{}/items", version.dataset_id),
            columns: version.columns.iter().map(|c| c.original.clone()).collect(),
            paged,
        }
    }
}

impl FeatureEncoder for HtmlEncoder {
    fn content_type(&self) -> &'static str {
        HTML
    }

    fn begin(&mut self, out: &mut Vec<u8>) {
        let mut s = std::mem::take(&mut self.start);
        let _ = write!(
            s,
            "<table><caption>{}</caption><thead><tr><th scope=\"col\">id</th>",
            self.view
                .pick("Objekte dieser Seite", "Features on this page")
        );
        for c in &self.columns {
            let _ = write!(s, "<th scope=\"col\">{}</th>", escape(c));
        }
        s.push_str("</tr></thead><tbody>");
        out.extend_from_slice(s.as_bytes());
    }

    fn feature(&mut self, out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        let href = self.view.href(
            &format!("{}/{}", self.items_path, row.fid),
            Some("application/geo+json"),
        );
        let mut s = format!("<tr><td><a href=\"{}\">{}</a></td>", escape(&href), row.fid);
        for value in &row.values {
            let text = value.as_ref().map(Value::to_text).unwrap_or_default();
            let _ = write!(s, "<td>{}</td>", escape(&text));
        }
        s.push_str("</tr>");
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        let view = self.view;
        let mut s = String::from("</tbody></table><p>");
        let _ = match page.number_matched {
            Some(matched) => write!(
                s,
                "{} {} {matched} {}",
                page.number_returned,
                view.pick("von", "of"),
                view.pick("Objekten", "features")
            ),
            None => write!(
                s,
                "{} {}",
                page.number_returned,
                view.pick("Objekte auf dieser Seite", "features on this page")
            ),
        };
        let _ = write!(
            s,
            "</p><nav aria-label=\"{}\"><ul class=\"pager\">",
            view.pick("Seiten", "Pages")
        );
        if self.paged {
            let _ = write!(
                s,
                "<li><a rel=\"first\" href=\"{}\">{}</a></li>",
                escape(&view.href(&self.items_path, Some("application/geo+json"))),
                view.pick("Erste Seite", "First page")
            );
        }
        for l in &page.links {
            let label = match l.rel.as_str() {
                "next" => view.pick("Nächste Seite", "Next page"),
                "collection" => view.pick("Zum Datensatz", "The collection"),
                _ => continue,
            };
            let _ = write!(
                s,
                "<li><a rel=\"{}\" href=\"{}\">{label}</a></li>",
                escape(&l.rel),
                escape(&view.href(&l.href, Some("application/geo+json")))
            );
        }
        s.push_str("</ul></nav>");
        s.push_str(&foot(view));
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
