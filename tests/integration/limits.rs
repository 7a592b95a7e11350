//! Hostile files and requests meet their limits (issue 26's probe): a GeoPackage that runs SQL
//! through a view, a zip bomb, a CSV line or a JSON feature of hundreds of megabytes, a CSV of
//! 100,000 columns, an upload that declares more than allowed, a queue of uploads, a CKAN body
//! past its limit, one client's share of the server. Each is refused with its reason, quickly,
//! and nothing that was served changes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::test;
use serde_json::Value as Json;

use crate::common::{self, send, TestDb};
use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::{IngestError, IngestRequest};
use kreisgeo::Error;

/// A scratch file of this test run.
fn scratch(name: &str) -> PathBuf {
    let dir = common::scratch_root().join("limits");
    std::fs::create_dir_all(&dir).expect("scratch");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// Ingests `path` as `dataset`, which must fail within a minute; returns the error's text.
async fn refused(db: &TestDb, request: IngestRequest) -> String {
    let outcome = tokio::time::timeout(Duration::from_secs(60), db.try_ingest(request))
        .await
        .expect("the ingest must end within a minute, not run on");
    match outcome {
        Err(Error::Ingest(e)) => {
            assert!(!matches!(e, IngestError::Io { .. }), "{e}");
            e.to_string()
        }
        other => panic!("expected the file to be refused, got {other:?}"),
    }
}

/// A copy of the Köln AED GeoPackage changed by `sql`.
fn geopackage(name: &str, sql: &str) -> PathBuf {
    let path = scratch(name);
    std::fs::copy(common::fixture("aed_koeln_25832.gpkg"), &path).expect("copy");
    let conn = rusqlite::Connection::open(&path).expect("open");
    // GDAL's spatial index triggers call functions this SQLite lacks.
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("triggers");
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{t}\""))
            .expect("drop trigger");
    }
    conn.execute_batch(sql).expect("craft the GeoPackage");
    path
}

#[actix_web::test]
async fn geopackages_run_no_sql_of_their_own() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let layer = |name: &str| {
        format!(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) \
               VALUES ('{name}', 'features', '{name}', 25832); \
             INSERT INTO gpkg_geometry_columns VALUES ('{name}', 'geom', 'POINT', 25832, 0, 0);"
        )
    };
    // The probe's file: a feature "table" that is an endless recursive view (it grew SQLite's
    // temporary file to 5 GB in 40 s and blocked the ingest queue).
    let recursive = geopackage(
        "recursive.gpkg",
        &format!(
            "CREATE VIEW bomb AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) \
               SELECT x AS fid, NULL AS geom, x AS name FROM r ORDER BY x DESC; {}",
            layer("bomb")
        ),
    );
    let mut request = IngestRequest::new(&recursive, "bomb");
    request.read.layer = Some("bomb".into());
    let message = refused(&db, request).await;
    assert!(message.contains("not an ordinary table"), "{message}");

    // A view computing a 300 MB value out of nothing.
    let zeroblob = geopackage(
        "zeroblob.gpkg",
        &format!(
            "CREATE VIEW big AS SELECT fid, geom, zeroblob(300000000) AS name FROM aed_koeln; {}",
            layer("big")
        ),
    );
    let mut request = IngestRequest::new(&zeroblob, "big");
    request.read.layer = Some("big".into());
    let message = refused(&db, request).await;
    assert!(message.contains("not an ordinary table"), "{message}");

    // A virtual table runs a module's code (however its CREATE is spelt).
    let virtual_table = geopackage(
        "virtual.gpkg",
        &format!(
            "CREATE  /* */ VIRTUAL TABLE vt USING rtree(fid, minx, maxx, miny, maxy); {}",
            layer("vt")
        ),
    );
    let mut request = IngestRequest::new(&virtual_table, "vt");
    request.read.layer = Some("vt".into());
    let message = refused(&db, request).await;
    assert!(message.contains("not an ordinary table"), "{message}");
    let _ = std::fs::remove_file(virtual_table);

    // gpkg_contents itself a view that points the reader anywhere.
    let contents = geopackage(
        "contents.gpkg",
        "ALTER TABLE gpkg_contents RENAME TO real_contents; \
         CREATE VIEW gpkg_contents AS SELECT * FROM real_contents;",
    );
    let message = refused(&db, IngestRequest::new(&contents, "contents")).await;
    assert!(message.contains("gpkg_contents"), "{message}");

    // A real value past the limit: refused by SQLite's length limit, not stored.
    let blob = geopackage(
        "blob.gpkg",
        "ALTER TABLE aed_koeln ADD COLUMN payload BLOB; \
         UPDATE aed_koeln SET payload = zeroblob(70 * 1024 * 1024) WHERE fid = (SELECT min(fid) FROM aed_koeln);",
    );
    let message = refused(&db, IngestRequest::new(&blob, "blob")).await;
    assert!(message.contains("larger than 64 MiB"), "{message}");

    // Nothing of it was served; the AEDs still are.
    let app = common::app(&db).await;
    for id in ["bomb", "big", "contents", "blob"] {
        let (status, _, _) = common::get(&app, &format!("/collections/{id}/items?limit=1")).await;
        assert_eq!(status, 404, "{id}");
    }
    let aed = common::get_json(&app, "/collections/aed/items?limit=1").await;
    assert_eq!(aed["numberMatched"], 121);
    for path in [recursive, zeroblob, contents, blob] {
        let _ = std::fs::remove_file(path);
    }
}

/// A zipped Shapefile with the real parts of a fixture, but `dbf` as its `.dbf`.
fn shapefile_zip(name: &str, dbf: &[u8]) -> PathBuf {
    let source = std::fs::File::open(common::fixture("kreise_niedersachsen_31467.zip"))
        .expect("fixture zip");
    let mut source = zip::ZipArchive::new(source).expect("zip");
    let path = scratch(name);
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..source.len() {
        let mut entry = source.by_index(i).expect("entry");
        let name = entry.name().to_string();
        out.start_file(name.as_str(), options).expect("start");
        if name.to_lowercase().ends_with(".dbf") {
            out.write_all(dbf).expect("write");
        } else {
            std::io::copy(&mut entry, &mut out).expect("copy");
        }
    }
    out.finish().expect("finish");
    path
}

#[actix_web::test]
async fn a_zip_bomb_is_refused_while_it_unpacks() {
    let db = TestDb::new().await;
    // 64 MiB of zeros deflate to about 64 KiB: a thousand times their packed size.
    let bomb = shapefile_zip("bomb.zip", &vec![0u8; 64 << 20]);
    assert!(std::fs::metadata(&bomb).expect("size").len() < 1 << 20);
    let message = refused(&db, IngestRequest::new(&bomb, "bomb")).await;
    assert!(message.contains("zip bomb"), "{message}");
    assert!(message.contains("100 times"), "{message}");
    let _ = std::fs::remove_file(bomb);
    // The same zip with its real attributes loads.
    let real = common::fixture("kreise_niedersachsen_31467.zip");
    let report = db
        .try_ingest(IngestRequest::new(&real, "kreise"))
        .await
        .expect("the real zip loads");
    assert_eq!(report.features, 45);
}

/// Writes `head`, then `fill` bytes of `byte`, then `tail` to a scratch file.
fn padded(name: &str, head: &str, byte: u8, fill: usize, tail: &str) -> PathBuf {
    let path = scratch(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    file.write_all(head.as_bytes()).expect("write");
    let chunk = vec![byte; 1 << 20];
    let mut left = fill;
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    file.write_all(tail.as_bytes()).expect("write");
    file.flush().expect("flush");
    path
}

#[actix_web::test]
async fn overlong_lines_features_and_headers_are_refused_at_their_place() {
    let db = TestDb::new().await;
    let csv = |path: &Path, dataset: &str| {
        let mut r = IngestRequest::new(path, dataset);
        r.crs = Some(4326);
        r
    };
    // One CSV line of 40 MiB (the probe's 200 MiB line cost 1.6 GB).
    let long_line = padded(
        "long.csv",
        "lon,lat,name\n10,53,short\n10,53,",
        b'a',
        40 << 20,
        "\n",
    );
    let message = refused(&db, csv(&long_line, "long")).await;
    assert!(message.contains("line longer than 32 MiB"), "{message}");
    assert!(message.contains("line 3"), "{message}");
    let _ = std::fs::remove_file(long_line);

    // One GeoJSON string of 70 MiB (the probe's 200 MiB string cost 840 MB).
    let long_string = padded(
        "long.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[10,53]},"properties":{"name":"short"}},{"type":"Feature","geometry":{"type":"Point","coordinates":[10,53]},"properties":{"name":""#,
        b'a',
        70 << 20,
        r#""}}]}"#,
    );
    let message = refused(&db, IngestRequest::new(&long_string, "long")).await;
    assert!(message.contains("feature longer than 64 MiB"), "{message}");
    assert!(message.contains("index 1"), "{message}");
    let _ = std::fs::remove_file(long_string);

    // 100,000 columns: refused at the header, not after loading into PostgreSQL's limit.
    let path = scratch("wide.csv");
    let columns: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    std::fs::write(
        &path,
        format!(
            "lon,lat,{}\n10,53,{}\n",
            columns.join(","),
            vec!["1"; columns.len()].join(",")
        ),
    )
    .expect("write");
    let message = refused(&db, csv(&path, "wide")).await;
    assert!(message.contains("100000 attributes"), "{message}");
    assert!(message.contains("at most 1500"), "{message}");
    let _ = std::fs::remove_file(path);

    // As many properties on one GeoJSON feature.
    let properties: serde_json::Map<String, Json> = (0..2_000)
        .map(|i| (format!("p{i}"), Json::from(i)))
        .collect();
    let path = scratch("wide.geojson");
    std::fs::write(
        &path,
        serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10, 53]}, "properties": properties}
        ]})
        .to_string(),
    )
    .expect("write");
    let message = refused(&db, IngestRequest::new(&path, "wide")).await;
    assert!(message.contains("2000 attributes"), "{message}");
    let _ = std::fs::remove_file(path);
}

async fn key(db: &TestDb) -> String {
    kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key
}

fn upload(uri: &str, key: &str, body: Vec<u8>) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {key}")))
        .set_payload(body)
}

#[actix_web::test]
async fn uploads_are_refused_on_their_word_and_the_queue_is_bounded() {
    let db = TestDb::new().await;
    let key = key(&db).await;
    let state = AppState::new(
        db.pool.clone(),
        ApiConfig {
            max_upload_bytes: 1 << 20,
            max_concurrent_ingests: 1,
            max_queued_ingests: 2,
            ..ApiConfig::default()
        },
    );
    // Every ingest slot taken: uploads stay queued.
    let slots = state.ingest_slots.clone();
    let held = slots.clone().acquire_many_owned(1).await.expect("slot");
    let app = test::init_service(kreisgeo::api::app(state)).await;
    let aed = std::fs::read(common::fixture("aed_koeln.geojson")).expect("fixture");

    // A Content-Length past the limit: 413 in JSON before the body is read.
    let declared = upload("/admin/datasets/aed/versions", &key, b"{}".to_vec())
        .insert_header(("Content-Length", (10u64 << 30).to_string()));
    let (status, _, body) = send(&app, declared).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("PayloadTooLarge"))
    );

    // Two may wait; the third is told to come back.
    for dataset in ["a", "b"] {
        let (status, _, body) = send(
            &app,
            upload(
                &format!("/admin/datasets/{dataset}/versions?filename=x.geojson"),
                &key,
                aed.clone(),
            ),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, headers, body) = send(
        &app,
        upload(
            "/admin/datasets/c/versions?filename=x.geojson",
            &key,
            aed.clone(),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("ServerBusy")),
        "{body}"
    );
    assert!(headers.contains_key("retry-after"));
    assert!(
        body["description"]
            .as_str()
            .unwrap_or("")
            .contains("waiting"),
        "{body}"
    );

    // Once the queue moves, uploads are taken again.
    drop(held);
    let accepted = |uri: &'static str, body: Vec<u8>| {
        let (app, key) = (&app, &key);
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                let (status, _, answer) = send(app, upload(uri, key, body.clone())).await;
                if status == 202 {
                    return answer;
                }
                assert_eq!(status, 503, "{answer}");
                assert!(
                    std::time::Instant::now() < deadline,
                    "the queue never moved"
                );
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    accepted("/admin/datasets/c/versions?filename=x.geojson", aed.clone()).await;

    // A job's error names the upload, never the server's temporary path.
    let body = accepted(
        "/admin/datasets/junk/versions?filename=junk.bin",
        vec![0u8, 1, 2, 3, 0xff, 0xfe],
    )
    .await;
    let id = body["job"]["id"].as_i64().expect("job id");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let job = loop {
        let req = test::TestRequest::get()
            .uri(&format!("/admin/jobs/{id}"))
            .insert_header(("X-API-Key", key.as_str()));
        let (_, _, job) = send(&app, req).await;
        if job["state"] == "failed" {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "{job}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let description = job["error"]["description"].as_str().unwrap_or("");
    assert!(description.contains("the uploaded file"), "{job}");
    assert!(
        !description.contains("kreisgeo-upload") && !description.contains("/tmp"),
        "{job}"
    );
}

#[actix_web::test]
async fn a_ckan_body_past_its_limit_is_refused_in_json() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let body = format!("{{\"q\": \"{}\"}}", "a".repeat(300 << 10));
    let req = test::TestRequest::post()
        .uri("/api/3/action/package_search")
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body);
    let (status, headers, body) = send(&app, req).await;
    assert_eq!(status, 413);
    assert!(
        headers["content-type"].starts_with("application/json"),
        "{headers:?}"
    );
    assert_eq!(body["code"], "PayloadTooLarge", "{body}");
}

#[actix_web::test]
async fn one_client_waits_for_its_own_requests_others_are_served() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let state = AppState::new(
        db.pool.clone(),
        ApiConfig {
            requests_per_client: Some(2),
            client_wait: Duration::from_millis(300),
            ..ApiConfig::default()
        },
    );
    let share = state.share.clone();
    let app = test::init_service(kreisgeo::api::app(state)).await;
    let a: std::net::SocketAddr = "192.0.2.1:40000".parse().expect("address");
    // Client a has two requests in flight (two stalled readers, say).
    let _first = share.enter(Some(a.ip())).await.expect("place");
    let _second = share.enter(Some(a.ip())).await.expect("place");
    let from = |peer: &str| {
        test::TestRequest::get()
            .uri("/collections/aed/items?limit=1")
            .peer_addr(peer.parse().expect("address"))
    };
    let (status, headers, body) = send(&app, from("192.0.2.1:40001")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("ServerBusy")),
        "{body}"
    );
    assert!(headers.contains_key("retry-after"));
    // Everyone else is served; operational endpoints take no place.
    for peer in ["192.0.2.77:40000", "198.51.100.9:1234"] {
        let (status, _, body) = send(&app, from(peer)).await;
        assert_eq!(status, 200, "{peer}: {body}");
    }
    let ready = test::TestRequest::get().uri("/health").peer_addr(a);
    let (status, _, _) = send(&app, ready).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn a_busy_pool_is_a_503_for_that_request_never_an_outage() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    // A public pool of one connection that waits 200 ms for it.
    let pool = kreisgeo::db::connect_with(
        &db.url,
        &kreisgeo::db::PoolSettings {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(200),
            ..Default::default()
        },
    )
    .await
    .expect("pool");
    let state = AppState::new(pool.clone(), ApiConfig::default());
    let watch = state.watch.clone();
    let app = test::init_service(kreisgeo::api::app(state)).await;
    let items = || test::TestRequest::get().uri("/collections/aed/items?limit=1");

    // Someone holds the only connection (a slow query, a stalled reader once).
    let held = pool.acquire().await.expect("the connection");
    let (status, headers, body) = send(&app, items()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("ServerBusy")),
        "{body}"
    );
    assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
    // The watch checks on a connection of its own: busy, not down; /ready says so too.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    assert!(!watch.is_down(), "a busy pool was taken for an outage");
    let (status, _, body) = send(&app, test::TestRequest::get().uri("/ready")).await;
    assert_eq!(status, 200, "{body}");
    // Other requests are not refused as if the database were gone.
    let (status, _, body) = send(&app, items()).await;
    assert_ne!(body["code"], "ServiceUnavailable", "{status} {body}");
    drop(held);
    let (status, _, body) = send(&app, items()).await;
    assert_eq!(status, 200, "{body}");
}

/// A geometry collection nested `depth` deep around a point, as little-endian WKB.
fn nested_wkb(depth: usize) -> Vec<u8> {
    let mut wkb = Vec::with_capacity(depth * 9 + 21);
    for _ in 0..depth {
        wkb.push(1);
        wkb.extend_from_slice(&7u32.to_le_bytes());
        wkb.extend_from_slice(&1u32.to_le_bytes());
    }
    wkb.push(1);
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&6.9f64.to_le_bytes());
    wkb.extend_from_slice(&50.9f64.to_le_bytes());
    wkb
}

#[actix_web::test]
async fn geometries_nested_past_any_real_ones_are_refused_not_recursed() {
    let db = TestDb::new().await;
    let deep = 100_000;
    // WKT in a CSV cell: the WKT parser recursed per parenthesis.
    let path = scratch("nested.csv");
    std::fs::write(
        &path,
        format!(
            "name;wkt\nok;POINT(6.9 50.9)\ndeep;{}POINT(6.9 50.9){}\n",
            "GEOMETRYCOLLECTION(".repeat(deep),
            ")".repeat(deep)
        ),
    )
    .expect("write");
    let mut request = IngestRequest::new(&path, "nested");
    request.crs = Some(4326);
    let message = refused(&db, request).await;
    assert!(message.contains("nested deeper"), "{message}");
    assert!(message.contains("feature 1"), "{message}");
    let _ = std::fs::remove_file(path);

    // WKB in a GeoPackage: geozero's reader recursed per collection.
    let gpkg = geopackage("nested.gpkg", "");
    {
        let conn = rusqlite::Connection::open(&gpkg).expect("open");
        let mut blob = b"GP\x00\x01".to_vec();
        blob.extend_from_slice(&25832i32.to_le_bytes());
        blob.extend_from_slice(&nested_wkb(deep));
        conn.execute(
            "UPDATE aed_koeln SET geom = ?1 WHERE fid = (SELECT min(fid) FROM aed_koeln)",
            [blob],
        )
        .expect("update");
    }
    let message = refused(&db, IngestRequest::new(&gpkg, "nested")).await;
    assert!(message.contains("nested deeper than 8"), "{message}");
    let _ = std::fs::remove_file(gpkg);
}

#[actix_web::test]
async fn a_flatgeobuf_declaring_more_than_it_holds_is_refused_before_any_allocation() {
    let db = TestDb::new().await;
    let source = common::fixture("kreise_niedersachsen_25832.fgb");
    let mut bytes = std::fs::read(&source).expect("fixture");
    let reader =
        flatgeobuf::FgbReader::open(std::io::Cursor::new(bytes.clone())).expect("FlatGeobuf");
    let (count, node_size) = {
        let header = reader.header();
        (header.features_count(), header.index_node_size())
    };
    let header_bytes = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let index = if node_size > 0 && count > 0 {
        flatgeobuf::packed_r_tree::PackedRTree::index_size(count as usize, node_size)
    } else {
        0
    };
    // The first feature says it is almost 4 GiB long (the crate allocated that much).
    let first = 12 + header_bytes + index;
    bytes[first..first + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let path = scratch("huge-feature.fgb");
    std::fs::write(&path, &bytes).expect("write");
    let message = refused(&db, IngestRequest::new(&path, "huge")).await;
    assert!(
        message.contains("feature 0 declares 4294967280 bytes"),
        "{message}"
    );
    let _ = std::fs::remove_file(path);
    // The file as it was loads.
    let report = db
        .try_ingest(IngestRequest::new(&source, "kreise"))
        .await
        .expect("the real file loads");
    assert_eq!(report.features, 45);
}

#[actix_web::test]
async fn an_ingest_job_past_its_time_limit_fails_and_changes_nothing() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let key = key(&db).await;
    let state = AppState::new(
        db.pool.clone(),
        ApiConfig {
            ingest_time_limit: Duration::from_millis(1),
            ..ApiConfig::default()
        },
    );
    let app = test::init_service(kreisgeo::api::app(state)).await;
    let swiss = std::fs::read(common::fixture(
        "aed_osm_switzerland_2020-12_extract.geojson",
    ))
    .expect("fixture");
    let (status, _, body) = send(
        &app,
        upload(
            "/admin/datasets/aed/versions?filename=aed.geojson&kind=aed",
            &key,
            swiss,
        ),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["job"]["id"].as_i64().expect("job id");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let job = loop {
        let req = test::TestRequest::get()
            .uri(&format!("/admin/jobs/{id}"))
            .insert_header(("X-API-Key", key.as_str()));
        let (_, _, job) = send(&app, req).await;
        if job["state"] == "failed" || job["state"] == "succeeded" {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "{job}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"]["description"]
            .as_str()
            .unwrap_or("")
            .contains("time limit"),
        "{job}"
    );
    // The Köln AEDs are still what is served.
    let served = common::get_json(&app, "/collections/aed/items?limit=1").await;
    assert_eq!(served["numberMatched"], 121);
}
