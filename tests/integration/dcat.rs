//! The DCAT-AP.de catalog and the metadata behind it. Validation against the official SHACL
//! shapes is `tests/shacl.rs` (it reports itself skipped where the shapes are absent).

use std::collections::BTreeSet;

use actix_web::test;
use serde_json::Value as Json;

use crate::common::{app, get, get_with_headers, TestApp, TestDb};
use kreisgeo::catalog::DatasetKind;

const DCAT_DATASET: &str = "http://www.w3.org/ns/dcat#Dataset";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// Every triple of a document as N-Triples lines, blank nodes by label.
fn triples(body: &[u8], media_type: &str) -> BTreeSet<String> {
    let parsed: Vec<oxrdf::Triple> = match media_type {
        "text/turtle" => oxttl::TurtleParser::new()
            .for_slice(body)
            .collect::<Result<_, _>>()
            .expect("Turtle"),
        "application/rdf+xml" => oxrdfxml::RdfXmlParser::new()
            .for_slice(body)
            .collect::<Result<_, _>>()
            .expect("RDF/XML"),
        "application/ld+json" => oxjsonld::JsonLdParser::new()
            .for_slice(body)
            .map(|q| q.map(oxrdf::Triple::from))
            .collect::<Result<_, _>>()
            .expect("JSON-LD"),
        other => panic!("{other}"),
    };
    parsed.iter().map(ToString::to_string).collect()
}

/// The triples but the paging ones (they name the URL asked), with every blank node written
/// `_:b` (parsers may relabel them).
fn unpaged(triples: &BTreeSet<String>) -> BTreeSet<String> {
    triples
        .iter()
        .filter(|t| !t.contains("hydra"))
        .map(|t| {
            t.split(' ')
                .map(|part| if part.starts_with("_:") { "_:b" } else { part })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The ids of the datasets a catalog document describes.
fn datasets(triples: &BTreeSet<String>, base: &str) -> BTreeSet<String> {
    triples
        .iter()
        .filter(|t| t.contains(RDF_TYPE) && t.contains(DCAT_DATASET))
        .filter_map(|t| {
            let subject = t.split_whitespace().next()?;
            let id = subject
                .trim_matches(['<', '>'])
                .strip_prefix(&format!("{base}/catalog/datasets/"))?;
            Some(id.to_string())
        })
        .collect()
}

async fn put(app: &impl TestApp, uri: &str, key: Option<&str>, body: &str) -> (u16, Json) {
    let mut req = test::TestRequest::put()
        .uri(uri)
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body.to_string());
    if let Some(key) = key {
        req = req.insert_header(("X-API-Key", key));
    }
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or(Json::Null))
}

#[actix_web::test]
async fn catalog_in_three_serialisations_with_paging_and_metadata() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    let app = app(&db).await;
    let base = "http://localhost:8080";

    // The same triples in every serialisation, by extension and by Accept; RDF/XML by default.
    let mut seen = Vec::new();
    for (ext, media) in [
        ("ttl", "text/turtle"),
        ("rdf", "application/rdf+xml"),
        ("jsonld", "application/ld+json"),
    ] {
        let (status, content_type, body) = get(&app, &format!("/catalog.{ext}")).await;
        assert_eq!(status, 200, "{ext}");
        assert!(content_type.starts_with(media), "{content_type}");
        let by_accept = get_with_headers(&app, "/catalog", &[("Accept", media)]).await;
        assert!(
            unpaged(&triples(&by_accept.2, media)) == unpaged(&triples(&body, media)),
            "{media} by Accept"
        );
        seen.push(triples(&body, media));
    }
    let (turtle, xml, json) = (unpaged(&seen[0]), unpaged(&seen[1]), unpaged(&seen[2]));
    assert!(turtle == xml, "Turtle and RDF/XML differ");
    assert!(turtle == json, "Turtle and JSON-LD differ");
    assert!(turtle.len() > 100, "{}", turtle.len());
    let (_, default_type, _) = get(&app, "/catalog").await;
    assert!(default_type.starts_with("application/rdf+xml"));
    let catalog = &seen[0];
    assert_eq!(
        datasets(catalog, base),
        BTreeSet::from(["aed".to_string(), "kreise".to_string()])
    );
    // Defaults from the kind: AEDs are about health; the unconfigured publisher says so.
    assert!(catalog
        .iter()
        .any(|t| t.starts_with(&format!("<{base}/catalog/datasets/aed>"))
            && t.contains("dcat#theme")
            && t.contains("data-theme/HEAL")));
    assert!(catalog.iter().any(|t| t.contains("nicht eingetragen")));
    // Each distribution's access URL answers with its format.
    let access: Vec<String> = catalog
        .iter()
        .filter(|t| t.contains("dcat#accessURL"))
        .map(|t| {
            t.split_whitespace()
                .nth(2)
                .expect("object")
                .trim_matches(['<', '>'])[base.len()..]
                .to_string()
        })
        .collect();
    assert_eq!(access.len(), 6, "three API formats per dataset");
    for uri in &access {
        let (status, content_type, body) = get(&app, uri).await;
        assert_eq!(status, 200, "{uri}");
        assert!(!body.is_empty() && !content_type.is_empty(), "{uri}");
    }

    // Hydra paging and incremental harvesting.
    let page = |n: &str| format!("<{base}/catalog.ttl{n}>");
    assert!(catalog.iter().any(|t| t.starts_with(&page("?page=1"))
        && t.contains("totalItems")
        && t.contains("\"2\"")));
    let (_, _, second) = get(&app, "/catalog.ttl?page=2").await;
    assert!(datasets(&triples(&second, "text/turtle"), base).is_empty());
    let (_, _, future) = get(&app, "/catalog.ttl?modified_since=2999-01-01").await;
    assert!(datasets(&triples(&future, "text/turtle"), base).is_empty());
    let (_, _, past) = get(&app, "/catalog.ttl?modified_since=2000-01-01T00:00:00Z").await;
    assert_eq!(datasets(&triples(&past, "text/turtle"), base).len(), 2);
    for (uri, parameter) in [
        ("/catalog?page=0", "page"),
        ("/catalog?page=x", "page"),
        ("/catalog?modified_since=yesterday", "modified_since"),
        ("/catalog?sort=title", "sort"),
        ("/catalog.n3", "format"),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, 400, "{uri}");
        let body: Json = serde_json::from_slice(&body).expect("JSON error");
        assert_eq!(body["parameter"], parameter, "{uri}: {body}");
    }

    // One dataset, and the validators.
    let (status, _, one) = get(&app, "/catalog/datasets/aed.ttl").await;
    assert_eq!(status, 200);
    assert_eq!(
        datasets(&triples(&one, "text/turtle"), base),
        BTreeSet::from(["aed".to_string()])
    );
    assert_eq!(get(&app, "/catalog/datasets/nope.ttl").await.0, 404);
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/catalog.ttl").to_request(),
    )
    .await;
    let etag = resp.headers().get("etag").expect("etag").clone();
    let again = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/catalog.ttl")
            .insert_header(("If-None-Match", etag))
            .to_request(),
    )
    .await;
    assert_eq!(again.status().as_u16(), 304);

    // Metadata through the admin API: a key is needed, wrong codes are named.
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let metadata = r#"{"title": {"de": "Defibrillatoren", "en": "Defibrillators"},
        "themes": ["HEAL", "SOCI"], "license": "http://dcat-ap.de/def/licenses/cc-by/4.0",
        "licenseAttributionByText": "© Test", "accrualPeriodicity": "MONTHLY",
        "temporal": {"start": "2024-01-01"}}"#;
    assert_eq!(
        put(&app, "/admin/datasets/aed/metadata", None, metadata)
            .await
            .0,
        401
    );
    for (bad, parameter) in [
        (r#"{"themes": ["HEALTH"]}"#, "themes[0]"),
        (r#"{"license": "CC-BY"}"#, "license"),
        (
            r#"{"accrualPeriodicity": "sometimes"}"#,
            "accrualPeriodicity",
        ),
        (r#"{"temporal": {"start": "2024-02-30"}}"#, "temporal.start"),
        (r#"{"colour": "red"}"#, "body"),
        (r#"{"themes": "#, "body"),
    ] {
        let (status, body) = put(&app, "/admin/datasets/aed/metadata", Some(&key), bad).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some(parameter)),
            "{bad}: {body}"
        );
    }
    assert_eq!(
        put(&app, "/admin/datasets/nope/metadata", Some(&key), metadata)
            .await
            .0,
        404
    );
    let (status, stored) = put(&app, "/admin/datasets/aed/metadata", Some(&key), metadata).await;
    assert_eq!(status, 200, "{stored}");
    let (_, _, after) = get(&app, "/catalog/datasets/aed.ttl").await;
    let after = triples(&after, "text/turtle");
    for expected in [
        "\"Defibrillators\"@en",
        "data-theme/SOCI",
        "frequency/MONTHLY",
        "\"2024-01-01\"^^<http://www.w3.org/2001/XMLSchema#date>",
    ] {
        assert!(after.iter().any(|t| t.contains(expected)), "{expected}");
    }
    let licensed = after
        .iter()
        .filter(|t| t.contains("/terms/license>") && t.contains("licenses/cc-by/4.0"))
        .count();
    assert_eq!(
        licensed, 3,
        "every distribution carries the dataset's licence"
    );

    // The publisher, entered once, is everyone's.
    let publisher = r#"{"name": "Landkreis Test", "uri": "https://kreis.example/",
        "districtKey": "03355", "contact": {"name": "Geodaten", "email": "geo@kreis.example"},
        "license": "http://dcat-ap.de/def/licenses/dl-by-de/2.0"}"#;
    let (status, body) = put(
        &app,
        "/admin/catalog/publisher",
        Some(&key),
        &publisher.replace("03355", "3355"),
    )
    .await;
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("districtKey"))
    );
    assert_eq!(
        put(&app, "/admin/catalog/publisher", Some(&key), publisher)
            .await
            .0,
        200
    );
    let (_, _, body) = get(&app, "/catalog.ttl").await;
    let catalog = triples(&body, "text/turtle");
    assert!(catalog.iter().any(
        |t| t.starts_with(&format!("<{base}/catalog/datasets/kreise>"))
            && t.contains("/terms/publisher>")
            && t.contains("<https://kreis.example/>")
    ));
    assert!(catalog
        .iter()
        .any(|t| t.contains("/terms/spatial>") && t.contains("districtKey/03355")));
}

#[actix_web::test]
async fn deleted_datasets_stay_listed_as_deleted_until_purged() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .expect("downloads");
    let app = app(&db).await;
    let base = "http://localhost:8080";
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let delete = |key: Option<&str>, id: &str| {
        let mut req = test::TestRequest::delete().uri(&format!("/admin/datasets/{id}"));
        if let Some(key) = key {
            req = req.insert_header(("X-API-Key", key.to_string()));
        }
        req.to_request()
    };
    let metadata = r#"{"keywords": ["Grenzen"]}"#;
    assert_eq!(
        put(
            &app,
            "/admin/datasets/kreise/metadata",
            Some(&key),
            metadata
        )
        .await
        .0,
        200
    );
    let before: chrono::DateTime<chrono::Utc> = chrono::Utc::now() - chrono::Duration::seconds(2);

    assert_eq!(
        test::call_service(&app, delete(None, "kreise"))
            .await
            .status(),
        401
    );
    assert_eq!(
        test::call_service(&app, delete(Some(&key), "nope"))
            .await
            .status(),
        404
    );
    assert_eq!(
        test::call_service(&app, delete(Some(&key), "kreise"))
            .await
            .status(),
        204
    );
    assert_eq!(
        test::call_service(&app, delete(Some(&key), "kreise"))
            .await
            .status(),
        404,
        "deleted once"
    );

    // The data is gone at once: collection, tables, downloads.
    assert_eq!(get(&app, "/collections/kreise").await.0, 404);
    assert_eq!(
        get(&app, "/collections/kreise/downloads/kreise.fgb")
            .await
            .0,
        404
    );
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'data' AND tablename LIKE 'kreise%') \
              + (SELECT count(*) FROM catalog.versions WHERE dataset_id = 'kreise')",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(leftovers, 0);
    let downloads: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.downloads")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(downloads, 6, "only aed's files remain");

    // The catalog lists it as deleted: a record with the change type, no dataset.
    let since = before.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for uri in [
        "/catalog.ttl".to_string(),
        format!("/catalog.ttl?modified_since={since}"),
    ] {
        let (_, _, body) = get(&app, &uri).await;
        let catalog = triples(&body, "text/turtle");
        assert_eq!(
            datasets(&catalog, base),
            BTreeSet::from(["aed".to_string()]),
            "{uri}"
        );
        let record = format!("<{base}/catalog/records/kreise>");
        assert!(
            catalog.iter().any(|t| t.starts_with(&record)
                && t.contains("adms#status")
                && t.contains("changetype/deleted")),
            "{uri}"
        );
        assert!(catalog.iter().any(|t| t.starts_with(&record)
            && t.contains("primaryTopic")
            && t.contains("/catalog/datasets/kreise>")));
    }
    let (_, _, later) = get(&app, "/catalog.ttl?modified_since=2999-01-01").await;
    assert!(!String::from_utf8_lossy(&later).contains("records/kreise"));
    assert_eq!(get(&app, "/catalog/datasets/kreise.ttl").await.0, 410);

    // CKAN: package_show tells "deleted"; searches show it only with include_deleted.
    let shown = crate::common::get_json(&app, "/api/3/action/package_show?id=kreise").await;
    assert_eq!(shown["result"]["state"], "deleted");
    assert_eq!(shown["result"]["tags"], serde_json::json!([]));
    let list = crate::common::get_json(&app, "/api/3/action/package_list").await;
    assert_eq!(list["result"], serde_json::json!(["aed"]));
    let fq = format!("metadata_modified:[{since} TO *]");
    let query = serde_urlencoded::to_string([("fq", fq.as_str()), ("include_deleted", "true")])
        .expect("query");
    let found =
        crate::common::get_json(&app, &format!("/api/3/action/package_search?{query}")).await;
    let states: Vec<(&str, &str)> = found["result"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or(""),
                p["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(states.contains(&("kreise", "deleted")), "{states:?}");
    let without = crate::common::get_json(&app, "/api/3/action/package_search?q=*:*").await;
    assert_eq!(without["result"]["count"], 1);

    // A new version of the same id brings the dataset back, with its metadata.
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    assert_eq!(get(&app, "/collections/kreise").await.0, 200);
    let (_, _, ttl) = get(&app, "/catalog/datasets/kreise.ttl").await;
    assert!(String::from_utf8_lossy(&ttl).contains("\"Grenzen\"@de"));
    assert_eq!(
        test::call_service(&app, delete(Some(&key), "kreise"))
            .await
            .status(),
        204
    );

    // After the retention time the tombstone is gone.
    assert_eq!(
        kreisgeo::catalog::repo::purge_tombstones(&db.pool, 1)
            .await
            .expect("purge"),
        0,
        "deleted a moment ago"
    );
    sqlx::query(
        "UPDATE catalog.datasets SET deleted_at = now() - interval '2 days' WHERE id = 'kreise'",
    )
    .execute(&db.pool)
    .await
    .expect("age");
    assert_eq!(
        kreisgeo::catalog::repo::purge_tombstones(&db.pool, 1)
            .await
            .expect("purge"),
        1
    );
    let (_, _, body) = get(&app, "/catalog.ttl").await;
    assert!(!String::from_utf8_lossy(&body).contains("records/kreise"));
    assert_eq!(
        get(&app, "/api/3/action/package_show?id=kreise").await.0,
        404
    );
}

const HVD: &str = "<http://data.europa.eu/eli/reg_impl/2023/138/oj>";
const APPLICABLE: &str = "<http://data.europa.eu/r5r/applicableLegislation>";
const HVD_CATEGORY: &str = "<http://data.europa.eu/r5r/hvdCategory>";

/// The objects of `subject predicate ?` in a document's triples.
fn objects(triples: &BTreeSet<String>, subject: &str, predicate: &str) -> BTreeSet<String> {
    let prefix = format!("{subject} {predicate} ");
    triples
        .iter()
        .filter_map(|t| t.strip_prefix(&prefix))
        .map(|o| o.trim_end_matches(" .").to_string())
        .collect()
}

#[actix_web::test]
async fn high_value_datasets_name_the_regulation_and_their_category() {
    let db = TestDb::new().await;
    db.ingest(
        "nrw_alkis_flurstueck_25832.geojson",
        "flurstuecke",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    let app = app(&db).await;
    let base = "http://localhost:8080";
    let dataset = |id: &str| format!("<{base}/catalog/datasets/{id}>");
    let service = format!("<{base}/catalog#ogc-api>");
    let parcels_category = "<http://data.europa.eu/bna/c_6a3f6896>".to_string();

    let (_, _, body) = get(&app, "/catalog.ttl").await;
    let catalog = triples(&body, "text/turtle");
    // Parcels are HVD by their kind: the dataset, each of its distributions and the service.
    assert_eq!(
        objects(&catalog, &dataset("flurstuecke"), APPLICABLE),
        BTreeSet::from([HVD.to_string()])
    );
    assert_eq!(
        objects(&catalog, &dataset("flurstuecke"), HVD_CATEGORY),
        BTreeSet::from([parcels_category.clone()])
    );
    let distributions = objects(
        &catalog,
        &dataset("flurstuecke"),
        "<http://www.w3.org/ns/dcat#distribution>",
    );
    assert!(distributions.len() >= 3, "{distributions:?}");
    for d in &distributions {
        assert_eq!(
            objects(&catalog, d, APPLICABLE),
            BTreeSet::from([HVD.to_string()]),
            "{d}"
        );
    }
    assert!(objects(&catalog, &service, APPLICABLE).contains(HVD));
    assert!(objects(&catalog, &service, HVD_CATEGORY).contains(&parcels_category));
    assert!(!objects(&catalog, &service, "<http://xmlns.com/foaf/0.1/page>").is_empty());
    assert!(!objects(
        &catalog,
        &service,
        "<http://www.w3.org/ns/dcat#contactPoint>"
    )
    .is_empty());
    // The regulation and the category are described as the HVD profile expects.
    assert!(catalog.contains(&format!(
        "{HVD} <{RDF_TYPE}> <http://data.europa.eu/eli/ontology#LegalResource>"
    )));
    assert!(catalog.contains(&format!(
        "{parcels_category} <http://www.w3.org/2004/02/skos/core#inScheme> <http://data.europa.eu/bna/asd487ae75>"
    )));
    // AEDs and other data are not.
    for id in ["aed", "kreise"] {
        assert!(
            objects(&catalog, &dataset(id), APPLICABLE).is_empty(),
            "{id}"
        );
        assert!(
            objects(&catalog, &dataset(id), HVD_CATEGORY).is_empty(),
            "{id}"
        );
    }

    // The HVD catalog: only the high-value datasets.
    let (status, _, body) = get(&app, "/catalog.ttl?hvd=true").await;
    assert_eq!(status, 200);
    let hvd = triples(&body, "text/turtle");
    assert_eq!(
        datasets(&hvd, base),
        BTreeSet::from(["flurstuecke".to_string()])
    );
    assert!(hvd
        .iter()
        .any(|t| t.contains("hydra") && t.contains("hvd=true")));

    // Set per dataset: the Kreise as administrative units; the parcels declared no HVD.
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let (status, body) = put(
        &app,
        "/admin/datasets/kreise/metadata",
        Some(&key),
        r#"{"hvdCategories": ["c_9427236f"]}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(
        &app,
        "/admin/datasets/flurstuecke/metadata",
        Some(&key),
        r#"{"hvdCategories": []}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(
        &app,
        "/admin/datasets/aed/metadata",
        Some(&key),
        r#"{"hvdCategories": ["c_6a3f6896", "parcels"]}"#,
    )
    .await;
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("hvdCategories[1]")),
        "{body}"
    );
    let (_, _, body) = get(&app, "/catalog.ttl?hvd=true").await;
    let hvd = triples(&body, "text/turtle");
    assert_eq!(datasets(&hvd, base), BTreeSet::from(["kreise".to_string()]));
    assert_eq!(
        objects(&hvd, &dataset("kreise"), HVD_CATEGORY),
        BTreeSet::from(["<http://data.europa.eu/bna/c_9427236f>".to_string()])
    );
    let (_, _, body) = get(&app, "/catalog/datasets/flurstuecke.ttl").await;
    assert!(objects(
        &triples(&body, "text/turtle"),
        &dataset("flurstuecke"),
        APPLICABLE
    )
    .is_empty());

    // CKAN: the same as ckanext-dcat's DCAT-AP 3 profile names it.
    let package = crate::common::get_json(&app, "/api/3/action/package_show?id=kreise").await;
    let extras = package["result"]["extras"].as_array().unwrap();
    let extra = |k: &str| {
        extras
            .iter()
            .find(|e| e["key"] == k)
            .and_then(|e| e["value"].as_str())
            .map(|v| serde_json::from_str::<Json>(v).unwrap())
    };
    assert_eq!(
        extra("applicable_legislation"),
        Some(serde_json::json!([
            "http://data.europa.eu/eli/reg_impl/2023/138/oj"
        ]))
    );
    assert_eq!(
        extra("hvd_category"),
        Some(serde_json::json!(["http://data.europa.eu/bna/c_9427236f"]))
    );
    let package = crate::common::get_json(&app, "/api/3/action/package_show?id=aed").await;
    assert!(package["result"]["extras"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["key"] != "hvd_category"));
}
