//! kreisgeo's own basemap, drawn from a loaded OpenStreetMap extract (`--kind osm`): vector
//! tiles of its layers with a generalisation per zoom ([`tiles`]), a MapLibre style
//! ([`style`]) and the glyphs of its labels ([`fonts`]), all from this server, so that a
//! citizen's map loads nothing from elsewhere. Anchors: OpenMapTiles and Planetiler (layers,
//! zoom rules), Martin (glyph ranges from a font).

pub mod fonts;
pub mod style;
pub mod tiles;

use crate::catalog::{Collection, DatasetKind};

/// The attribution ODbL asks for, shown on the map.
pub const ATTRIBUTION: &str =
    "<a href=\"https://www.openstreetmap.org/copyright\">© OpenStreetMap-Mitwirkende</a>";

/// The collection the basemap is drawn from: `configured`, else the first OSM dataset by id.
pub fn source<'a>(
    collections: &'a [Collection],
    configured: Option<&str>,
) -> Option<&'a Collection> {
    match configured {
        Some(id) => collections
            .iter()
            .find(|c| c.id == id && c.kind == DatasetKind::Osm),
        None => collections
            .iter()
            .filter(|c| c.kind == DatasetKind::Osm)
            .min_by(|a, b| a.id.cmp(&b.id)),
    }
}

/// The origin (`https://host[:port]`) of an external style URL; an error says what is wrong.
pub fn external_origin(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("'{url}' is no URL (https://…)"))?;
    if !matches!(scheme, "https" | "http") {
        return Err(format!("'{url}': only http and https styles"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let valid = !host.is_empty()
        && !host.contains('@')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid {
        return Err(format!("'{url}': no valid host"));
    }
    Ok(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// The HTML pages' content security policy: everything from this origin only, no inline
/// scripts; inline styles (the pages' one stylesheet) and blob workers (map rendering)
/// allowed; and `external` (an origin) for an external basemap's style, tiles, glyphs and
/// sprites.
pub fn content_security_policy(external: Option<&str>) -> String {
    let extra = external.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{extra}; worker-src 'self' blob:; child-src blob:; \
         connect-src 'self'{extra}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_style_opens_the_policy_for_its_origin_only() {
        let origin = external_origin(
            "https://sgx.geodatenzentrum.de/gdz_basemapde_vektor/styles/bm_web_col.json",
        )
        .unwrap();
        assert_eq!(origin, "https://sgx.geodatenzentrum.de");
        let csp = content_security_policy(Some(&origin));
        assert!(csp.contains("connect-src 'self' https://sgx.geodatenzentrum.de;"));
        assert!(!content_security_policy(None).contains("https:"));
        for bad in [
            "ftp://x/y",
            "sgx.de/style.json",
            "https:///style",
            "https://a b/",
            "https://u@evil/",
        ] {
            assert!(external_origin(bad).is_err(), "{bad}");
        }
    }
}
