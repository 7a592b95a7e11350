//! Content negotiation by the weights of RFC 9110 §12.5: `Accept` and `Accept-Encoding` lists
//! are read with their `q` values, and an offer is chosen by the weight of the most specific
//! range that matches it; among equal weights, for media types the range the client named
//! first wins, for codings the server's order (most compact first). `q=0` refuses.

/// One element of a header list: its value (lower case), weight and position.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range<'a> {
    value: &'a str,
    q: f32,
    position: usize,
}

fn ranges(header: &str) -> impl Iterator<Item = Range<'_>> {
    header
        .split(',')
        .enumerate()
        .filter_map(|(position, part)| {
            let mut params = part.split(';');
            let value = params.next()?.trim();
            if value.is_empty() {
                return None;
            }
            let q = params
                .find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f32>().ok())?
                })
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            Some(Range { value, q, position })
        })
}

/// How specifically `range` names the media type `offer` (2 exact, 1 `type/*`, 0 `*/*`), if
/// it does.
fn media_match(range: &str, offer: &str) -> Option<u8> {
    if range.eq_ignore_ascii_case(offer) {
        return Some(2);
    }
    if range == "*/*" {
        return Some(0);
    }
    let (kind, sub) = range.split_once('/')?;
    (sub == "*" && offer.split('/').next()?.eq_ignore_ascii_case(kind)).then_some(1)
}

/// The weight and position of the range of `header` that decides for `offer`: the most
/// specific match (its first occurrence).
fn weight(
    header: &str,
    offer: &str,
    matches: fn(&str, &str) -> Option<u8>,
) -> Option<(f32, usize)> {
    ranges(header)
        .filter_map(|r| matches(r.value, offer).map(|s| (s, r)))
        .max_by(|(a, ra), (b, rb)| a.cmp(b).then(rb.position.cmp(&ra.position)))
        .map(|(_, r)| (r.q, r.position))
}

/// Among equal weights, who decides.
#[derive(Clone, Copy, PartialEq)]
enum Ties {
    /// The range the client named first (media types: `text/html, application/json`).
    Client,
    /// The server's order (codings: browsers list `gzip, deflate, br`; the smallest wins).
    Server,
}

fn choose<T: Copy>(
    header: &str,
    offers: &[(&str, T)],
    matches: fn(&str, &str) -> Option<u8>,
    ties: Ties,
) -> Option<T> {
    offers
        .iter()
        .enumerate()
        .filter_map(|(order, (offer, value))| {
            let (q, position) = weight(header, offer, matches)?;
            let position = if ties == Ties::Client { position } else { 0 };
            (q > 0.0).then_some((q, position, order, *value))
        })
        // Highest weight; then the client's first (for media types); then the server's first.
        .min_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)))
        .map(|(_, _, _, value)| value)
}

/// The offer (a media type and what it stands for) that `accept` prefers; `None` without a
/// header or when it accepts none of them (the caller's default then applies).
pub fn media<T: Copy>(accept: Option<&str>, offers: &[(&str, T)]) -> Option<T> {
    choose(accept?, offers, media_match, Ties::Client)
}

/// The content coding of `offers` (most compact first) that `accept_encoding` prefers; `*`
/// stands for any coding not named. `None`: none of them is acceptable.
pub fn coding<T: Copy>(accept_encoding: &str, offers: &[(&str, T)]) -> Option<T> {
    fn coding_match(range: &str, offer: &str) -> Option<u8> {
        match range {
            r if r.eq_ignore_ascii_case(offer) => Some(1),
            "*" => Some(0),
            _ => None,
        }
    }
    choose(accept_encoding, offers, coding_match, Ties::Server)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[(&str, &str)] = &[("application/json", "json"), ("text/html", "html")];

    #[test]
    fn weights_decide_then_the_clients_order_then_the_servers() {
        let m = |a| media(Some(a), DOC);
        assert_eq!(m("text/html;q=0.1, application/json"), Some("json"));
        assert_eq!(m("application/json;q=0.5, text/html"), Some("html"));
        // A browser.
        assert_eq!(
            m("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some("html")
        );
        // GDAL, curl, tie in weight: the client's first.
        assert_eq!(m("application/json"), Some("json"));
        assert_eq!(m("*/*"), Some("json"));
        assert_eq!(m("text/html, application/json"), Some("html"));
        assert_eq!(m("text/*;q=0.3, application/json;q=0.2"), Some("html"));
        // The most specific range decides: HTML refused although */* is welcome.
        assert_eq!(m("text/html;q=0, */*"), Some("json"));
        assert_eq!(m("image/png"), None);
        assert_eq!(media(None, DOC), None);
        assert_eq!(m("application/json;Q=0.2 , text/html;q=0.3"), Some("html"));
    }

    #[test]
    fn codings_by_weight() {
        const CODINGS: &[(&str, &str)] = &[("br", "br"), ("gzip", "gzip")];
        let c = |a| coding(a, CODINGS);
        assert_eq!(c("gzip, deflate, br"), Some("br"));
        assert_eq!(c("br;q=0.1, gzip"), Some("gzip"));
        assert_eq!(c("gzip;q=0, br;q=0"), None);
        assert_eq!(c("*"), Some("br"));
        assert_eq!(c("*;q=0, identity"), None);
        assert_eq!(c("deflate"), None);
    }
}
