//! What a harvest may connect to: http and https only, and never into the server's own
//! networks — loopback, private, link-local, carrier-grade NAT, multicast, documentation,
//! benchmarking, reserved or unspecified addresses — unless the operator names the host
//! (`--harvest-allow-hosts`). Names are checked on every address they resolve to (the
//! connection then uses only those), literal addresses in the URL, and every redirect, so
//! neither a DNS answer nor a 302 can lead inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;

/// Hosts the operator allows although they resolve inside (a neighbour on the county network,
/// the tests' loopback servers).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: Arc<Vec<String>>,
}

/// Why a URL is not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Policy {
    /// Allows `hosts` (names or addresses, compared without case).
    pub fn allowing(hosts: impl IntoIterator<Item = String>) -> Self {
        Self {
            allow: Arc::new(
                hosts
                    .into_iter()
                    .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
            ),
        }
    }

    /// Whether `host` was named by the operator.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.allow.contains(&host)
    }

    /// Checks what can be checked before resolving: the scheme, credentials in the URL, and a
    /// literal address.
    pub fn check(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!(
                "{url}: only http and https URLs are fetched, not {}",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused(format!(
                "{}: credentials do not belong in a source's URL; give them by environment \
                 variable or file",
                without_credentials(url)
            )));
        }
        let Some(host) = url.host() else {
            return Err(Refused(format!("{url}: no host")));
        };
        let ip = match host {
            url::Host::Domain(_) => return Ok(()),
            url::Host::Ipv4(a) => IpAddr::V4(a),
            url::Host::Ipv6(a) => IpAddr::V6(a),
        };
        if is_public(ip) || self.allows(&ip.to_string()) {
            Ok(())
        } else {
            Err(inside(&ip.to_string(), ip))
        }
    }

    /// The addresses of `name` a connection may use.
    pub fn admit(&self, name: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refused> {
        if self.allows(name) {
            return Ok(addrs);
        }
        let first = addrs.first().map(SocketAddr::ip);
        let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_public(a.ip())).collect();
        match (public.is_empty(), first) {
            (false, _) => Ok(public),
            (true, Some(ip)) => Err(inside(name, ip)),
            (true, None) => Err(Refused(format!("{name}: no address"))),
        }
    }
}

fn inside(host: &str, ip: IpAddr) -> Refused {
    Refused(format!(
        "{host} is {ip}, an address inside the server's own networks (loopback, private, \
         link-local …): not fetched unless the operator allows the host \
         (serve --harvest-allow-hosts)"
    ))
}

/// The URL as logs and errors may show it.
pub fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Whether `ip` is an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => public_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return public_v4(v4);
            }
            public_v6(a)
        }
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_documentation()
        || a.is_multicast()
        || o0 == 0
        // Carrier-grade NAT 100.64.0.0/10.
        || (o0 == 100 && (64..128).contains(&o1))
        // IETF protocol assignments 192.0.0.0/24.
        || (o0 == 192 && o1 == 0 && o2 == 0)
        // Benchmarking 198.18.0.0/15.
        || (o0 == 198 && (o1 == 18 || o1 == 19))
        // Reserved 240.0.0.0/4.
        || o0 >= 240)
}

fn public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that decides.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        // Unique local fc00::/7.
        || (s[0] & 0xfe00) == 0xfc00
        // Link-local fe80::/10.
        || (s[0] & 0xffc0) == 0xfe80
        // Documentation 2001:db8::/32.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // IPv4-compatible (deprecated) ::a.b.c.d.
        || s[..6] == [0, 0, 0, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_not_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.178.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2a00:1450:4001::1",
            "64:ff9b::5db8:d822",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_checked_before_they_are_fetched() {
        let policy = Policy::allowing(["localhost".to_string()]);
        let ok = |u: &str| policy.check(&Url::parse(u).unwrap());
        assert!(ok("https://geoportal.example.de/collections/aed").is_ok());
        assert!(ok("http://localhost:8080/").is_ok());
        for refused in [
            "file:///etc/passwd",
            "ftp://example.de/a.csv",
            "gopher://example.de/",
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://169.254.169.254/latest/meta-data/",
            "https://user:secret@example.de/",
        ] {
            let e = ok(refused).expect_err(refused);
            assert!(!e.0.contains("secret"), "{e}");
        }
        let allowed = Policy::allowing(["127.0.0.1".to_string()]);
        assert!(allowed
            .check(&Url::parse("http://127.0.0.1:9/").unwrap())
            .is_ok());
    }

    #[test]
    fn resolved_names_keep_only_public_addresses() {
        let policy = Policy::default();
        let addr = |s: &str| -> SocketAddr { s.parse().unwrap() };
        assert_eq!(
            policy
                .admit(
                    "mixed.example",
                    vec![addr("10.0.0.1:80"), addr("1.1.1.1:80")]
                )
                .unwrap(),
            vec![addr("1.1.1.1:80")]
        );
        assert!(policy
            .admit("rebind.example", vec![addr("127.0.0.1:80")])
            .is_err());
        let allowed = Policy::allowing(["intern.kreis.local".to_string()]);
        assert!(allowed
            .admit("INTERN.kreis.local", vec![addr("10.0.0.1:80")])
            .is_ok());
    }
}
