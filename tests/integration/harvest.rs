//! Datasets fed from other servers (issue 22): kreisgeo B harvests kreisgeo A's defibrillators
//! over OGC API Features on loopback (several pages), an unchanged A makes no new version on B,
//! a new version on A does, A down keeps B's version and says why; the server-side request
//! forgery rules: no private addresses unless allowed, no other schemes, redirects re-checked.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde_json::Value as Json;

use crate::common::{app, get_json, TestDb};
use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::harvest::{self, fetch, net, store};
use kreisgeo::server::http::{self, HttpSettings};

/// Serves `state` on a free loopback port.
fn serve(state: AppState) -> (u16, actix_server::ServerHandle) {
    let settings = HttpSettings {
        bind: "127.0.0.1:0".into(),
        workers: Some(1),
        header_timeout: Duration::from_secs(5),
        keep_alive: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(1),
    };
    let (server, addrs) = http::bind(state, &settings).expect("bind");
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addrs[0].port(), handle)
}

fn client(allow: &[&str]) -> fetch::Client {
    fetch::Client::new(fetch::Settings {
        policy: net::Policy::allowing(allow.iter().map(ToString::to_string)),
        timeout: Duration::from_secs(10),
        attempts: 2,
        backoff: Duration::from_millis(100),
        ..fetch::Settings::default()
    })
    .expect("client")
}

fn source<'a>(url: &'a str, kind: &'a str) -> store::NewSource<'a> {
    store::NewSource {
        dataset_id: "aed-a",
        kind,
        url,
        dataset_kind: "aed",
        crs: None,
        interval_s: 3600,
        mapping: &[],
        page_size: 50,
        query: None,
        credentials: None,
        priority: 100,
    }
}

async fn count(db: &TestDb, dataset: &str) -> i64 {
    let table = db.table_of(dataset).await;
    sqlx::query_scalar(&format!("SELECT count(*) FROM data.\"{table}\""))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn active_version(db: &TestDb, dataset: &str) -> i64 {
    sqlx::query_scalar("SELECT active_version FROM catalog.datasets WHERE id = $1")
        .bind(dataset)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// The (remote id, rounded position) of every feature of `collection` on `app`.
async fn contents(
    app: &impl crate::common::TestApp,
    collection: &str,
    id: &str,
) -> BTreeSet<String> {
    let page = get_json(app, &format!("/collections/{collection}/items?limit=10000")).await;
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            let key = match id {
                "id" => f["id"].to_string().trim_matches('"').to_string(),
                _ => f["properties"][id].as_str().unwrap_or_default().to_string(),
            };
            format!(
                "{key}@{:.6},{:.6}",
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap()
            )
        })
        .collect()
}

#[actix_web::test]
async fn kreisgeo_b_harvests_kreisgeo_a_over_ogc_api_features() {
    let a = TestDb::new().await;
    a.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed).await;
    let (port, server) = serve(a.state());
    let url = format!("http://127.0.0.1:{port}/collections/aed");
    let b = TestDb::new().await;

    // Loopback is inside: refused unless the operator allows the host.
    let refused = harvest::add(&b.pool, &net::Policy::default(), &source(&url, "ogcapi"))
        .await
        .expect_err("loopback without allowing it");
    assert!(refused.to_string().contains("inside"), "{refused}");
    let allow = net::Policy::allowing(["127.0.0.1".to_string()]);
    let id = harvest::add(&b.pool, &allow, &source(&url, "ogcapi"))
        .await
        .expect("source");
    let http = client(&["127.0.0.1"]);
    let row = || async { store::find(&b.pool, id).await.unwrap().unwrap() };

    // Every page, into a served version.
    let first = harvest::run(&b.pool, &http, &row().await)
        .await
        .unwrap()
        .expect("not locked");
    assert_eq!(first.status, "new-version", "{first:?}");
    let n = count(&a, "aed").await as u64;
    assert!(n > 100, "{n} AEDs in Köln");
    assert_eq!(first.features, Some(n));
    assert_eq!(first.pages, Some(n.div_ceil(50) as u32), "{first:?}");
    let app_a = app(&a).await;
    let app_b = app(&b).await;
    assert_eq!(
        contents(&app_b, "aed-a", "remote_id").await,
        contents(&app_a, "aed", "id").await
    );
    let collection = get_json(&app_b, "/collections/aed-a").await;
    assert_eq!(collection["kind"], "aed");

    // Unchanged: no new version (A answers 304 to the ETag of its first page).
    let again = harvest::run(&b.pool, &http, &row().await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, "unchanged", "{again:?}");
    assert_eq!(active_version(&b, "aed-a").await, first.version.unwrap());

    // A new version on A is on B after the next run.
    a.ingest(
        "aed_osm_switzerland_2020-12_extract.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let next = harvest::run(&b.pool, &http, &row().await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.status, "new-version", "{next:?}");
    let app_a = app(&a).await;
    assert_eq!(
        contents(&app_b, "aed-a", "remote_id").await,
        contents(&app_a, "aed", "id").await
    );

    // A down: B keeps its version and says why, in the source and the audit log.
    server.stop(false).await;
    let down = harvest::run(&b.pool, &http, &row().await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(down.status, "failed");
    let error = down.error.clone().unwrap();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert_eq!(active_version(&b, "aed-a").await, next.version.unwrap());
    let stored = row().await;
    assert_eq!(stored.last_status.as_deref(), Some("failed"));
    assert_eq!(stored.last_error.as_deref(), Some(error.as_str()));
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT outcome, detail FROM catalog.audit_log WHERE action = 'harvest' ORDER BY id",
    )
    .fetch_all(&b.pool)
    .await
    .unwrap();
    // The node stays ready and says which source fails; the metrics count it.
    let ready = get_json(&app_b, "/ready").await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["failing_sources"][0]["id"], id, "{ready}");
    assert_eq!(ready["failing_sources"][0]["dataset"], "aed-a");
    let (status, _, metrics) = crate::common::get(&app_b, "/metrics").await;
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("kreisgeo_sources_failing 1\n")
            && metrics.contains("kreisgeo_harvest_runs_total{outcome=\"failed\"}"),
        "{metrics}"
    );
    let outcomes: Vec<&str> = audit.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(outcomes, ["succeeded", "succeeded", "succeeded", "failed"]);
    assert!(audit[3].1.contains("failed"), "{audit:?}");
}

#[actix_web::test]
async fn a_file_by_url_and_the_server_side_request_forgery_rules() {
    let a = TestDb::new().await;
    a.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed).await;
    // A redirects its basemap style to an address on the loopback network it does not allow.
    let state = AppState::new(
        a.pool.clone(),
        ApiConfig {
            basemap_style: Some("http://127.0.0.2:9/style.json".into()),
            ..ApiConfig::default()
        },
    );
    let (port, server) = serve(state);
    let b = TestDb::new().await;
    let allow = net::Policy::allowing(["127.0.0.1".to_string()]);

    // A GeoJSON file by URL (A's items as one document).
    let url = format!("http://127.0.0.1:{port}/collections/aed/items?limit=10000");
    let id = harvest::add(&b.pool, &allow, &source(&url, "file"))
        .await
        .unwrap();
    let http = client(&["127.0.0.1"]);
    let run = harvest::run(
        &b.pool,
        &http,
        &store::find(&b.pool, id).await.unwrap().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(run.status, "new-version", "{run:?}");
    assert_eq!(count(&b, "aed-a").await, count(&a, "aed").await);

    // Refused before any request: other schemes, metadata and private addresses, credentials.
    for bad in [
        "file:///etc/passwd",
        "ftp://example.org/aed.csv",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/aed.geojson",
        "http://[::1]/aed.geojson",
        "http://2130706433/aed.geojson",
        "https://user:secret@example.org/aed.geojson",
    ] {
        let e = harvest::add(
            &b.pool,
            &net::Policy::default(),
            &store::NewSource {
                dataset_id: "other",
                ..source(bad, "file")
            },
        )
        .await
        .expect_err(bad);
        let said = e.to_string();
        assert!(
            ["inside", "only http", "credentials"]
                .iter()
                .any(|w| said.contains(w))
                && !said.contains("secret"),
            "{bad}: {said}"
        );
        let e = client(&[])
            .download(&reqwest::Url::parse(bad).unwrap(), None)
            .await
            .expect_err(bad);
        assert!(matches!(e, fetch::FetchError::Refused(_)), "{bad}: {e}");
    }
    // A redirect into the network is refused when it is followed, not fetched.
    let redirected = http
        .download(
            &reqwest::Url::parse(&format!("http://127.0.0.1:{port}/basemap/style.json")).unwrap(),
            None,
        )
        .await
        .expect_err("the redirect to 127.0.0.2");
    assert!(
        matches!(redirected, fetch::FetchError::Refused(_)),
        "{redirected}"
    );
    assert!(redirected.to_string().contains("127.0.0.2"), "{redirected}");
    // A name resolving to loopback is refused by the resolver unless allowed.
    let e = client(&[])
        .download(
            &reqwest::Url::parse(&format!("http://localhost:{port}/collections")).unwrap(),
            None,
        )
        .await
        .expect_err("localhost");
    assert!(matches!(e, fetch::FetchError::Refused(_)), "{e}");
    let ok = client(&["localhost"])
        .get(
            &reqwest::Url::parse(&format!("http://localhost:{port}/collections")).unwrap(),
            "application/json",
            None,
        )
        .await
        .expect("localhost allowed");
    assert!(matches!(ok, fetch::Fetched::Body { .. }));
    // A body larger than the limit is not read to its end.
    let small = fetch::Client::new(fetch::Settings {
        policy: allow.clone(),
        max_bytes: 1000,
        ..fetch::Settings::default()
    })
    .unwrap();
    let e = small
        .download(&reqwest::Url::parse(&url).unwrap(), None)
        .await
        .expect_err("too large");
    assert!(matches!(e, fetch::FetchError::TooLarge { .. }), "{e}");
    server.stop(false).await;
}

/// A WFS 2.0 of Essen's house coordinates and an Overpass API, both stubs on loopback serving
/// real answers: the WFS cuts its one page of 1,000 into pages of COUNT from STARTINDEX.
fn stubs() -> (u16, actix_server::ServerHandle) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let gml = std::fs::read_to_string(crate::common::fixture(
        "wfs/essen_hauskoordinaten_wfs_page000.gml",
    ))
    .unwrap();
    let first = gml.find("<wfs:member>").unwrap();
    let last = gml.rfind("</wfs:FeatureCollection>").unwrap();
    let head = gml[..first].to_string();
    let members: Vec<String> = gml[first..last]
        .split_inclusive("</wfs:member>")
        .filter(|m| m.contains("<wfs:member>"))
        .map(str::to_string)
        .collect();
    let overpass = std::fs::read(crate::common::fixture(
        "aed_osm_switzerland_2020-12_extract.overpass.json",
    ))
    .unwrap();
    let wfs = move |req: HttpRequest| {
        let q: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(req.query_string()).unwrap();
        let count: usize = q["COUNT"].parse().unwrap();
        let start: usize = q["STARTINDEX"].parse().unwrap();
        let page: Vec<&String> = members.iter().skip(start).take(count).collect();
        let head = head.replace(
            "numberReturned=\"1000\"",
            &format!("numberReturned=\"{}\"", page.len()),
        );
        let mut body = head;
        for m in page {
            body.push_str(m);
        }
        body.push_str("\n</wfs:FeatureCollection>\n");
        HttpResponse::Ok()
            .content_type("application/gml+xml; version=3.2")
            .body(body)
    };
    let interpreter = move |req: HttpRequest| {
        let q: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(req.query_string()).unwrap();
        if !q["data"].starts_with("[out:json];node[emergency=defibrillator]") {
            return HttpResponse::BadRequest().body(q["data"].clone());
        }
        HttpResponse::Ok()
            .content_type("application/json")
            .body(overpass.clone())
    };
    // A file only for who says kreis:geheim (HTTP Basic).
    let secret = move |req: HttpRequest| {
        let expected = "Basic a3JlaXM6Z2VoZWlt";
        match req.headers().get("Authorization").and_then(|v| v.to_str().ok()) {
            Some(v) if v == expected => HttpResponse::Ok()
                .content_type("application/geo+json")
                .body(r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"AED Kreishaus"},"geometry":{"type":"Point","coordinates":[10.41,53.25]}}]}"#),
            _ => HttpResponse::Unauthorized().finish(),
        }
    };
    let server = HttpServer::new(move || {
        let (wfs, interpreter, secret) = (wfs.clone(), interpreter.clone(), secret);
        App::new()
            .route(
                "/secret.geojson",
                web::get().to(move |r| std::future::ready(secret(r))),
            )
            .route("/wfs", web::get().to(move |r| std::future::ready(wfs(r))))
            .route(
                "/api/interpreter",
                web::get().to(move |r| std::future::ready(interpreter(r))),
            )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (port, handle)
}

#[actix_web::test]
async fn a_wfs_page_by_page_and_an_overpass_query() {
    let (port, server) = stubs();
    let b = TestDb::new().await;
    let allow = net::Policy::allowing(["127.0.0.1".to_string()]);
    let http = client(&["127.0.0.1"]);
    let wfs = format!(
        "http://127.0.0.1:{port}/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=Hauskoordinaten"
    );
    let kind = harvest::SourceKind::guess(&reqwest::Url::parse(&wfs).unwrap());
    assert_eq!(kind, harvest::SourceKind::Wfs);
    let id = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            dataset_id: "adressen",
            dataset_kind: "addresses",
            page_size: 300,
            ..source(&wfs, "wfs")
        },
    )
    .await
    .unwrap();
    let run = harvest::run(
        &b.pool,
        &http,
        &store::find(&b.pool, id).await.unwrap().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(run.status, "new-version", "{run:?}");
    assert_eq!(run.pages, Some(4), "300 + 300 + 300 + 100");
    assert_eq!(count(&b, "adressen").await, 1000);
    let table = b.table_of("adressen").await;
    let streets: i64 = sqlx::query_scalar(&format!(
        "SELECT count(DISTINCT street) FROM data.\"{table}\""
    ))
    .fetch_one(&b.pool)
    .await
    .unwrap();
    assert!(streets > 10, "{streets} streets");

    // Overpass: the query is sent with [out:json] first; the answer is read as OSM elements.
    let bad = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            dataset_id: "aed-osm",
            ..source(
                &format!("http://127.0.0.1:{port}/api/interpreter"),
                "overpass",
            )
        },
    )
    .await
    .expect_err("no query");
    assert!(bad.to_string().contains("query"), "{bad}");
    let id = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            dataset_id: "aed-osm",
            query: Some("node[emergency=defibrillator](45.8,5.9,47.9,10.5);out;"),
            ..source(
                &format!("http://127.0.0.1:{port}/api/interpreter"),
                "overpass",
            )
        },
    )
    .await
    .unwrap();
    let run = harvest::run(
        &b.pool,
        &http,
        &store::find(&b.pool, id).await.unwrap().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(run.status, "new-version", "{run:?}");
    let expected: Json = serde_json::from_slice(
        &std::fs::read(crate::common::fixture(
            "aed_osm_switzerland_2020-12_extract.overpass.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let nodes = expected["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "node")
        .count() as i64;
    assert_eq!(count(&b, "aed-osm").await, nodes);

    // Credentials are read from a file (or a variable) at each run, never stored or shown.
    let bad = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            dataset_id: "geheim",
            credentials: Some("kreis:geheim"),
            ..source(&format!("http://127.0.0.1:{port}/secret.geojson"), "file")
        },
    )
    .await
    .expect_err("credentials in the catalog");
    assert!(bad.to_string().contains("credentials"), "{bad}");
    let file = std::env::temp_dir().join(format!("kreisgeo-cred-{}", std::process::id()));
    std::fs::write(&file, "kreis:falsch\n").unwrap();
    let reference = format!("file:{}", file.display());
    let id = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            dataset_id: "geheim",
            credentials: Some(&reference),
            ..source(&format!("http://127.0.0.1:{port}/secret.geojson"), "file")
        },
    )
    .await
    .unwrap();
    let row = store::find(&b.pool, id).await.unwrap().unwrap();
    let denied = harvest::run(&b.pool, &http, &row).await.unwrap().unwrap();
    assert_eq!(denied.status, "failed");
    let said = denied.error.unwrap();
    assert!(said.contains("401") && !said.contains("falsch"), "{said}");
    std::fs::write(&file, "kreis:geheim\n").unwrap();
    let row = store::find(&b.pool, id).await.unwrap().unwrap();
    let admitted = harvest::run(&b.pool, &http, &row).await.unwrap().unwrap();
    assert_eq!(admitted.status, "new-version", "{admitted:?}");
    assert_eq!(count(&b, "geheim").await, 1);
    let _ = std::fs::remove_file(&file);
    server.stop(false).await;
}

/// The defibrillators of the fixtures (Swiss OSM extract, Köln's list) with the AED profile's
/// attribute names: operator, location text, street and number, opening hours.
fn real_aeds() -> Vec<(f64, f64, serde_json::Map<String, Json>)> {
    let read = |name: &str| -> Json {
        serde_json::from_slice(&std::fs::read(crate::common::fixture(name)).unwrap()).unwrap()
    };
    let mut out = Vec::new();
    let text = |v: &Json| v.as_str().filter(|s| !s.trim().is_empty()).map(Json::from);
    for f in read("aed_osm_switzerland_2020-12_extract.geojson")["features"]
        .as_array()
        .unwrap()
    {
        let p = &f["properties"];
        let mut a = serde_json::Map::new();
        for (from, to) in [
            ("operator", "operator"),
            ("defibrillator:location", "defibrillator_location"),
            ("addr:street", "street"),
            ("addr:housenumber", "house_number"),
            ("opening_hours", "opening_hours"),
        ] {
            if let Some(v) = text(&p[from]) {
                a.insert(to.into(), v);
            }
        }
        let c = &f["geometry"]["coordinates"];
        out.push((c[0].as_f64().unwrap(), c[1].as_f64().unwrap(), a));
    }
    for f in read("aed_koeln.geojson")["features"].as_array().unwrap() {
        let p = &f["properties"];
        let mut a = serde_json::Map::new();
        if let Some(v) = text(&p["name"]) {
            a.insert("operator".into(), v);
        }
        if let Some(v) = text(&p["location_details"]) {
            a.insert("defibrillator_location".into(), v);
        }
        if let Some(v) = text(&p["opening_hours"]) {
            a.insert("opening_hours".into(), v);
        }
        if let Some(address) = p["address"].as_str() {
            match address.rsplit_once(' ') {
                Some((street, n)) if n.starts_with(|c: char| c.is_ascii_digit()) => {
                    a.insert("street".into(), street.into());
                    a.insert("house_number".into(), n.into());
                }
                _ => {
                    a.insert("street".into(), address.into());
                }
            }
        }
        let c = &f["geometry"]["coordinates"];
        out.push((c[0].as_f64().unwrap(), c[1].as_f64().unwrap(), a));
    }
    out
}

#[test]
fn duplicates_across_sources_are_merged_with_high_precision_and_recall() {
    use harvest::merge::{merge, Candidate, Rules};
    use rand::{Rng, SeedableRng};
    let base = real_aeds();
    assert!(base.len() > 400, "{} AEDs", base.len());
    let mut rng = rand::rngs::StdRng::seed_from_u64(22);
    let moved = |lon: f64, lat: f64, rng: &mut rand::rngs::StdRng, lo: f64, hi: f64| {
        let d = rng.random_range(lo..hi);
        let bearing = rng.random_range(0.0..std::f64::consts::TAU);
        (
            lon + d * bearing.sin() / (111_320.0 * lat.to_radians().cos()),
            lat + d * bearing.cos() / 110_574.0,
        )
    };
    // How another register writes the same words.
    let reworded = |s: &str, rng: &mut rand::rngs::StdRng| -> String {
        match rng.random_range(0..5) {
            0 => s.to_uppercase(),
            1 => s.replace("straße", "str.").replace("strasse", "str."),
            2 => format!("{s} (EG)"),
            3 => s.to_lowercase(),
            _ => s.to_string(),
        }
    };
    // (candidate, label): the same label is the same device.
    let mut set: Vec<(Candidate, usize)> = Vec::new();
    let candidate = |source: i64, id: String, (lon, lat): (f64, f64), attrs| Candidate {
        source,
        priority: source as u32,
        fetched: 0,
        remote_id: id,
        lon,
        lat,
        geometry: None,
        attrs,
    };
    for (i, (lon, lat, attrs)) in base.iter().enumerate() {
        set.push((
            candidate(1, format!("a{i}"), (*lon, *lat), attrs.clone()),
            i,
        ));
    }
    let mut label = base.len();
    let (mut duplicates, mut neighbours) = (0, 0);
    for (i, (lon, lat, attrs)) in base.iter().enumerate() {
        // The neighbour county's register lists 60 % of them, moved up to 15 m, some
        // attributes left out or written otherwise, some with other hours.
        if rng.random_bool(0.6) {
            let mut a = serde_json::Map::new();
            for (k, v) in attrs {
                if rng.random_bool(0.8) {
                    let v = match (k.as_str(), v.as_str()) {
                        ("opening_hours", Some(_)) if rng.random_bool(0.2) => {
                            Json::from("Mo-Fr 08:00-17:00")
                        }
                        (_, Some(s)) => Json::from(reworded(s, &mut rng)),
                        _ => v.clone(),
                    };
                    a.insert(k.clone(), v);
                }
            }
            let at = moved(*lon, *lat, &mut rng, 0.0, 15.0);
            set.push((candidate(2, format!("b{i}"), at, a), i));
            duplicates += 1;
        }
        // The dispatch centre's list: 30 %, up to 20 m off, the location text only.
        if rng.random_bool(0.3) {
            let mut a = serde_json::Map::new();
            if let Some(Json::String(s)) = attrs.get("defibrillator_location") {
                a.insert(
                    "defibrillator_location".into(),
                    Json::from(reworded(s, &mut rng)),
                );
            }
            let at = moved(*lon, *lat, &mut rng, 0.0, 20.0);
            set.push((candidate(3, format!("c{i}"), at, a), i));
            duplicates += 1;
        }
        // A quarter get a different device near by in the neighbour's register: 6 to 20 m
        // away, with another device's operator and location.
        let told_apart = ["operator", "defibrillator_location"]
            .iter()
            .any(|k| attrs.contains_key(*k));
        if rng.random_bool(0.25) && told_apart {
            let other = loop {
                let j = rng.random_range(0..base.len());
                let o = &base[j].2;
                let differs = ["operator", "defibrillator_location"].iter().any(|k| {
                    match (attrs.get(*k), o.get(*k)) {
                        (Some(x), Some(y)) => x != y,
                        _ => false,
                    }
                });
                if j != i && differs {
                    break o.clone();
                }
            };
            let at = moved(*lon, *lat, &mut rng, 6.0, 20.0);
            set.push((candidate(2, format!("n{i}"), at, other), label));
            label += 1;
            neighbours += 1;
        }
    }
    let labels: HashMap<(i64, String), usize> = set
        .iter()
        .map(|(c, l)| ((c.source, c.remote_id.clone()), *l))
        .collect();
    let merged = merge(set.iter().map(|(c, _)| c.clone()).collect(), &Rules::aed());
    let pairs = |groups: Vec<Vec<(i64, String)>>| -> HashSet<((i64, String), (i64, String))> {
        let mut out = HashSet::new();
        for g in groups {
            for (x, a) in g.iter().enumerate() {
                for b in &g[x + 1..] {
                    let (p, q) = if a < b { (a, b) } else { (b, a) };
                    out.insert((p.clone(), q.clone()));
                }
            }
        }
        out
    };
    let predicted = pairs(merged.iter().map(|m| m.sources.clone()).collect());
    let mut by_label: HashMap<usize, Vec<(i64, String)>> = HashMap::new();
    for (k, l) in &labels {
        by_label.entry(*l).or_default().push(k.clone());
    }
    let truth = pairs(by_label.into_values().collect());
    let right = predicted.intersection(&truth).count() as f64;
    let precision = right / predicted.len() as f64;
    let recall = right / truth.len() as f64;
    eprintln!(
        "dedup: {} candidates from {} real AEDs ({duplicates} duplicates, {neighbours} near but \
         distinct neighbours) → {} features; pairs: {} true, {} predicted; precision {precision:.3}, \
         recall {recall:.3}",
        set.len(),
        base.len(),
        merged.len(),
        truth.len(),
        predicted.len()
    );
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.95, "recall {recall:.3}");
    // Every merged feature says where it came from; differing hours are flagged.
    assert!(merged.iter().all(|m| !m.sources.is_empty()));
    assert!(merged.iter().any(|m| m.hours_conflict));
}

/// A request to the admin API with a key.
async fn admin(
    app: &impl crate::common::TestApp,
    method: actix_web::http::Method,
    uri: &str,
    key: &str,
    body: Option<Json>,
) -> (u16, Json) {
    let mut req = actix_web::test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {key}")));
    if let Some(body) = body {
        req = req.set_json(body);
    }
    let resp = actix_web::test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    let body = actix_web::test::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or(Json::Null))
}

#[actix_web::test]
async fn sources_are_managed_and_run_over_the_admin_api() {
    use actix_web::http::Method;
    let a = TestDb::new().await;
    a.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed).await;
    let (port, server) = serve(a.state());
    let b = TestDb::new().await;
    let app = actix_web::test::init_service(kreisgeo::api::app(AppState::new(
        b.pool.clone(),
        ApiConfig {
            harvest_allow_hosts: vec!["127.0.0.1".into()],
            ..ApiConfig::default()
        },
    )))
    .await;
    let all = kreisgeo::auth::create_key(&b.pool, "all", &kreisgeo::auth::Scope::all())
        .await
        .unwrap()
        .key;
    let other = kreisgeo::auth::create_key(
        &b.pool,
        "other",
        &kreisgeo::auth::Scope {
            datasets: Some(vec!["parcels".into()]),
            actions: vec![kreisgeo::auth::Action::Ingest],
            publisher: None,
        },
    )
    .await
    .unwrap()
    .key;
    let url = format!("http://127.0.0.1:{port}/collections/aed");
    let body = serde_json::json!({"url": url, "as": "aed", "page_size": 40});
    // A key for another dataset may not; a bad URL is a 400 naming the parameter.
    let (status, _) = admin(
        &app,
        Method::POST,
        "/admin/datasets/aed-a/sources",
        &other,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, said) = admin(
        &app,
        Method::POST,
        "/admin/datasets/aed-a/sources",
        &all,
        Some(serde_json::json!({"url": "http://169.254.169.254/latest"})),
    )
    .await;
    assert_eq!(
        (status, said["parameter"].as_str()),
        (400, Some("url")),
        "{said}"
    );
    let (status, source) = admin(
        &app,
        Method::POST,
        "/admin/datasets/aed-a/sources",
        &all,
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{source}");
    assert_eq!(source["kind"], "ogcapi");
    let id = source["id"].as_i64().unwrap();
    // Run now: every page into a version.
    let (status, run) = admin(
        &app,
        Method::POST,
        &format!("/admin/sources/{id}/run"),
        &all,
        None,
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "new-version");
    assert_eq!(run["pages"], 4, "121 AEDs by 40");
    assert_eq!(count(&b, "aed-a").await, 121);
    let (status, listed) = admin(
        &app,
        Method::GET,
        "/admin/sources?dataset=aed-a",
        &all,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["last_status"], "new-version", "{listed}");
    let (status, _) = admin(&app, Method::GET, "/admin/sources", &other, None).await;
    assert_eq!(status, 403, "a scoped key lists only its datasets' sources");
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/sources/{id}"),
        &other,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/sources/{id}"),
        &all,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("/admin/sources/{id}/run"),
        &all,
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The dataset keeps its version.
    assert_eq!(count(&b, "aed-a").await, 121);
    server.stop(false).await;
}

#[actix_web::test]
async fn a_ckan_package_and_a_dcat_dataset_give_their_download() {
    let a = TestDb::new().await;
    a.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed).await;
    kreisgeo::downloads::build::build_missing(&a.pool)
        .await
        .expect("downloads");
    let (port, server) = serve(a.state());
    let b = TestDb::new().await;
    let allow = net::Policy::allowing(["127.0.0.1".to_string()]);
    let http = client(&["127.0.0.1"]);
    for (dataset, url) in [
        (
            "aed-ckan",
            format!("http://127.0.0.1:{port}/api/3/action/package_show?id=aed"),
        ),
        (
            "aed-dcat",
            format!("http://127.0.0.1:{port}/catalog/datasets/aed.ttl"),
        ),
    ] {
        let kind = harvest::SourceKind::guess(&reqwest::Url::parse(&url).unwrap());
        let id = harvest::add(
            &b.pool,
            &allow,
            &store::NewSource {
                dataset_id: dataset,
                ..source(&url, kind.as_str())
            },
        )
        .await
        .unwrap();
        let run = harvest::run(
            &b.pool,
            &http,
            &store::find(&b.pool, id).await.unwrap().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(run.status, "new-version", "{dataset}: {run:?}");
        assert_eq!(count(&b, dataset).await, 121, "{dataset}");
        // The GeoJSON distribution was the one chosen.
        let format: String = sqlx::query_scalar(
            "SELECT v.source_format FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version WHERE d.id = $1",
        )
        .bind(dataset)
        .fetch_one(&b.pool)
        .await
        .unwrap();
        assert_eq!(format, "GeoJSON", "{dataset}");
    }
    server.stop(false).await;
}

/// Serves fixed answers: `(path, content type, body)`.
fn static_stub(
    routes: Vec<(&'static str, &'static str, Vec<u8>)>,
) -> (u16, actix_server::ServerHandle) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for (path, ty, body) in routes.clone() {
            app = app.route(
                path,
                web::get().to(move || {
                    let body = body.clone();
                    async move { HttpResponse::Ok().content_type(ty).body(body) }
                }),
            );
        }
        app
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (port, handle)
}

/// pygeoapi (PyPI) serving `geojson` as the collection `defis`; killed on drop.
struct Pygeoapi {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Pygeoapi {
    fn start(geojson: &Json) -> Self {
        use std::io::BufRead;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nachbarkreis.geojson");
        std::fs::write(&data, geojson.to_string()).unwrap();
        let mut child = std::process::Command::new(root.join("target/py-pygeoapi/bin/python"))
            .arg(root.join("tests/support/pygeoapi_serve.py"))
            .arg(&data)
            .arg(dir.path().join("work"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("target/py-pygeoapi is missing: run scripts/install-deps.sh --test");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("pygeoapi did not start: {line:?}")
        });
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Pygeoapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Metres between two lon/lat points (locally).
fn metres_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dx = (a.0 - b.0) * 111_320.0 * a.1.to_radians().cos();
    let dy = (a.1 - b.1) * 110_574.0;
    (dx * dx + dy * dy).sqrt()
}

/// `p` moved `east` and `north` metres.
fn moved(p: (f64, f64), east: f64, north: f64) -> (f64, f64) {
    (
        p.0 + east / (111_320.0 * p.1.to_radians().cos()),
        p.1 + north / 110_574.0,
    )
}

#[actix_web::test]
async fn one_register_from_kreisgeo_pygeoapi_a_csv_and_overpass_with_duplicates_merged() {
    // Kreisgeo A serves Köln's AEDs; B's register "aed-register" is fed by A (OGC API, several
    // pages), pygeoapi serving a neighbour's file (foreign OGC API), a CSV by URL and an
    // Overpass answer (Swiss AEDs, elsewhere).
    let a = TestDb::new().await;
    a.try_ingest(kreisgeo::ingest::IngestRequest {
        kind: DatasetKind::Aed,
        mappings: vec![("operator".into(), "name".into())],
        ..kreisgeo::ingest::IngestRequest::new(crate::common::fixture("aed_koeln.geojson"), "aed")
    })
    .await
    .unwrap();
    let (a_port, a_server) = serve(a.state());
    let koeln: Json = serde_json::from_slice(
        &std::fs::read(crate::common::fixture("aed_koeln.geojson")).unwrap(),
    )
    .unwrap();
    let koeln: Vec<(f64, f64, serde_json::Map<String, Json>)> = koeln["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap(),
                f["properties"].as_object().unwrap().clone(),
            )
        })
        .collect();
    // Devices with no other within 80 m, so that which one a copy is never is in doubt.
    let alone: Vec<usize> = (0..koeln.len())
        .filter(|&i| {
            (0..koeln.len()).all(|j| {
                j == i || metres_between((koeln[i].0, koeln[i].1), (koeln[j].0, koeln[j].1)) > 80.0
            })
        })
        .collect();
    assert!(alone.len() >= 30, "{} lone AEDs", alone.len());
    let at = |i: usize| (koeln[i].0, koeln[i].1);
    let operator = |i: usize| koeln[i].2["name"].as_str().unwrap().to_string();

    // The neighbour: 20 of Köln's, moved 6 m, written otherwise; one with its own hours; three
    // of its own; one 12 m from a Köln AED but another operator (a second device).
    let mut nk = Vec::new();
    for (n, &i) in alone[..20].iter().enumerate() {
        let p = moved(at(i), 0.0, 6.0);
        let hours = if n == 0 { "Mo-Fr 08:00-18:00" } else { "" };
        nk.push(
            serde_json::json!({"type": "Feature", "id": format!("nk-{i}"),
            "geometry": {"type": "Point", "coordinates": [p.0, p.1]},
            "properties": {"Betreiber": operator(i).to_uppercase(), "Öffnungszeiten": hours}}),
        );
    }
    for k in 0..3 {
        nk.push(
            serde_json::json!({"type": "Feature", "id": format!("nk-own-{k}"),
            "geometry": {"type": "Point", "coordinates": [7.1 + 0.01 * f64::from(k), 50.73]},
            "properties": {"Betreiber": "Stadt Bonn", "Standort": format!("Bürgeramt {k}")}}),
        );
    }
    let near = alone[25];
    let p = moved(at(near), 12.0, 0.0);
    nk.push(serde_json::json!({"type": "Feature", "id": "nk-near",
        "geometry": {"type": "Point", "coordinates": [p.0, p.1]},
        "properties": {"Betreiber": "Apotheke am Ring", "Standort": "Verkaufsraum"}}));
    let pygeoapi =
        Pygeoapi::start(&serde_json::json!({"type": "FeatureCollection", "features": nk}));

    // The CSV: 10 of Köln's moved 4 m east (the first 5 also the neighbour's), with the
    // neighbour's first one open around the clock here; and two of its own.
    let mut csv = String::from("id,lon,lat,traeger,oeffnungszeiten\n");
    for &i in alone[..5].iter().chain(&alone[20..25]) {
        let p = moved(at(i), 4.0, 0.0);
        let hours = if i == alone[0] { "24/7" } else { "" };
        csv.push_str(&format!(
            "csv-{i},{},{},{},{hours}\n",
            p.0,
            p.1,
            operator(i)
        ));
    }
    csv.push_str(
        "csv-own-1,6.78,51.22,Stadt Düsseldorf,24/7\ncsv-own-2,6.79,51.22,Stadt Düsseldorf,24/7\n",
    );
    let overpass = std::fs::read(crate::common::fixture(
        "aed_osm_switzerland_2020-12_extract.overpass.json",
    ))
    .unwrap();
    let swiss = serde_json::from_slice::<Json>(&overpass).unwrap()["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "node")
        .count();
    let (stub_port, stub) = static_stub(vec![
        ("/aed.csv", "text/csv", csv.into_bytes()),
        ("/api/interpreter", "application/json", overpass),
    ]);

    let b = TestDb::new().await;
    let allow = net::Policy::allowing(["127.0.0.1".to_string()]);
    let http = client(&["127.0.0.1"]);
    let traeger = [("operator".to_string(), "traeger".to_string())];
    let register = |url: &'static str| store::NewSource {
        dataset_id: "aed-register",
        ..source(url, "ogcapi")
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let a_url = leak(format!("http://127.0.0.1:{a_port}/collections/aed"));
    let from_a = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            priority: 10,
            ..register(a_url)
        },
    )
    .await
    .unwrap();
    let from_nk = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            priority: 20,
            page_size: 10,
            ..register(leak(format!(
                "http://127.0.0.1:{}/collections/defis",
                pygeoapi.port
            )))
        },
    )
    .await
    .unwrap();
    let from_csv = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            kind: "file",
            priority: 30,
            crs: Some(4326),
            // The CSV's own word for the operator, mapped per source.
            mapping: &traeger,
            ..register(leak(format!("http://127.0.0.1:{stub_port}/aed.csv")))
        },
    )
    .await
    .unwrap();
    let from_osm = harvest::add(
        &b.pool,
        &allow,
        &store::NewSource {
            kind: "overpass",
            query: Some("node[emergency=defibrillator](45.8,5.9,47.9,10.5);out;"),
            ..register(leak(format!(
                "http://127.0.0.1:{stub_port}/api/interpreter"
            )))
        },
    )
    .await
    .unwrap();
    let run_all = || async {
        let mut reports = Vec::new();
        for id in [from_a, from_nk, from_csv, from_osm] {
            if let Some(row) = store::find(&b.pool, id).await.unwrap() {
                reports.push(harvest::run(&b.pool, &http, &row).await.unwrap().unwrap());
            }
        }
        reports
    };
    let reports = run_all().await;
    for r in &reports {
        assert_eq!(r.status, "new-version", "{r:?}");
    }
    assert!(reports[0].pages.unwrap() > 1, "A's pages: {:?}", reports[0]);
    assert!(
        reports[1].pages.unwrap() > 1,
        "pygeoapi's pages: {:?}",
        reports[1]
    );

    let app_b = app(&b).await;
    let items = |app| async move {
        get_json(app, "/collections/aed-register/items?limit=10000").await["features"]
            .as_array()
            .unwrap()
            .clone()
    };
    let features = items(&app_b).await;
    // Köln's, the neighbour's 3 and its second device, the CSV's 2, the Swiss ones.
    assert_eq!(
        features.len(),
        koeln.len() + 3 + 1 + 2 + swiss,
        "the register's size"
    );
    // Where each Köln device is, its copies are members of it, A's position and operator kept.
    let sources_of = |f: &Json| -> Vec<(i64, String)> {
        f["properties"]["sources"]
            .as_array()
            .unwrap_or_else(|| panic!("no sources: {f}"))
            .iter()
            .map(|m| {
                (
                    m["source"].as_i64().unwrap(),
                    m["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let at_koeln = |i: usize| -> &Json {
        features
            .iter()
            .find(|f| {
                let c = &f["geometry"]["coordinates"];
                metres_between(at(i), (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())) < 0.5
            })
            .unwrap_or_else(|| panic!("Köln AED {i} is not at its place"))
    };
    for (n, &i) in alone[..25].iter().enumerate() {
        let f = at_koeln(i);
        let members: Vec<i64> = sources_of(f).iter().map(|(s, _)| *s).collect();
        let expected = match n {
            0..5 => vec![from_a, from_nk, from_csv],
            5..20 => vec![from_a, from_nk],
            _ => vec![from_a, from_csv],
        };
        assert_eq!(members, expected, "Köln AED {i}: {f}");
        assert_eq!(f["properties"]["operator"], operator(i), "{f}");
    }
    let first = at_koeln(alone[0]);
    assert!(sources_of(first).contains(&(from_nk, format!("nk-{}", alone[0]))));
    assert!(sources_of(first).contains(&(from_csv, format!("csv-{}", alone[0]))));
    assert_eq!(first["properties"]["hours_conflict"], true, "{first}");
    assert_eq!(
        first["properties"]["opening_hours"], "Mo-Fr 08:00-18:00",
        "{first}"
    );
    let conflicts = features
        .iter()
        .filter(|f| f["properties"]["hours_conflict"] == true)
        .count();
    assert_eq!(conflicts, 1);
    // The near one of another operator is a device of its own; the lone ones have one member.
    let own = at_koeln(near);
    assert_eq!(sources_of(own).len(), 1, "{own}");
    assert!(features
        .iter()
        .any(|f| sources_of(f) == vec![(from_nk, "nk-near".to_string())]));
    let osm = features
        .iter()
        .filter(|f| sources_of(f)[0].0 == from_osm)
        .count();
    assert_eq!(osm, swiss);
    assert!(features
        .iter()
        .all(|f| sources_of(f).iter().all(|(_, id)| !id.starts_with('#'))));

    // Nothing new anywhere: no new version.
    let version = active_version(&b, "aed-register").await;
    for r in run_all().await {
        assert_ne!(r.status, "failed", "{r:?}");
    }
    assert_eq!(active_version(&b, "aed-register").await, version);

    // The neighbour's source removed: the register is merged anew from the others.
    assert!(harvest::remove(&b.pool, from_nk).await.unwrap());
    for r in run_all().await {
        assert_eq!(
            r.status,
            if r.source == from_a {
                "new-version"
            } else {
                "unchanged"
            },
            "{r:?}"
        );
    }
    let features = items(&app_b).await;
    assert_eq!(features.len(), koeln.len() + 2 + swiss);
    assert!(features
        .iter()
        .all(|f| sources_of(f).iter().all(|(s, _)| *s != from_nk)));

    // On the server's schedule, a new version on A is on B within one interval (10 s) and
    // the scheduler's tick.
    sqlx::query("UPDATE catalog.sources SET interval_s = 10, last_run_at = now() WHERE id = $1")
        .bind(from_a)
        .execute(&b.pool)
        .await
        .unwrap();
    let poller = harvest::poll(b.pool.clone(), http.clone(), Duration::from_secs(1));
    let before = active_version(&b, "aed-register").await;
    a.ingest(
        "aed_osm_switzerland_2020-12_extract.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let changed = std::time::Instant::now();
    while active_version(&b, "aed-register").await == before {
        assert!(
            changed.elapsed() < Duration::from_secs(10 + 1 + 10),
            "A's new version is not on B after one interval"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    poller.abort();
    let features = items(&app_b).await;
    // A now serves the Swiss AEDs, the Overpass source too: one device, two members each.
    let both = features
        .iter()
        .filter(|f| {
            let s: Vec<i64> = sources_of(f).iter().map(|(s, _)| *s).collect();
            s == vec![from_a, from_osm]
        })
        .count();
    assert!(
        both * 10 >= swiss * 9,
        "{both} of {swiss} Swiss AEDs merged"
    );
    drop(pygeoapi);
    stub.stop(false).await;
    a_server.stop(false).await;
}
