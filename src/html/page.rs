//! The frame every page shares: a skip link, the main navigation, the language switch, the
//! breadcrumbs of the path, the same page in JSON, and (on feature pages) a map. Built for
//! BITV 2.0 / WCAG 2.1 AA: landmarks, one `h1`, visible focus, `lang` on the document and on
//! the switch, contrast ≥ 4.5:1, tables with headers, nothing that needs a mouse.

use std::fmt::Write as _;

use actix_web::HttpRequest;

use super::assets::WITH_MAPLIBRE;
use super::{escape, View};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:72rem;margin:0 auto;\
padding:0 1rem 2rem;line-height:1.5;color:#1b1b1b;background:#fff}a{color:#0b57d0}\
a:focus-visible,button:focus-visible,input:focus-visible,#features-map:focus-visible\
{outline:3px solid #e8a317;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.5rem;\
z-index:9}header{border-bottom:1px solid #ccc;margin-bottom:1rem;padding:.5rem 0}\
header nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline}\
header .lang{margin-left:auto}ol.crumbs{list-style:none;padding:0;margin:.25rem 0;display:flex;\
flex-wrap:wrap;font-size:.9rem}ol.crumbs li+li:before{content:'›';padding:0 .4rem;color:#555}\
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0 1rem}\
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f2f2f2}caption{text-align:left;font-weight:600;padding:.25rem 0}\
code{word-break:break-all}#features-map{height:22rem;border:1px solid #ccc}\
figure{margin:0 0 1rem}.maplibregl-ctrl-attrib a{text-decoration:underline}figcaption{font-size:.85rem;color:#444}\
.pager{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0}\
footer{border-top:1px solid #ccc;margin-top:2rem;padding-top:.5rem}\
ul.legal{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;list-style:none;padding:0;margin:0}\
@media(max-width:40rem){table{display:block;overflow-x:auto}#features-map{height:16rem}}";

/// The same resource for programs: href, media type, name.
pub type Alternate<'a> = (&'a str, &'a str, &'a str);

/// The start of a page, up to and including its `h1`; `data` are the same resource for
/// programs, the first the main one; `with_map` loads the map library for [`map`].
pub fn head(
    req: &HttpRequest,
    view: View,
    title: &str,
    data: &[Alternate<'_>],
    with_map: bool,
) -> String {
    let t = escape(title);
    let lang = view.lang;
    let other = lang.other();
    let (data_href, data_type, _) = data.first().copied().unwrap_or_default();
    let json = escape(data_href);
    let alternates: Vec<String> = data
        .iter()
        .map(|(href, media_type, name)| {
            format!(
                "<a href=\"{}\" type=\"{}\">{}</a>",
                escape(href),
                escape(media_type),
                escape(name)
            )
        })
        .collect();
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} – kreisgeo</title><style>{STYLE}</style>{data_link}\
         <link rel=\"alternate\" hreflang=\"{other_code}\" href=\"{switch}\">",
        data_link = if data.is_empty() {
            String::new()
        } else {
            format!("<link rel=\"alternate\" type=\"{data_type}\" href=\"{json}\">")
        },
        code = lang.code(),
        other_code = other.code(),
        switch = escape(&switch_href(req, view)),
    );
    if with_map && WITH_MAPLIBRE {
        out.push_str(
            "<link rel=\"stylesheet\" href=\"/assets/maplibre-gl.css\">\
             <script defer src=\"/assets/maplibre-gl-csp.js\"></script>\
             <script defer src=\"/assets/features-map.js\"></script>",
        );
    }
    let keep = |path: &str| view.href(path, Some("application/json"));
    let _ = write!(
        out,
        "</head><body><a class=\"skip\" href=\"#main\">{skip}</a><header>\
         <nav aria-label=\"{nav}\"><a href=\"{home}\">kreisgeo</a>\
         <a href=\"{collections}\">{collections_label}</a>\
         <a href=\"/map?lang={code}\">{map}</a><a href=\"/api.html\">{api}</a>\
         <a href=\"/catalog.ttl\">{catalog}</a>\
         <a class=\"lang\" href=\"{switch}\" hreflang=\"{other_code}\" lang=\"{other_code}\">{other_name}</a>\
         </nav>{crumbs}</header><main id=\"main\" tabindex=\"-1\"><h1>{t}</h1>{also}",
        skip = view.pick("Zum Inhalt springen", "Skip to content"),
        nav = view.pick("Hauptnavigation", "Main navigation"),
        home = escape(&keep("/")),
        collections = escape(&keep("/collections")),
        collections_label = view.pick("Datensätze", "Collections"),
        code = lang.code(),
        map = view.pick("Karte", "Map"),
        api = view.pick("API-Dokumentation", "API documentation"),
        catalog = view.pick("DCAT-Katalog", "DCAT catalogue"),
        switch = escape(&switch_href(req, view)),
        other_code = other.code(),
        other_name = other.name(),
        crumbs = breadcrumbs(req.path(), view),
        also = if alternates.is_empty() {
            String::new()
        } else {
            format!(
                "<p>{}: {}</p>",
                view.pick("Diese Seite auch als", "This page also as"),
                alternates.join(" · ")
            )
        },
    );
    out
}

/// The end of a page: the links every page of a public body carries (Impressum, privacy,
/// accessibility statement, the essentials in Leichte Sprache).
pub fn foot(view: View) -> String {
    format!("</main>{}</body></html>", legal_links(view.lang))
}

/// The legal pages' links, as the footer of every page.
pub fn legal_links(lang: super::Lang) -> String {
    let code = lang.code();
    format!(
        "<footer><nav aria-label=\"{label}\"><ul class=\"legal\">\
         <li><a href=\"/impressum?lang={code}\">{imprint}</a></li>\
         <li><a href=\"/datenschutz?lang={code}\">{privacy}</a></li>\
         <li><a href=\"/barrierefreiheit?lang={code}\">{accessibility}</a></li>\
         <li><a href=\"/leichte-sprache\" lang=\"de\" hreflang=\"de\">Leichte Sprache</a></li>\
         </ul></nav></footer>",
        label = lang.pick("Rechtliches", "Legal"),
        imprint = lang.pick("Impressum", "Legal notice (Impressum)"),
        privacy = lang.pick("Datenschutz", "Privacy"),
        accessibility = lang.pick("Barrierefreiheit", "Accessibility"),
    )
}

/// A map of the features in the GeoJSON at `geojson_href` (the page's own features), with a
/// text alternative: the same features are in the page's table.
pub fn map(out: &mut String, view: View, geojson_href: &str) {
    if !WITH_MAPLIBRE {
        return;
    }
    let _ = write!(
        out,
        "<figure><div id=\"features-map\" data-src=\"{src}\" tabindex=\"0\" role=\"region\" \
         aria-label=\"{label}\" aria-describedby=\"features-map-caption\"></div>\
         <figcaption id=\"features-map-caption\">{caption}</figcaption></figure>",
        src = escape(geojson_href),
        label = view.pick("Karte", "Map"),
        caption = view.pick(
            "Karte der Objekte dieser Seite (mit Pfeiltasten verschieben, mit + und − zoomen); \
             dieselben Objekte stehen in der Tabelle.",
            "Map of the features on this page (arrow keys pan, + and − zoom); the same features \
             are listed in the table."
        ),
    );
}

/// `/path?query` of this request as JSON: `f=json`, without `lang`.
pub fn json_href(req: &HttpRequest) -> String {
    with_params(req, &[("f", "json")], &["lang"])
}

/// This page in the other language.
pub fn switch_href(req: &HttpRequest, view: View) -> String {
    with_params(
        req,
        &[("f", "html"), ("lang", view.lang.other().code())],
        &[],
    )
}

/// The request's path and query with `set` replacing (or adding) parameters and `drop` left
/// out; the values are kept exactly as they came (already URL-encoded).
fn with_params(req: &HttpRequest, set: &[(&str, &str)], drop: &[&str]) -> String {
    let mut out = req.path().to_string();
    let mut sep = '?';
    for (k, v) in set {
        let _ = write!(out, "{sep}{k}={v}");
        sep = '&';
    }
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        let key = pair.split('=').next().unwrap_or_default();
        if set.iter().any(|(k, _)| *k == key) || drop.contains(&key) {
            continue;
        }
        let _ = write!(out, "{sep}{pair}");
        sep = '&';
    }
    out
}

/// The way from the landing page to this one, each step named.
fn breadcrumbs(path: &str, view: View) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = format!(
        "<nav aria-label=\"{}\"><ol class=\"crumbs\"><li><a href=\"{}\">{}</a></li>",
        view.pick("Sie sind hier", "You are here"),
        escape(&view.href("/", Some("application/json"))),
        view.pick("Start", "Home"),
    );
    let mut href = String::new();
    for (i, segment) in segments.iter().enumerate() {
        href.push('/');
        href.push_str(segment);
        let label = match *segment {
            "collections" => view.pick("Datensätze", "Collections"),
            "items" => view.pick("Objekte", "Features"),
            "tiles" => view.pick("Kacheln", "Tiles"),
            "tileMatrixSets" => view.pick("Kachelschemata", "Tiling schemes"),
            "conformance" => view.pick("Konformität", "Conformance"),
            "downloads" => "Downloads",
            "catalog" => view.pick("Katalog", "Catalogue"),
            "datasets" => view.pick("Metadaten", "Metadata"),
            other => other,
        };
        if i + 1 == segments.len() {
            let _ = write!(out, "<li aria-current=\"page\">{}</li>", escape(label));
        } else if *segment == "catalog" || *segment == "datasets" {
            // No page of their own in HTML.
            let _ = write!(out, "<li>{}</li>", escape(label));
        } else {
            let _ = write!(
                out,
                "<li><a href=\"{}\">{}</a></li>",
                escape(&view.href(&href, Some("application/json"))),
                escape(label)
            );
        }
    }
    out.push_str("</ol></nav>");
    out
}
