//! Content negotiation by RFC 9110's weights: a client that ranks a format low gets it only
//! when nothing it ranks higher is offered (pages, features, RDF, tile codings).

use crate::common::{app, get_with_headers, TestDb};
use kreisgeo::catalog::DatasetKind;

#[actix_web::test]
async fn weights_decide_not_the_order_of_the_header() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    let content_type = |uri: &'static str, accept: &'static str| {
        let app = &app;
        async move {
            let (status, headers, _) = get_with_headers(app, uri, &[("Accept", accept)]).await;
            assert_eq!(status, 200, "{uri} {accept}");
            headers["content-type"].clone()
        }
    };
    // HTML named first but weighted low: JSON.
    for uri in ["/", "/collections", "/collections/aed"] {
        let t = content_type(uri, "text/html;q=0.1, application/json").await;
        assert!(t.starts_with("application/json"), "{uri}: {t}");
        let t = content_type(uri, "application/json;q=0.5, text/html").await;
        assert!(t.starts_with("text/html"), "{uri}: {t}");
    }
    let items = "/collections/aed/items?limit=1";
    let t = content_type(items, "text/html;q=0.1, application/geo+json").await;
    assert!(t.starts_with("application/geo+json"), "{t}");
    let t = content_type(items, "application/geo+json;q=0.2, text/csv").await;
    assert!(t.starts_with("text/csv"), "{t}");
    let t = content_type(items, "text/csv;q=0, */*").await;
    assert!(t.starts_with("application/geo+json"), "{t}");
    // A browser still gets pages.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    assert!(content_type(items, browser).await.starts_with("text/html"));
    // RDF for harvesters.
    let t = content_type("/catalog", "text/turtle;q=0.2, application/ld+json").await;
    assert!(t.starts_with("application/ld+json"), "{t}");
    let t = content_type("/catalog", "application/rdf+xml;q=0.3, text/turtle;q=0.9").await;
    assert!(t.starts_with("text/turtle"), "{t}");
    let t = content_type("/catalog/datasets/aed", "text/turtle, text/html;q=0.5").await;
    assert!(t.starts_with("text/turtle"), "{t}");

    // Tile codings: brotli weighted low, gzip wins; both refused, none.
    let tile = "/collections/aed/tiles/WebMercatorQuad/10/342/531";
    for (accept, coding) in [
        ("br;q=0.1, gzip", Some("gzip")),
        ("gzip, br", Some("br")),
        ("gzip;q=0, br;q=0", Some("identity")),
    ] {
        let (status, headers, _) =
            get_with_headers(&app, tile, &[("Accept-Encoding", accept)]).await;
        assert_eq!(status, 200, "the tile over Köln holds AEDs");
        assert_eq!(
            headers.get("content-encoding").map(String::as_str),
            coding,
            "{accept}"
        );
    }
}
