//! Output encoders. A format is one [`FeatureEncoder`]; paging, chunking and streaming are shared
//! in [`encode_page`].

pub mod csv;
pub mod fgb;
pub mod geojson;
pub mod gml;
pub mod gpkg;
pub mod html;
pub mod inspire_cp;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::error::Result;
use crate::ogc::Link;
use crate::value::FeatureRow;

/// Output formats of `/items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemsFormat {
    GeoJson,
    Csv,
    FlatGeobuf,
    Html,
    /// GML 3.2; only in a data model that defines it (`profile=inspire-cp`).
    Gml,
}

impl ItemsFormat {
    /// `f` decides; without it the Accept header; GeoJSON by default.
    pub fn negotiate(f: Option<&str>, accept: Option<&str>) -> Result<Self> {
        match f {
            Some("json" | "geojson") => Ok(Self::GeoJson),
            Some("csv") => Ok(Self::Csv),
            Some("fgb" | "flatgeobuf") => Ok(Self::FlatGeobuf),
            Some("html") => Ok(Self::Html),
            Some("gml") => Ok(Self::Gml),
            Some(other) => Err(crate::error::Error::invalid(
                "f",
                format!("unsupported format '{other}'; supported: json, csv, fgb, html, gml (with profile=inspire-cp)"),
            )),
            None => Ok(crate::negotiate::media(
                accept,
                &[
                    ("application/geo+json", Self::GeoJson),
                    ("application/json", Self::GeoJson),
                    ("application/flatgeobuf", Self::FlatGeobuf),
                    ("text/csv", Self::Csv),
                    ("text/html", Self::Html),
                    ("application/gml+xml", Self::Gml),
                ],
            )
            .unwrap_or(Self::GeoJson)),
        }
    }

    /// The `f` value that selects this format.
    pub fn param(self) -> &'static str {
        match self {
            Self::GeoJson => "json",
            Self::Csv => "csv",
            Self::FlatGeobuf => "fgb",
            Self::Html => "html",
            Self::Gml => "gml",
        }
    }

    /// Whether the format carries links (`next`) in its body; the others get a `Link` header.
    pub fn links_in_body(self) -> bool {
        matches!(self, Self::GeoJson | Self::Html)
    }
}

/// Chunks of about this size are handed to the HTTP layer.
const CHUNK_BYTES: usize = 64 * 1024;

/// What an encoder learns only at the end of a page.
pub struct PageEnd {
    pub number_returned: u64,
    pub number_matched: Option<i64>,
    pub links: Vec<Link>,
}

/// Writes one output format, feature by feature.
pub trait FeatureEncoder: Send + 'static {
    /// The media type of the output.
    fn content_type(&self) -> &'static str;
    fn begin(&mut self, out: &mut Vec<u8>);
    fn feature(&mut self, out: &mut Vec<u8>, row: &FeatureRow) -> Result<()>;
    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()>;
    /// [`FeatureEncoder::end`] straight into a file (a download). Formats whose end is the
    /// bulk of their output (FlatGeobuf and GeoPackage write the whole file there) write it
    /// through, instead of holding it in memory.
    fn end_into(&mut self, sink: &mut dyn std::io::Write, page: &PageEnd) -> Result<()> {
        let mut out = Vec::new();
        self.end(&mut out, page)?;
        sink.write_all(&out)
            .map_err(|e| crate::error::Error::Internal(format!("writing a download: {e}")))
    }
    /// Whether the format shows `numberMatched` (then the first page counts the matches).
    fn shows_number_matched(&self) -> bool {
        true
    }
}

/// How a page learns `numberMatched`.
pub enum Matched {
    /// Known before the rows: the catalog's count without filters, or the count a cursor
    /// carries from its first page (`None`: that page did not count).
    Known(Option<i64>),
    /// Counted by the page query itself, on every row ([`PageRow::matched`]).
    InRows,
}

/// A row of a page and, when the page query counted, the number of all matching features.
pub struct PageRow {
    pub feature: FeatureRow,
    pub matched: Option<i64>,
}

/// Everything about a page that is known before its rows.
pub struct PageSpec {
    pub limit: u32,
    pub matched: Matched,
    /// Whether this is the first page (no cursor).
    pub first: bool,
    /// Links of every page (self, collection …).
    pub links: Vec<Link>,
    /// Builds the `next` link from the id of the last feature written and `numberMatched`.
    pub next_link: Box<dyn Fn(i64, Option<i64>) -> Link + Send>,
}

/// Streams a page: rows come with one extra row when another page follows, which turns into
/// the `next` link instead of a feature. Memory stays at one chunk whatever the page size.
pub fn encode_page<E: FeatureEncoder>(
    mut rows: BoxStream<'static, Result<PageRow>>,
    mut encoder: E,
    spec: PageSpec,
) -> BoxStream<'static, Result<Bytes>> {
    async_stream::try_stream! {
        let mut out = Vec::with_capacity(CHUNK_BYTES + 4096);
        encoder.begin(&mut out);
        let mut returned: u64 = 0;
        let mut last_fid = None;
        let mut has_more = false;
        let mut counted = None;
        while let Some(row) = rows.next().await {
            let row = row?;
            if returned == 0 {
                counted = row.matched;
            }
            if returned == u64::from(spec.limit) {
                has_more = true;
                break;
            }
            encoder.feature(&mut out, &row.feature)?;
            returned += 1;
            last_fid = Some(row.feature.fid);
            if out.len() >= CHUNK_BYTES {
                yield Bytes::from(std::mem::replace(&mut out, Vec::with_capacity(CHUNK_BYTES + 4096)));
            }
        }
        let number_matched = match spec.matched {
            // A first page that is not full is everything that matched.
            _ if spec.first && !has_more => Some(i64::try_from(returned).unwrap_or(i64::MAX)),
            Matched::Known(m) => m,
            Matched::InRows => counted,
        };
        let mut links = spec.links;
        if let (true, Some(fid)) = (has_more, last_fid) {
            links.push((spec.next_link)(fid, number_matched));
        }
        let number_matched = number_matched.filter(|_| encoder.shows_number_matched());
        encoder.end(&mut out, &PageEnd { number_returned: returned, number_matched, links })?;
        yield Bytes::from(out);
    }
    .boxed()
}
