//! The admin API: API keys, streamed uploads, ingest jobs.

use std::time::{Duration, Instant};

use actix_web::test;
use serde_json::Value as Json;

use crate::common::{self, get_json, TestApp, TestDb};
use kreisgeo::api::state::{ApiConfig, AppState};

async fn post(
    app: &impl TestApp,
    uri: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<String>, Json) {
    let mut req = test::TestRequest::post().uri(uri).set_payload(body);
    if let Some(key) = key {
        req = req.insert_header(("Authorization", format!("Bearer {key}")));
    }
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(ToString::to_string);
    let body = test::read_body(resp).await;
    (
        status,
        location,
        serde_json::from_slice(&body).unwrap_or(Json::Null),
    )
}

async fn job(app: &impl TestApp, id: i64, key: &str) -> Json {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let req = test::TestRequest::get()
            .uri(&format!("/admin/jobs/{id}"))
            .insert_header(("X-API-Key", key))
            .to_request();
        let resp = test::call_service(app, req).await;
        assert_eq!(resp.status().as_u16(), 200);
        let job: Json = serde_json::from_slice(&test::read_body(resp).await).expect("job JSON");
        if job["state"] == "succeeded" || job["state"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::fixture(name)).expect("fixture")
}

#[actix_web::test]
async fn uploads_become_versions_through_jobs() {
    let db = TestDb::new().await;
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let app = common::app(&db).await;

    let (status, location, body) = post(
        &app,
        "/admin/datasets/aed/versions?kind=aed",
        Some(&key),
        fixture_bytes("aed_koeln.geojson"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["job"]["id"].as_i64().expect("job id");
    assert!(location.is_some_and(|l| l.ends_with(&format!("/admin/jobs/{id}"))));
    let done = job(&app, id, &key).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["report"]["features"], 121);
    assert_eq!(
        get_json(&app, "/collections/aed").await["featureCount"],
        121
    );

    // CSV is recognised by the file name it is uploaded under.
    let (status, _, body) = post(
        &app,
        "/admin/datasets/koeln-csv/versions?crs=EPSG:4326&filename=aed.csv",
        Some(&key),
        fixture_bytes("aed_koeln.csv"),
    )
    .await;
    assert_eq!(status, 202);
    let done = job(&app, body["job"]["id"].as_i64().expect("id"), &key).await;
    assert_eq!(done["report"]["features"], 145, "{done}");

    // A broken upload fails its job and leaves the served version as it was.
    let before = get_json(&app, "/collections/aed/items?limit=500").await;
    let mut broken = fixture_bytes("aed_koeln.geojson");
    broken.truncate(broken.len() / 2);
    let (status, _, body) = post(&app, "/admin/datasets/aed/versions", Some(&key), broken).await;
    assert_eq!(status, 202);
    let failed = job(&app, body["job"]["id"].as_i64().expect("id"), &key).await;
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["error"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("GeoJSON")),
        "{failed}"
    );
    let after = get_json(&app, "/collections/aed/items?limit=500").await;
    assert_eq!(before["features"], after["features"]);

    // Rejected features are listed in the failed job.
    let (status, _, body) = post(
        &app,
        "/admin/datasets/parcels/versions?kind=parcels",
        Some(&key),
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"flstkennz":"123"},"geometry":{"type":"Point","coordinates":[10,53]}}]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 202);
    let failed = job(&app, body["job"]["id"].as_i64().expect("id"), &key).await;
    assert_eq!(
        failed["error"]["problems"][0]["field"], "flstkennz",
        "{failed}"
    );
}

#[actix_web::test]
async fn admin_requires_a_valid_key_and_limits_uploads() {
    let db = TestDb::new().await;
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key");
    let app = common::app(&db).await;
    let upload = || fixture_bytes("aed_koeln.geojson");
    // The same key with its last hex digit changed.
    let last = if key.key.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &key.key[..key.key.len() - 1]);
    for presented in [
        None,
        Some("nonsense"),
        Some("kg_000000000000_00"),
        Some(tampered.as_str()),
    ] {
        let (status, _, body) =
            post(&app, "/admin/datasets/aed/versions", presented, upload()).await;
        assert_eq!(status, 401, "{presented:?}");
        assert_eq!(body["code"], "Unauthorized");
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/admin/jobs/1").to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    kreisgeo::auth::revoke_key(&db.pool, key.id)
        .await
        .expect("revoke");
    let (status, _, _) = post(
        &app,
        "/admin/datasets/aed/versions",
        Some(&key.key),
        upload(),
    )
    .await;
    assert_eq!(status, 401, "a revoked key must not work");

    let fresh = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let (status, _, body) = post(
        &app,
        "/admin/datasets/Bad%20Id/versions",
        Some(&fresh),
        upload(),
    )
    .await;
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("datasetId"))
    );
    let (status, _, body) = post(
        &app,
        "/admin/datasets/aed/versions?kind=houses",
        Some(&fresh),
        upload(),
    )
    .await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("kind")));

    // Uploads above the configured maximum are refused.
    let small = AppState::new(
        db.pool.clone(),
        ApiConfig {
            max_upload_bytes: 1000,
            ..ApiConfig::default()
        },
    );
    let app = test::init_service(kreisgeo::api::app(small)).await;
    let (status, _, body) =
        post(&app, "/admin/datasets/aed/versions", Some(&fresh), upload()).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "PayloadTooLarge");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.ingest_jobs")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(jobs, 0);
    // Public endpoints do not write.
    let resp = test::call_service(
        &app,
        test::TestRequest::post().uri("/collections").to_request(),
    )
    .await;
    assert!(resp.status().is_client_error());
}

#[actix_web::test]
async fn a_solar_cadastre_is_computed_as_a_job_from_an_uploaded_weather_year() {
    let db = TestDb::new().await;
    let tile = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/lod2/LoD2_32_337_5723_1_NW.gml");
    db.try_ingest(kreisgeo::ingest::IngestRequest {
        kind: kreisgeo::catalog::DatasetKind::Roofs,
        ..kreisgeo::ingest::IngestRequest::new(&tile, "daecher")
    })
    .await
    .expect("roofs");
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let app = common::app(&db).await;
    let weather = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/weather/tmy_52.496_13.414_2005_2020.csv"),
    )
    .expect("weather");

    // A parameter out of its range is refused before anything runs.
    let (status, _, body) = post(
        &app,
        "/admin/datasets/solar/solar?roofs=daecher&grid=0.01",
        Some(&key),
        weather.clone(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["parameter"], "grid");

    let (status, _, body) = post(
        &app,
        "/admin/datasets/solar/solar?roofs=daecher&grid=3&filename=berlin.csv&title=Solarpotenzial",
        Some(&key),
        weather.clone(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["job"]["id"].as_i64().expect("job id");
    let done = job(&app, id, &key).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["report"]["roofs_dataset"], "daecher");
    assert_eq!(done["report"]["weather_source"], "PVGIS TMY (CSV)");
    assert_eq!(done["report"]["settings"]["grid_m"], 3.0);
    let roofs = done["report"]["roofs"].as_u64().expect("roofs");
    assert!(roofs > 50, "{done}");
    let page = get_json(&app, "/collections/solar/items?limit=1").await;
    assert_eq!(page["numberMatched"], roofs);

    // A weather file that is not one fails the job with where and why; nothing is served anew.
    let (status, _, body) = post(
        &app,
        "/admin/datasets/solar/solar?roofs=daecher",
        Some(&key),
        b"time(UTC),T2m\n20200101:0000,x\n".to_vec(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let failed = job(&app, body["job"]["id"].as_i64().expect("id"), &key).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("line")),
        "{failed}"
    );
    let again = get_json(&app, "/collections/solar/items?limit=1").await;
    assert_eq!(again["numberMatched"], roofs);
}
