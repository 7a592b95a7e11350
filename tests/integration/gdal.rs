//! GDAL, the client most GIS tools are built on, reads kreisgeo through its OGC API Features
//! driver: ogrinfo lists the layers, ogr2ogr copies a whole collection by following `next`.

use std::process::Command;

use crate::common::TestDb;
use kreisgeo::catalog::DatasetKind;

fn run(cmd: &str, args: Vec<String>) -> String {
    let out = Command::new(cmd).args(&args).output().unwrap_or_else(|e| {
        panic!("{cmd} is required for this test (apt-get install gdal-bin): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[actix_web::test]
async fn ogrinfo_lists_and_ogr2ogr_copies_whole_collections() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest("aed_koeln.geojson", "aed-koeln", DatasetKind::Aed)
        .await;
    let state = db.state();
    let listen = kreisgeo::server::HttpSettings {
        bind: "127.0.0.1:0".into(),
        workers: Some(2),
        header_timeout: std::time::Duration::from_secs(5),
        keep_alive: std::time::Duration::from_secs(5),
        shutdown_grace: std::time::Duration::from_secs(1),
    };
    let (handle, addrs) = kreisgeo::server::http::bind(state, &listen).expect("bind");
    let port = addrs[0].port();
    let control = handle.handle();
    actix_web::rt::spawn(handle);
    let url = format!("OAPIF:http://127.0.0.1:{port}");

    let listing = {
        let url = url.clone();
        actix_web::rt::task::spawn_blocking(move || run("ogrinfo", vec!["-ro".into(), url]))
            .await
            .expect("ogrinfo")
    };
    assert!(
        listing.contains("parcels") && listing.contains("aed-koeln"),
        "{listing}"
    );

    // Every collection, copied whole by following `next`, has the database's count.
    for (collection, table) in [("parcels", "parcels_v1"), ("aed-koeln", "aed_koeln_v2")] {
        let out = std::env::temp_dir().join(format!(
            "kg-gdal-{collection}-{}.geojson",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&out);
        {
            let (url, out, layer) = (
                url.clone(),
                out.display().to_string(),
                collection.to_string(),
            );
            actix_web::rt::task::spawn_blocking(move || {
                run(
                    "ogr2ogr",
                    vec!["-f".into(), "GeoJSON".into(), out, url, layer],
                )
            })
            .await
            .expect("ogr2ogr");
        }
        let copied: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("output")).expect("JSON");
        let features = copied["features"].as_array().expect("features");
        let in_db: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM data.{table}"))
            .fetch_one(&db.pool)
            .await
            .expect("count");
        assert_eq!(features.len() as i64, in_db, "{collection}");
        if collection == "parcels" {
            let keys: std::collections::HashSet<&str> = features
                .iter()
                .map(|f| {
                    f["properties"]["flurstueckskennzeichen"]
                        .as_str()
                        .expect("key")
                })
                .collect();
            assert_eq!(keys.len(), 1000);
        }
        let _ = std::fs::remove_file(out);
    }

    // In EPSG:25832. GDAL 3.6's OAPIF driver cannot ask for a CRS (its CRS open option came in
    // 3.7), so GDAL's GeoJSON driver reads the items URL with `crs` itself: one page holds each
    // collection whole, and the coordinates must be PostGIS's in 25832 to a micrometre
    // (both print 15 significant digits, and round the last one differently).
    for (collection, table) in [("parcels", "parcels_v1"), ("aed-koeln", "aed_koeln_v2")] {
        let source = format!(
            "http://127.0.0.1:{port}/collections/{collection}/items?limit=10000&crs=http://www.opengis.net/def/crs/EPSG/0/25832"
        );
        let out = std::env::temp_dir().join(format!(
            "kg-gdal-{collection}-25832-{}.geojson",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&out);
        {
            let out = out.display().to_string();
            actix_web::rt::task::spawn_blocking(move || {
                run(
                    "ogr2ogr",
                    vec![
                        "-f".into(),
                        "GeoJSON".into(),
                        "-a_srs".into(),
                        "EPSG:25832".into(),
                        "-lco".into(),
                        "COORDINATE_PRECISION=15".into(),
                        out,
                        source,
                    ],
                )
            })
            .await
            .expect("ogr2ogr");
        }
        let copied: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("output")).expect("JSON");
        let features = copied["features"].as_array().expect("features");
        let expected: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT fid, ST_AsGeoJSON(ST_Transform(geom, 25832), 15) FROM data.{table} ORDER BY fid"
        ))
        .fetch_all(&db.pool)
        .await
        .expect("geometries");
        assert_eq!(features.len(), expected.len(), "{collection} in 25832");
        for (feature, (fid, geometry)) in features.iter().zip(&expected) {
            let geometry: serde_json::Value = serde_json::from_str(geometry).expect("GeoJSON");
            let (got, want) = (
                numbers(&feature["geometry"]["coordinates"]),
                numbers(&geometry["coordinates"]),
            );
            assert_eq!(got.len(), want.len(), "{collection} feature {fid}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-6,
                    "{collection} feature {fid}: {g} vs {w}"
                );
            }
        }
        let _ = std::fs::remove_file(out);
    }

    // The downloads as GDAL reads them: the GeoPackage is valid, and the FlatGeobuf is read over
    // HTTP ranges through its index, only the part a bounding box needs.
    kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .expect("downloads");
    let gpkg = std::env::temp_dir().join(format!("kg-gdal-{}.gpkg", std::process::id()));
    let url_of =
        |name: &str| format!("http://127.0.0.1:{port}/collections/parcels/downloads/{name}");
    {
        let (url, gpkg) = (url_of("parcels_25832.gpkg"), gpkg.clone());
        actix_web::rt::task::spawn_blocking(move || {
            let status = Command::new("curl")
                .args(["-sf", "-o"])
                .arg(&gpkg)
                .arg(&url)
                .status()
                .expect("curl");
            assert!(status.success());
        })
        .await
        .expect("curl");
    }
    let info = {
        let gpkg = gpkg.display().to_string();
        actix_web::rt::task::spawn_blocking(move || {
            run(
                "ogrinfo",
                vec!["-ro".into(), "-so".into(), "-al".into(), gpkg],
            )
        })
        .await
        .expect("ogrinfo")
    };
    assert!(info.contains("Feature Count: 1000"), "{info}");
    assert!(info.contains("25832"), "{info}");
    let _ = std::fs::remove_file(&gpkg);

    let (x0, y0, x1, y1) = (593_900.0, 5_900_700.0, 594_200.0, 5_901_000.0);
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT flurstueckskennzeichen FROM data.parcels_v1 \
         WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 25832)) ORDER BY 1",
    )
    .bind(x0)
    .bind(y0)
    .bind(x1)
    .bind(y1)
    .fetch_all(&db.pool)
    .await
    .expect("keys");
    assert!(
        expected.len() > 5 && expected.len() < 500,
        "{}",
        expected.len()
    );
    let (stdout, stderr) = {
        let url = format!("/vsicurl/{}", url_of("parcels_25832.fgb"));
        actix_web::rt::task::spawn_blocking(move || {
            let out = Command::new("ogrinfo")
                .env("CPL_CURL_VERBOSE", "YES")
                .env("GDAL_HTTP_MULTIRANGE", "SERIAL")
                .args(["-ro", "-al", "-q", "-spat"])
                .args([x0, y0, x1, y1].map(|v| v.to_string()))
                .arg(url)
                .output()
                .expect("ogrinfo");
            (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .await
        .expect("ogrinfo")
    };
    // Exactly PostGIS's features: the same parcel keys.
    let mut read: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("flurstueckskennzeichen (String) = "))
        .map(str::to_string)
        .collect();
    read.sort();
    assert_eq!(stdout.matches("OGRFeature(").count(), read.len());
    assert_eq!(read, expected, "the features GDAL read in the box");
    // Only parts of the file went over the wire: the ranges GDAL asked for add up to less than
    // the length HEAD told it.
    let requested: u64 = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Range: bytes="))
        .filter_map(|r| {
            let (a, b) = r.trim().split_once('-')?;
            Some(b.parse::<u64>().ok()? - a.parse::<u64>().ok()? + 1)
        })
        .sum();
    let length: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("< content-length: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("HEAD's content-length");
    assert!(
        requested > 0 && requested < length,
        "GDAL read {requested} of {length} bytes: {stderr}"
    );
    control.stop(true).await;
}

/// Every number of a nested coordinate array, in order.
fn numbers(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(numbers).collect(),
        other => other.as_f64().into_iter().collect(),
    }
}

/// A Land's portal: more collections than one page of `/collections` holds. The listing pages
/// (`next`), stays lean (the CRS list once), carries each collection's licence and downloads,
/// and GDAL lists every collection by following `next`.
#[actix_web::test]
async fn collections_page_and_gdal_lists_them_all() {
    use kreisgeo::ingest::IngestRequest;
    let db = TestDb::new().await;
    let file = crate::common::scratch_root().join(format!("one-{}.geojson", std::process::id()));
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"Point","coordinates":[10.4,53.25]}}]}"#,
    )
    .unwrap();
    const N: usize = 130;
    for i in 0..N {
        db.try_ingest(IngestRequest::new(file.clone(), format!("gemeinde-{i:03}")))
            .await
            .expect("ingest");
    }
    let _ = std::fs::remove_file(&file);
    let app = crate::common::app(&db).await;

    let first = crate::common::get_json(&app, "/collections").await;
    assert_eq!(first["numberMatched"], N as u64);
    assert_eq!(first["numberReturned"], 100);
    assert!(first["crs"].as_array().unwrap().len() > 3);
    let c0 = &first["collections"][0];
    assert_eq!(c0["id"], "gemeinde-000");
    assert_eq!(c0["crs"], serde_json::json!(["#/crs"]));
    assert!(
        c0["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "license"),
        "{c0}"
    );
    let next = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .expect("next")["href"]
        .as_str()
        .unwrap()
        .to_string();
    let path = &next[next.find("/collections").unwrap()..];
    let second = crate::common::get_json(&app, path).await;
    assert_eq!(second["numberReturned"], (N - 100) as u64);
    assert_eq!(second["collections"][0]["id"], "gemeinde-100");
    assert!(!second["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "next"));
    let (status, _, body) = crate::common::get(&app, "/collections?limit=0").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = crate::common::get(&app, "/collections?offset=-1").await;
    assert_eq!(status, 400);

    // GDAL, with its defaults, finds every one of them.
    let listen = kreisgeo::server::HttpSettings {
        bind: "127.0.0.1:0".into(),
        workers: Some(2),
        header_timeout: std::time::Duration::from_secs(5),
        keep_alive: std::time::Duration::from_secs(5),
        shutdown_grace: std::time::Duration::from_secs(1),
    };
    let (handle, addrs) = kreisgeo::server::http::bind(db.state(), &listen).expect("bind");
    let port = addrs[0].port();
    let control = handle.handle();
    actix_web::rt::spawn(handle);
    let url = format!("OAPIF:http://127.0.0.1:{port}");
    let listing = actix_web::rt::task::spawn_blocking(move || {
        run("ogrinfo", vec!["-ro".into(), "-q".into(), url])
    })
    .await
    .expect("ogrinfo");
    let layers = listing.lines().filter(|l| l.contains("gemeinde-")).count();
    assert_eq!(layers, N, "{listing}");
    control.stop(true).await;
}
