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
    // One source per dataset until merging exists.
    let second = harvest::add(
        &b.pool,
        &allow,
        &source(&format!("http://127.0.0.1:{port}/other.geojson"), "file"),
    )
    .await
    .expect_err("a second source");
    assert!(
        second.to_string().contains("has a source already"),
        "{second}"
    );
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
