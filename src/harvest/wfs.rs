//! A WFS 2.0 `GetFeature` request read page by page (`STARTINDEX`, `COUNT`) into GML files,
//! which the ingest loads as one set (as it loads WFS pages given by hand).

use reqwest::Url;

use super::fetch::{Body, Client, FetchError, Fetched, Validators};
use super::ogcapi::HarvestError;

/// Pages read at most from one request.
const MAX_PAGES: u32 = 10_000;

/// The pages of a harvest.
#[derive(Debug)]
pub struct Pages {
    pub files: Vec<tempfile::NamedTempFile>,
    pub features: u64,
    /// The first page's, for the next conditional request.
    pub validators: Validators,
}

/// Unchanged since the validators, or read anew.
#[derive(Debug)]
pub enum Outcome {
    NotModified,
    Harvested(Pages),
}

/// The GetFeature URL of page `index`: the given one with `STARTINDEX` and `COUNT` set (keys
/// compared without case, as WFS does).
pub fn page_url(get_feature: &Url, page_size: u32, index: u32) -> Url {
    let mut url = get_feature.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("startindex")
                && !k.eq_ignore_ascii_case("count")
                && !k.eq_ignore_ascii_case("maxfeatures")
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let start = u64::from(page_size) * u64::from(index);
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("COUNT", &page_size.to_string())
        .append_pair("STARTINDEX", &start.to_string());
    url
}

/// How many features a page holds: its `numberReturned`, else its `member` elements.
pub fn returned(page: &[u8]) -> u64 {
    let head = &page[..page.len().min(8192)];
    let text = String::from_utf8_lossy(head);
    if let Some(at) = text.find("numberReturned=\"") {
        let rest = &text[at + "numberReturned=\"".len()..];
        if let Some(n) = rest.split('"').next().and_then(|n| n.parse().ok()) {
            return n;
        }
    }
    let needle = b":member>";
    let closing = page.windows(needle.len()).filter(|w| *w == needle).count() as u64;
    // Each member opens and closes: `<wfs:member>` and `</wfs:member>`.
    closing / 2
}

/// Reads the pages of `get_feature` until one holds fewer than `page_size` features.
pub async fn harvest(
    client: &Client,
    get_feature: &Url,
    page_size: u32,
    known: Option<&Validators>,
) -> Result<Outcome, HarvestError> {
    let mut files = Vec::new();
    let mut features = 0;
    let mut validators = Validators::default();
    for index in 0..MAX_PAGES {
        let url = page_url(get_feature, page_size, index);
        let conditional = if index == 0 { known } else { None };
        let fetched = client
            .download(&url, conditional)
            .await
            .map_err(HarvestError::from)?;
        let (file, v) = match fetched {
            Fetched::NotModified if index == 0 => return Ok(Outcome::NotModified),
            Fetched::NotModified => {
                return Err(FetchError::Transport {
                    url: super::net::without_credentials(&url),
                    message: "304 for a page not asked so".into(),
                }
                .into())
            }
            Fetched::Body {
                body: Body::File(file),
                validators,
                ..
            } => (file, validators),
            Fetched::Body { .. } => unreachable!("downloads go to files"),
        };
        if index == 0 {
            validators = v;
        }
        let bytes = std::fs::read(file.path())?;
        if bytes.windows(15).any(|w| w == b"ExceptionReport") {
            return Err(HarvestError::Answer {
                url: super::net::without_credentials(&url),
                message: format!(
                    "the WFS answered an exception: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                ),
            });
        }
        let n = returned(&bytes);
        features += n;
        if n > 0 {
            files.push(file);
        }
        if n < u64::from(page_size) {
            return Ok(Outcome::Harvested(Pages {
                files,
                features,
                validators,
            }));
        }
    }
    Err(HarvestError::Answer {
        url: super::net::without_credentials(get_feature),
        message: format!("more than {MAX_PAGES} pages"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_set_their_start_and_count() {
        let u = Url::parse(
            "https://geo.essen.de/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=hk&count=5&startIndex=10",
        )
        .unwrap();
        assert_eq!(
            page_url(&u, 1000, 2).as_str(),
            "https://geo.essen.de/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=hk&COUNT=1000&STARTINDEX=2000"
        );
    }

    #[test]
    fn features_of_a_page() {
        assert_eq!(
            returned(b"<wfs:FeatureCollection numberMatched=\"unknown\" numberReturned=\"17\">"),
            17
        );
        assert_eq!(
            returned(b"<wfs:FeatureCollection><wfs:member><a/></wfs:member><wfs:member><a/></wfs:member></wfs:FeatureCollection>"),
            2
        );
    }
}
