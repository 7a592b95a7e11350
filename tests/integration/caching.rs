//! HTTP caching: validators from the dataset version, 304 on revalidation, a new version
//! changes every validator.

use actix_web::test;

use crate::common::{app, TestApp, TestDb};
use kreisgeo::catalog::DatasetKind;

struct Answer {
    status: u16,
    etag: Option<String>,
    last_modified: Option<String>,
    cache_control: Option<String>,
    content_crs: Option<String>,
    body: Vec<u8>,
}

async fn get_with(app: &impl TestApp, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = test::TestRequest::get().uri(uri);
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let resp = test::call_service(app, req.to_request()).await;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(ToString::to_string)
    };
    Answer {
        status: resp.status().as_u16(),
        etag: header("etag"),
        last_modified: header("last-modified"),
        cache_control: header("cache-control"),
        content_crs: header("content-crs"),
        body: test::read_body(resp).await.to_vec(),
    }
}

#[actix_web::test]
async fn versions_drive_etags_and_304s() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    let uris = [
        "/collections",
        "/collections/aed",
        "/collections/aed/items?limit=5",
        "/collections/aed/items/7",
        "/collections/aed/tiles/WebMercatorQuad/10/342/531",
    ];
    let mut etags = Vec::new();
    for uri in uris {
        let first = get_with(&app, uri, &[]).await;
        assert!(
            first.status == 200 || first.status == 204,
            "{uri}: {}",
            first.status
        );
        let etag = first.etag.unwrap_or_else(|| panic!("{uri}: no ETag"));
        // Tiles: strong, the cached bytes of a version never change.
        if uri.contains("/tiles/") {
            assert!(etag.starts_with('"'), "{etag}");
        } else {
            assert!(etag.starts_with("W/\""), "{etag}");
        }
        assert!(
            first.cache_control.is_some_and(|c| c.contains("max-age")),
            "{uri}"
        );
        let modified = first
            .last_modified
            .unwrap_or_else(|| panic!("{uri}: no Last-Modified"));

        let again = get_with(&app, uri, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status, 304, "{uri}");
        assert!(again.body.is_empty());
        assert_eq!(again.etag.as_deref(), Some(etag.as_str()));
        let listed = format!("W/\"nope\", {etag}");
        assert_eq!(
            get_with(&app, uri, &[("If-None-Match", &listed)])
                .await
                .status,
            304,
            "{uri}"
        );
        assert_eq!(
            get_with(&app, uri, &[("If-Modified-Since", &modified)])
                .await
                .status,
            304,
            "{uri}"
        );
        assert_ne!(
            get_with(&app, uri, &[("If-None-Match", "W/\"other\"")])
                .await
                .status,
            304,
            "{uri}"
        );
        assert_ne!(
            get_with(
                &app,
                uri,
                &[("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")]
            )
            .await
            .status,
            304,
            "{uri}"
        );
        etags.push(etag);
    }
    let items = get_with(&app, "/collections/aed/items?limit=5", &[]).await;
    assert_eq!(
        items.content_crs.as_deref(),
        Some("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")
    );
    // Another page of the same version is another response.
    let other = get_with(&app, "/collections/aed/items?limit=6", &[]).await;
    assert_ne!(other.etag.as_deref(), Some(etags[2].as_str()));

    // A new version: every old validator is stale.
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    for (uri, etag) in uris.iter().zip(&etags) {
        let answer = get_with(&app, uri, &[("If-None-Match", etag)]).await;
        assert_ne!(
            answer.status, 304,
            "{uri} still matched the old version's ETag"
        );
        assert_ne!(answer.etag.as_deref(), Some(etag.as_str()), "{uri}");
    }
}

#[actix_web::test]
async fn head_answers_like_get_without_a_body() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    for uri in [
        "/",
        "/collections/aed",
        "/collections/aed/items?limit=2",
        "/nope",
    ] {
        let get = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        let head = test::call_service(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(uri)
                .to_request(),
        )
        .await;
        assert_eq!(head.status(), get.status(), "{uri}");
        assert_eq!(
            head.headers().get("etag"),
            get.headers().get("etag"),
            "{uri}"
        );
        assert!(test::read_body(head).await.is_empty(), "{uri}");
    }
}

/// With the catalog cache on (as `serve` runs), repeated requests do not read the catalog, and a
/// new version committed by another connection (a CLI ingest, another node) is served as soon as
/// PostgreSQL's announcement arrives.
#[actix_web::test]
async fn the_catalog_cache_follows_every_commit() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let state = db.state().with_catalog_cache().await.expect("listener");
    let cache = state.catalog.clone().expect("cache");
    let app = actix_web::test::init_service(kreisgeo::api::app(state)).await;
    let matched = |page: &serde_json::Value| page["numberMatched"].as_u64();
    let first = crate::common::get_json(&app, "/collections/aed/items?limit=1").await;
    assert_eq!(matched(&first), Some(200));
    for _ in 0..5 {
        crate::common::get_json(&app, "/collections/aed/items?limit=1").await;
    }
    assert!(cache.hits() >= 5, "{} hits", cache.hits());

    // Another connection commits a new version.
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let page = crate::common::get_json(&app, "/collections/aed/items?limit=1").await;
        if matched(&page) == Some(121) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new version was not served within 2 s (the cache's TTL is 60 s)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Deleted: gone at once, not served from memory.
    kreisgeo::catalog::repo::delete_dataset(&db.pool, "aed")
        .await
        .expect("delete");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while crate::common::get(&app, "/collections/aed").await.0 != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "still served after deletion"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The catalog's documents (CKAN packages, DCAT descriptions, pages of `/collections`) are kept
/// in memory and dropped with each change that concerns them: new metadata, a download built
/// later, a publisher's profile. Writing the search index is no such change.
#[actix_web::test]
async fn the_catalog_documents_follow_every_change() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let state = db.state().with_catalog_cache().await.expect("listener");
    let cache = state.catalog.clone().expect("cache");
    let app = actix_web::test::init_service(kreisgeo::api::app(state)).await;
    let show = "/api/3/action/package_show?id=aed";
    let within = |what: &'static str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        move || {
            assert!(
                std::time::Instant::now() < deadline,
                "{what} not seen within 2 s"
            );
        }
    };

    // Searched (the index is written), then shown and described twice: the second from memory.
    crate::common::get_json(&app, "/api/3/action/package_search?q=aed").await;
    let before = cache.hits();
    let first = crate::common::get_json(&app, show).await;
    crate::common::get_json(&app, show).await;
    let (_, _, ttl) = crate::common::get(&app, "/catalog/datasets/aed.ttl").await;
    crate::common::get(&app, "/catalog/datasets/aed.ttl").await;
    crate::common::get_json(&app, "/collections").await;
    crate::common::get_json(&app, "/collections").await;
    assert!(cache.hits() >= before + 3, "{} hits", cache.hits() - before);
    assert_eq!(first["result"]["num_resources"], 1, "no downloads yet");

    // New keywords reach the package.
    kreisgeo::catalog::repo::set_metadata(
        &db.pool,
        "aed",
        &serde_json::json!({"keywords": ["Notfall"]}),
    )
    .await
    .unwrap();
    let check = within("the new keywords");
    loop {
        let p = crate::common::get_json(&app, show).await;
        if p["result"]["tags"][0]["name"] == "Notfall" {
            break;
        }
        check();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Downloads built afterwards reach the package, the description and the listing.
    kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .unwrap();
    let check = within("the downloads");
    loop {
        let p = crate::common::get_json(&app, show).await;
        let (_, _, now) = crate::common::get(&app, "/catalog/datasets/aed.ttl").await;
        let listing = crate::common::get_json(&app, "/collections").await;
        let enclosures = listing["collections"][0]["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rel"] == "enclosure")
            .count();
        if p["result"]["num_resources"].as_u64() > Some(1) && now != ttl && enclosures > 0 {
            break;
        }
        check();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // A publisher's new name reaches its packages.
    let mut publisher: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::fixture("publisher.json")).unwrap(),
    )
    .unwrap();
    publisher["name"] = "Landkreis Beispiel-Neu".into();
    kreisgeo::catalog::repo::set_publisher(&db.pool, &publisher)
        .await
        .unwrap();
    let check = within("the publisher's name");
    loop {
        let p = crate::common::get_json(&app, show).await;
        if p["result"]["organization"]["title"] == "Landkreis Beispiel-Neu" {
            break;
        }
        check();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
