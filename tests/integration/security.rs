//! Running on the open internet: scoped API keys and the audit log, rate limits, refusals of
//! malformed requests, security headers, request ids, metrics, and SQL injection attempts in
//! every parameter of every public endpoint.

use std::collections::HashMap;

use actix_web::test;
use serde_json::Value as Json;

use crate::common::{self, send, TestDb};
use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::auth::{Action, Scope};
use kreisgeo::catalog::DatasetKind;

fn with_key(req: test::TestRequest, key: &str) -> test::TestRequest {
    req.insert_header(("X-API-Key", key.to_string()))
}

fn metadata_body() -> Json {
    serde_json::json!({"title": {"de": "Defibrillatoren"}})
}

async fn audit(db: &TestDb) -> Vec<(Option<i64>, String, Option<String>, String, Option<i16>)> {
    sqlx::query_as(
        "SELECT key_id, action, dataset_id, outcome, status FROM catalog.audit_log ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("audit log")
}

#[actix_web::test]
async fn keys_are_scoped_to_datasets_and_actions_and_every_admin_action_is_audited() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    // Two versions of the AEDs, so that there is something to roll back to.
    db.ingest(
        "aed_osm_switzerland_2020-12_extract.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = common::app(&db).await;
    let aed_metadata = kreisgeo::auth::create_key(
        &db.pool,
        "Rettungsdienst",
        &Scope {
            datasets: Some(vec!["aed".into()]),
            actions: vec![Action::Metadata],
            publisher: None,
        },
    )
    .await
    .expect("key")
    .key;
    let all = kreisgeo::auth::create_key(&db.pool, "GIS", &Scope::all())
        .await
        .expect("key")
        .key;
    let put_metadata = |dataset: &str| {
        test::TestRequest::put()
            .uri(&format!("/admin/datasets/{dataset}/metadata"))
            .set_json(metadata_body())
    };

    // No key: 401, and nothing written to the audit log (anyone could fill it).
    let (status, headers, body) = send(&app, put_metadata("aed")).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "Unauthorized");
    assert!(headers.contains_key("www-authenticate"));
    assert!(audit(&db).await.is_empty());

    // In scope: done.
    let (status, _, body) = send(&app, with_key(put_metadata("aed"), &aed_metadata)).await;
    assert_eq!(status, 200, "{body}");
    // Another dataset, another action, the catalog-wide publisher: 403, saying why.
    let (status, _, body) = send(&app, with_key(put_metadata("parcels"), &aed_metadata)).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "Forbidden");
    assert!(
        body["description"]
            .as_str()
            .unwrap_or("")
            .contains("parcels"),
        "{body}"
    );
    let rollback = || test::TestRequest::post().uri("/admin/datasets/aed/rollback");
    let (status, _, body) = send(&app, with_key(rollback(), &aed_metadata)).await;
    assert_eq!(status, 403);
    assert!(
        body["description"]
            .as_str()
            .unwrap_or("")
            .contains("rollback"),
        "{body}"
    );
    let publisher = test::TestRequest::get().uri("/admin/catalog/publisher");
    let (status, _, _) = send(&app, with_key(publisher, &aed_metadata)).await;
    assert_eq!(status, 403);
    let delete = test::TestRequest::delete().uri("/admin/datasets/aed");
    let (status, _, _) = send(&app, with_key(delete, &aed_metadata)).await;
    assert_eq!(status, 403);
    let active: i64 = sqlx::query_scalar(
        "SELECT active_version FROM catalog.datasets WHERE id = 'aed' AND deleted_at IS NULL",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the dataset is still there");

    // The full key rolls back, over HTTP; the version really changes.
    let (status, _, body) = send(&app, with_key(rollback(), &all)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["from"], active);
    let now: i64 =
        sqlx::query_scalar("SELECT active_version FROM catalog.datasets WHERE id = 'aed'")
            .fetch_one(&db.pool)
            .await
            .expect("version");
    assert_eq!(body["to"], now);
    assert!(now < active);
    // A version that is not kept: 400 naming it, audited as failed.
    let (status, _, body) = send(
        &app,
        with_key(
            test::TestRequest::post().uri("/admin/datasets/aed/rollback?to=999999"),
            &all,
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let aed_key: i64 =
        sqlx::query_scalar("SELECT id FROM catalog.api_keys WHERE name = 'Rettungsdienst'")
            .fetch_one(&db.pool)
            .await
            .expect("id");
    let all_key: i64 = sqlx::query_scalar("SELECT id FROM catalog.api_keys WHERE name = 'GIS'")
        .fetch_one(&db.pool)
        .await
        .expect("id");
    let aed = Some("aed".to_string());
    assert_eq!(
        audit(&db).await,
        vec![
            (
                Some(aed_key),
                "metadata".into(),
                aed.clone(),
                "succeeded".into(),
                Some(200)
            ),
            (
                Some(aed_key),
                "metadata".into(),
                Some("parcels".into()),
                "denied".into(),
                Some(403)
            ),
            (
                Some(aed_key),
                "rollback".into(),
                aed.clone(),
                "denied".into(),
                Some(403)
            ),
            (
                Some(aed_key),
                "metadata".into(),
                None,
                "denied".into(),
                Some(403)
            ),
            (
                Some(aed_key),
                "delete".into(),
                aed.clone(),
                "denied".into(),
                Some(403)
            ),
            (
                Some(all_key),
                "rollback".into(),
                aed.clone(),
                "succeeded".into(),
                Some(200)
            ),
            (
                Some(all_key),
                "rollback".into(),
                aed.clone(),
                "failed".into(),
                Some(400)
            ),
        ]
    );
    // Each line carries the request id the client was given.
    let ids: Vec<Option<String>> =
        sqlx::query_scalar("SELECT request_id FROM catalog.audit_log ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("ids");
    assert!(ids
        .iter()
        .all(|id| id.as_deref().is_some_and(|i| i.len() >= 32)));

    // An ingest key for the AEDs uploads; its job is hidden from a key of another dataset.
    let ingest_aed = kreisgeo::auth::create_key(
        &db.pool,
        "AED upload",
        &Scope {
            datasets: Some(vec!["aed".into()]),
            actions: vec![Action::Ingest],
            publisher: None,
        },
    )
    .await
    .expect("key")
    .key;
    let upload = |dataset: &str| {
        test::TestRequest::post()
            .uri(&format!(
                "/admin/datasets/{dataset}/versions?kind=aed&filename=aed.geojson"
            ))
            .set_payload(std::fs::read(common::fixture("aed_koeln.geojson")).expect("fixture"))
    };
    let (status, _, _) = send(&app, with_key(upload("parcels"), &ingest_aed)).await;
    assert_eq!(status, 403);
    let (status, _, body) = send(&app, with_key(upload("aed"), &ingest_aed)).await;
    assert_eq!(status, 202, "{body}");
    let job = body["job"]["id"].as_i64().expect("job id");
    let (status, _, _) = send(
        &app,
        with_key(
            test::TestRequest::get().uri(&format!("/admin/jobs/{job}")),
            &aed_metadata,
        ),
    )
    .await;
    assert_eq!(
        status, 404,
        "a key without ingest scope does not learn of the job"
    );
    // The job's end is audited too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ends: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM catalog.audit_log WHERE action = 'ingest' AND status IS NULL \
             AND outcome = 'succeeded' AND detail LIKE $1",
        )
        .bind(format!("job {job}: version %"))
        .fetch_one(&db.pool)
        .await
        .expect("count");
        if ends == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job's end was not audited"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let accepted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM catalog.audit_log WHERE action = 'ingest' AND outcome = 'accepted' AND status = 202",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(accepted, 1);
}

#[actix_web::test]
async fn a_client_over_its_rate_limit_gets_429_with_retry_after() {
    let db = TestDb::new().await;
    let config = ApiConfig {
        rate_limit: 1,
        rate_burst: 3,
        trust_forwarded: true,
        ..ApiConfig::default()
    };
    let app = test::init_service(kreisgeo::api::app(AppState::new(db.pool.clone(), config))).await;
    let from = |client: &str| {
        test::TestRequest::get()
            .uri("/conformance")
            .insert_header(("X-Forwarded-For", client.to_string()))
    };
    for _ in 0..3 {
        assert_eq!(send(&app, from("192.0.2.1")).await.0, 200);
    }
    let (status, headers, body) = send(&app, from("192.0.2.1")).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], "TooManyRequests");
    let retry: u64 = headers["retry-after"].parse().expect("seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    // Another client has its own bucket; health checks are never limited.
    assert_eq!(send(&app, from("192.0.2.2")).await.0, 200);
    let health = test::TestRequest::get()
        .uri("/health")
        .insert_header(("X-Forwarded-For", "192.0.2.1"));
    assert_eq!(send(&app, health).await.0, 200);
}

#[actix_web::test]
async fn malformed_requests_are_refused_with_4xx_and_say_why() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = common::app(&db).await;
    let get = |uri: String| test::TestRequest::get().uri(&uri);

    let (status, _, body) = send(&app, get("/collections/aed%00/items".into())).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("path")));
    let (status, _, body) = send(&app, get("/collections/aed/items?filter=name%00".into())).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("query")));
    let (status, _, _) = send(&app, get("/collections/..%2F..%2Fetc/items".into())).await;
    assert!(status == 404 || status == 400, "{status}");
    let (status, _, body) = send(&app, get("/collections/%2e%2e/items".into())).await;
    assert_eq!(status, 400, "{body}");
    let long = format!("/collections/aed/items?filter={}", "a".repeat(20_000));
    let (status, _, body) = send(&app, get(long)).await;
    assert_eq!((status, body["code"].as_str()), (414, Some("UriTooLong")));
    let nested = format!(
        "/collections/aed/items?filter={}name%3D'x'{}",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let (status, _, body) = send(&app, get(nested)).await;
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("filter")),
        "{body}"
    );

    // A body in the wrong media type.
    let key = kreisgeo::auth::create_key(&db.pool, "t", &Scope::all())
        .await
        .expect("key")
        .key;
    let req = test::TestRequest::put()
        .uri("/admin/datasets/aed/metadata")
        .insert_header(("Content-Type", "text/plain"))
        .insert_header(("X-API-Key", key.clone()))
        .set_payload(metadata_body().to_string());
    let (status, _, body) = send(&app, req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    // A metadata document far beyond what one is: refused before it is read.
    let req = test::TestRequest::put()
        .uri("/admin/datasets/aed/metadata")
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("X-API-Key", key))
        .set_payload(vec![b' '; 4 << 20]);
    let (status, _, body) = send(&app, req).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("PayloadTooLarge"))
    );
}

#[actix_web::test]
async fn responses_carry_request_ids_security_headers_and_feed_the_metrics() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = common::app(&db).await;
    let (status, headers, _) = send(
        &app,
        test::TestRequest::get().uri("/collections/aed/items?f=html"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers["content-security-policy"].contains("default-src 'self'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let first = headers["x-request-id"].clone();
    let (_, headers, _) = send(&app, test::TestRequest::get().uri("/collections/aed")).await;
    assert_ne!(
        headers["x-request-id"], first,
        "each request has its own id"
    );
    assert!(
        !headers.contains_key("content-security-policy"),
        "JSON needs no CSP"
    );

    for _ in 0..2 {
        let (status, _, _) = send(
            &app,
            test::TestRequest::get().uri("/collections/aed/tiles/WebMercatorQuad/12/1369/2133"),
        )
        .await;
        assert!(status == 200 || status == 204);
    }
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status().as_u16(), 200);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert!(
        value(
            "kreisgeo_http_requests_total{route=\"/collections/{collectionId}/items\",method=\"GET\",status=\"200\"}"
        ) >= 1.0
    );
    assert!(
        value(
            "kreisgeo_http_request_duration_seconds_count{route=\"/collections/{collectionId}\"}"
        ) >= 1.0
    );
    // The registry is the process's: other tests count too, so only lower bounds hold.
    assert!(value("kreisgeo_tile_cache_hits_total") >= 1.0);
    assert!(value("kreisgeo_tile_cache_misses_total") >= 1.0);
    assert!(value("kreisgeo_tile_cache_bytes") > 0.0);
    assert!(value("kreisgeo_db_pool_max_connections") >= 1.0);
    assert!(text.contains("kreisgeo_db_pool_connections{state=\"idle\"}"));
    // The tile renders' pool too (here the primary's, shared with the data reads).
    assert!(
        value("kreisgeo_db_read_pool_max_connections{server=\"primary\",lane=\"tiles\"}") >= 1.0
    );
    assert!(text.contains(
        "kreisgeo_db_read_pool_connections{server=\"primary\",lane=\"tiles\",state=\"in_use\"}"
    ));
    assert!(text.contains("# TYPE kreisgeo_ingest_duration_seconds histogram"));

    let health = send(&app, test::TestRequest::get().uri("/health")).await;
    assert_eq!((health.0, health.2["status"].as_str()), (200, Some("up")));
    let ready = send(&app, test::TestRequest::get().uri("/ready")).await;
    assert_eq!((ready.0, ready.2["status"].as_str()), (200, Some("ready")));
}

#[actix_web::test]
async fn cors_follows_the_configured_origins() {
    let db = TestDb::new().await;
    let config = ApiConfig {
        cors_origins: vec!["https://karte.landkreis.example".into()],
        ..ApiConfig::default()
    };
    let app = test::init_service(kreisgeo::api::app(AppState::new(db.pool.clone(), config))).await;
    let from = |origin: &str| {
        test::TestRequest::get()
            .uri("/conformance")
            .insert_header(("Origin", origin.to_string()))
    };
    let (status, headers, _) = send(&app, from("https://karte.landkreis.example")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://karte.landkreis.example"
    );
    let (_, headers, _) = send(&app, from("https://evil.example")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));
}

#[actix_web::test]
async fn a_query_past_the_statement_timeout_answers_503_saying_so() {
    let db = TestDb::new().await;
    let pool = kreisgeo::db::connect_with(
        &db.url,
        &kreisgeo::db::PoolSettings {
            statement_timeout: Some(std::time::Duration::from_millis(50)),
            ..Default::default()
        },
    )
    .await
    .expect("pool");
    let error: kreisgeo::Error = sqlx::query("SELECT pg_sleep(2)")
        .execute(&pool)
        .await
        .expect_err("cancelled")
        .into();
    assert!(error.is_timeout());
    assert!(
        !error.is_database_down(),
        "a timeout must not stop the service"
    );
    let resp = actix_web::ResponseError::error_response(&error);
    assert_eq!(resp.status().as_u16(), 503);
}

/// Percent-encodes every byte but unreserved ones.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const PAYLOADS: &[&str] = &[
    "' OR '1'='1",
    "1; DROP TABLE catalog.datasets; --",
    "parcels'); DELETE FROM catalog.datasets; --",
    "\" OR 1=1 --",
    "1 UNION SELECT secret_hash FROM catalog.api_keys",
    "$$; TRUNCATE catalog.versions; $$",
    "x' AND (SELECT pg_sleep(5)) IS NULL AND 'a'='a",
    "name = 'a'); DROP TABLE catalog.api_keys; --",
    "S_INTERSECTS(geometry, POINT(7 51))) OR (1=1",
    "\\'; COPY catalog.api_keys TO '/tmp/keys'; --",
    "-1",
    "99999999999999999999999",
    "NaN",
    "ö€😀",
];

/// What a table-dropping or data-changing injection would change.
async fn fingerprint(db: &TestDb) -> String {
    sqlx::query_scalar(
        "SELECT string_agg(t, '|' ORDER BY t) FROM ( \
           SELECT 'datasets:' || md5(string_agg((to_jsonb(d) - ARRAY['search_indexed', 'ckan_id', \
             'search_title', 'search_tags', 'search_doc', 'search_modified'])::text, \
             ',' ORDER BY d.id)) AS t FROM catalog.datasets d \
           UNION ALL SELECT 'versions:' || md5(string_agg(v::text, ',' ORDER BY v.id)) FROM catalog.versions v \
           UNION ALL SELECT 'keys:' || md5(string_agg(k::text, ',' ORDER BY k.id)) FROM catalog.api_keys k \
           UNION ALL SELECT 'tables:' || count(*) FROM pg_tables WHERE schemaname IN ('catalog', 'data') \
           UNION ALL SELECT 'rows:' || sum((xpath('/row/c/text()', query_to_xml( \
               format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint) \
             FROM pg_tables WHERE schemaname = 'data' \
         ) f",
    )
    .fetch_one(&db.pool)
    .await
    .expect("fingerprint")
}

#[actix_web::test]
async fn injection_payloads_in_every_public_parameter_change_nothing_and_never_fail() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .expect("downloads");
    let key = kreisgeo::auth::create_key(&db.pool, "t", &Scope::all())
        .await
        .expect("key")
        .key;
    let app = common::app(&db).await;
    let items = common::get_json(&app, "/collections/aed/items?limit=1").await;
    let feature_id = items["features"][0]["id"]
        .to_string()
        .trim_matches('"')
        .to_string();
    assert!(!feature_id.is_empty());
    let before = fingerprint(&db).await;
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT encode(secret_hash, 'hex') FROM catalog.api_keys")
            .fetch_all(&db.pool)
            .await
            .expect("hashes");

    // Valid values for every path parameter, so that each payload reaches the handler.
    let valid: HashMap<&str, &str> = [
        ("collectionId", "aed"),
        ("featureId", feature_id.as_str()),
        ("tileMatrixSetId", "WebMercatorQuad"),
        ("tileMatrix", "12"),
        ("tileRow", "1369"),
        ("tileCol", "2133"),
        ("datasetId", "aed"),
        ("format", "ttl"),
        ("action", "package_search"),
        ("file", "aed.geojson"),
    ]
    .into_iter()
    .collect();
    // Parameters the OpenAPI document cannot list: CKAN's, and queryables as parameters.
    let extra: HashMap<&str, &[&str]> = [
        (
            "/api/3/action/{action}",
            &["q", "fq", "rows", "start", "sort", "id", "all_fields"][..],
        ),
        (
            "/collections/{collectionId}/items",
            &["name", "flurstueckskennzeichen"][..],
        ),
    ]
    .into_iter()
    .collect();

    let openapi = serde_json::to_value(kreisgeo::api::openapi::openapi()).expect("openapi");
    let mut requests = 0;
    for (path, operations) in openapi["paths"].as_object().expect("paths") {
        let Some(get) = operations.get("get") else {
            continue;
        };
        if path.starts_with("/admin") {
            continue;
        }
        // (name, where: "path", "query" or "header")
        let parameters: Vec<(String, String)> = get["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap_or_default().to_string(),
                            p["in"].as_str().unwrap_or("query").to_string(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .chain(
                extra
                    .get(path.as_str())
                    .into_iter()
                    .flat_map(|names| names.iter().map(|n| (n.to_string(), "query".to_string()))),
            )
            .collect();
        for (target, place) in &parameters {
            for payload in PAYLOADS {
                let mut uri = path.clone();
                for (name, where_) in &parameters {
                    if where_ == "path" {
                        let value = if name == target {
                            encode(payload)
                        } else {
                            valid.get(name.as_str()).copied().unwrap_or("x").to_string()
                        };
                        uri = uri.replace(&format!("{{{name}}}"), &value);
                    }
                }
                if place == "query" {
                    uri = format!("{uri}?{target}={}", encode(payload));
                }
                let mut req = test::TestRequest::get()
                    .uri(&uri)
                    .insert_header(("X-API-Key", key.clone()));
                if place == "header" {
                    // Payloads a client cannot put in a header (control characters) are skipped.
                    let Ok(value) = actix_web::http::header::HeaderValue::from_str(payload) else {
                        continue;
                    };
                    req = req.insert_header((target.as_str(), value));
                }
                let (status, _, body) = send(&app, req).await;
                requests += 1;
                assert!(status < 500, "GET {uri}: {status} {body}");
                let text = body.to_string();
                assert!(
                    !text.contains("syntax error") && !hashes.iter().any(|h| text.contains(h)),
                    "GET {uri} leaks SQL or data: {text}"
                );
            }
        }
    }
    assert!(
        requests > 500,
        "only {requests} requests: the endpoints were not found"
    );
    assert_eq!(fingerprint(&db).await, before, "an injection changed data");
}
