//! Who is asking, and under which name the server was addressed: the peer address, and the
//! client, host and scheme a proxy forwards (`Forwarded`, `X-Forwarded-*`) only when the
//! operator trusts one (`--trust-forwarded`). Anything that ends up in a link, an IRI or a log
//! line is checked here first: a request must not be able to write `javascript://…` into the
//! `next` links of a cached page or triples into the catalog. Middleware passes its
//! `ServiceRequest::request()`.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::error::{Error, Result};

/// The address of the TCP peer: the client, or the proxy in front of it.
pub fn peer(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

/// The client's address: the forwarded one when the proxy is trusted, else the peer.
pub fn address(req: &HttpRequest, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded {
        if let Some(ip) = req
            .connection_info()
            .realip_remote_addr()
            .and_then(parse_ip)
        {
            return Some(ip);
        }
    }
    peer(req)
}

/// The forwarded client address, for logs, only when the proxy is trusted.
pub fn forwarded_for(req: &HttpRequest, trust_forwarded: bool) -> Option<IpAddr> {
    if !trust_forwarded {
        return None;
    }
    let info = req.connection_info();
    let peer = info.peer_addr().map(str::to_string);
    info.realip_remote_addr()
        .filter(|a| Some(a.to_string()) != peer)
        .and_then(parse_ip)
}

fn parse_ip(address: &str) -> Option<IpAddr> {
    address
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| address.trim_matches(['[', ']']).parse::<IpAddr>())
        .ok()
}

/// The scheme and host the request addressed, checked: `Host` (or HTTP/2's authority) and the
/// connection's own scheme; the forwarded ones only when trusted.
pub fn authority(req: &HttpRequest, trust_forwarded: bool) -> Result<(String, String)> {
    let (scheme, host) = if trust_forwarded {
        let info = req.connection_info();
        (info.scheme().to_string(), info.host().to_string())
    } else {
        let (scheme, host) = direct(req);
        (scheme.to_string(), host.to_string())
    };
    check(&scheme, &host, trust_forwarded)?;
    Ok((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether [`authority`] would accept the request, without building its answer: every request
/// is checked, few build links.
pub fn check_authority(req: &HttpRequest, trust_forwarded: bool) -> Result<()> {
    if trust_forwarded {
        return authority(req, true).map(drop);
    }
    let (scheme, host) = direct(req);
    check(scheme, host, false)
}

/// The connection's scheme and the host the request names.
fn direct(req: &HttpRequest) -> (&'static str, &str) {
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .head()
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            req.head()
                .uri
                .authority()
                .map(actix_web::http::uri::Authority::as_str)
        })
        .unwrap_or_else(|| req.app_config().host());
    (scheme, host)
}

fn check(scheme: &str, host: &str, trust_forwarded: bool) -> Result<()> {
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(Error::invalid(
            "X-Forwarded-Proto",
            format!("'{}' is not http or https", scheme.to_ascii_lowercase()),
        ));
    }
    if !is_host(host) {
        let header = if trust_forwarded {
            "Host/X-Forwarded-Host"
        } else {
            "Host"
        };
        return Err(Error::invalid(
            header,
            "not a host name or address with an optional port",
        ));
    }
    Ok(())
}

/// A `--public-url`: http(s), a checked host, a path without characters that would break out
/// of a link or an IRI; returned without its trailing slash.
pub fn public_url(url: &str) -> std::result::Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("'{url}' is not an http or https URL"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !is_host(host) {
        return Err(format!(
            "'{host}' in '{url}' is not a host name with an optional port"
        ));
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>\"{}|\\^`?#".contains(c))
    {
        return Err(format!(
            "the path of '{url}' holds characters a link cannot (or a query or fragment)"
        ));
    }
    Ok(url.to_string())
}

/// `name[:port]`, `a.b.c.d[:port]` or `[v6][:port]`.
pub fn is_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 255 {
        return false;
    }
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) => {
                if v6.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                match after {
                    "" => return true,
                    p => match p.strip_prefix(':') {
                        Some(port) => return is_port(port),
                        None => return false,
                    },
                }
            }
            None => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    // Underscores are no DNS, but Docker and Compose name services so (`geo_api:8080`).
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    // A fully qualified name may end with a dot.
    let name = name.strip_suffix('.').unwrap_or(name);
    name.split('.').all(label) && port.is_none_or(is_port)
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::is_host;

    #[test]
    fn hosts() {
        for good in [
            "localhost",
            "localhost:8080",
            "geo.landkreis-lueneburg.de",
            "geo.example.de.",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:8080",
            "xn--mnchen-3ya.de",
            "geo_api:8080",
            "GEO.Example.DE",
        ] {
            assert!(is_host(good), "{good}");
        }
        for bad in [
            "",
            "evil.example/x",
            "javascript://x",
            "a b",
            "a>b",
            "host:0",
            "host:99999",
            "host:",
            "-a.de",
            "a..de",
            "[::1",
            "[zz]:80",
            "a.de:80:80",
            "a\"b",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
        assert_eq!(
            super::public_url("https://geo.example.de/portal/").as_deref(),
            Ok("https://geo.example.de/portal")
        );
        for bad in [
            "ftp://x.de",
            "javascript://x",
            "https://x.de/a b",
            "https://x.de/<",
            "https://x y",
            "https://x.de?q=1",
        ] {
            assert!(super::public_url(bad).is_err(), "{bad}");
        }
    }
}
