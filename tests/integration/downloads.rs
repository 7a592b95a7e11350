//! Bulk downloads: built once per version, complete in every format, byte ranges, and listed in
//! the DCAT catalog with their size and checksum.

use std::io::Cursor;

use actix_web::test;
use flatgeobuf::FallibleStreamingIterator;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::common::{app, get, get_json, get_with_headers, TestDb};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::generate::{generate, write_fgb, GenKind};
use kreisgeo::ingest::IngestRequest;

/// The number of features in a downloaded file, read with the format's own reader, and the
/// CRS code the file declares (None for GeoJSON and CSV, which are CRS84 by definition).
fn read_back(format: &str, body: &[u8], table: &str) -> (usize, Option<i32>) {
    match format {
        "application/geo+json" => {
            let doc: Json = serde_json::from_slice(body).expect("GeoJSON");
            (doc["features"].as_array().expect("features").len(), None)
        }
        "text/csv" => {
            let mut reader = csv::Reader::from_reader(body);
            let rows: Vec<csv::StringRecord> = reader
                .records()
                .collect::<Result<_, _>>()
                .expect("CSV rows");
            (rows.len(), None)
        }
        "application/flatgeobuf" => {
            let mut reader = flatgeobuf::FgbReader::open(Cursor::new(body))
                .expect("FlatGeobuf")
                .select_all()
                .expect("select");
            let code = reader.header().crs().map(|c| c.code());
            let mut n = 0;
            while reader.next().expect("feature").is_some() {
                n += 1;
            }
            (n, code)
        }
        "application/geopackage+sqlite3" => {
            let file = tempfile::NamedTempFile::new().expect("temp");
            std::fs::write(file.path(), body).expect("write");
            let db = rusqlite::Connection::open(file.path()).expect("GeoPackage");
            let app_id: i64 = db
                .query_row("PRAGMA application_id", [], |r| r.get(0))
                .expect("application_id");
            assert_eq!(app_id, 0x4750_4B47, "GPKG application id");
            let n: i64 = db
                .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                    r.get(0)
                })
                .expect("count");
            let srs: i32 = db
                .query_row(
                    "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .expect("srs");
            (n as usize, Some(srs))
        }
        other => panic!("{other}"),
    }
}

#[actix_web::test]
async fn downloads_are_complete_resumable_and_catalogued() {
    let db = TestDb::new().await;
    // Enough parcels for a FlatGeobuf of more than one stored chunk (1 MiB).
    let file =
        crate::common::scratch_root().join(format!("parcels-6000-{}.fgb", std::process::id()));
    write_fgb(
        GenKind::Parcels,
        &generate(GenKind::Parcels, 6000, 3),
        &mut std::io::BufWriter::new(std::fs::File::create(&file).expect("create")),
    )
    .expect("write");
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Parcels,
        ..IngestRequest::new(file.clone(), "parcels")
    })
    .await
    .expect("ingest");
    std::fs::remove_file(&file).ok();
    db.ingest("aed_koeln.geojson", "aed-koeln", DatasetKind::Aed)
        .await;
    let app = app(&db).await;

    // Not built yet: an empty list, and 503 with Retry-After for a file.
    let list = get_json(&app, "/collections/parcels/downloads").await;
    assert_eq!(list["downloads"].as_array().map(Vec::len), Some(0));
    let (status, headers, _) =
        get_with_headers(&app, "/collections/parcels/downloads/parcels.fgb", &[]).await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        get(&app, "/collections/parcels/downloads/parcels.shp")
            .await
            .0,
        404
    );

    assert_eq!(
        kreisgeo::downloads::build::build_missing(&db.pool)
            .await
            .expect("build"),
        12
    );
    assert_eq!(
        kreisgeo::downloads::build::build_missing(&db.pool)
            .await
            .expect("build"),
        0,
        "built once"
    );

    for dataset in ["parcels", "aed-koeln"] {
        let table = db.table_of(dataset).await;
        let in_db: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM data.{table}"))
            .fetch_one(&db.pool)
            .await
            .expect("count");
        let list = get_json(&app, &format!("/collections/{dataset}/downloads")).await;
        let downloads = list["downloads"].as_array().expect("downloads");
        assert_eq!(downloads.len(), 6, "{dataset}");
        for d in downloads {
            let href = d["href"].as_str().expect("href");
            let uri = &href[href.find("/collections").expect("path")..];
            let (status, headers, body) = get_with_headers(&app, uri, &[]).await;
            assert_eq!(status, 200, "{uri}");
            assert_eq!(
                body.len() as u64,
                d["bytes"].as_u64().expect("bytes"),
                "{uri}"
            );
            let sha = hex::encode(Sha256::digest(&body));
            assert_eq!(d["sha256"], sha, "{uri}");
            assert_eq!(headers["etag"], format!("\"{sha}\""));
            assert_eq!(headers["accept-ranges"], "bytes");
            let media = d["mediaType"].as_str().expect("media type");
            assert!(headers["content-type"].starts_with(media), "{uri}");
            let (n, code) = read_back(media, &body, dataset);
            assert_eq!(n as i64, in_db, "{uri}: features");
            assert_eq!(d["features"], in_db);
            let utm = d["name"].as_str().expect("name").contains("_25832");
            if let Some(code) = code {
                assert_eq!(code, if utm { 25832 } else { 4326 }, "{uri}: CRS");
            }
        }
    }

    // Ranges, across the boundary of two stored chunks, from the end, and outside.
    let uri = "/collections/parcels/downloads/parcels_25832.fgb";
    let (_, _, whole) = get(&app, uri).await;
    assert!(whole.len() > 1 << 20, "{} bytes", whole.len());
    let (a, b) = ((1 << 20) - 50, (1 << 20) + 49);
    let (status, headers, part) =
        get_with_headers(&app, uri, &[("Range", &format!("bytes={a}-{b}"))]).await;
    assert_eq!(status, 206);
    assert_eq!(part, whole[a..=b]);
    assert_eq!(
        headers["content-range"],
        format!("bytes {a}-{b}/{}", whole.len())
    );
    let (status, _, tail) = get_with_headers(&app, uri, &[("Range", "bytes=-10")]).await;
    assert_eq!((status, tail.as_slice()), (206, &whole[whole.len() - 10..]));
    let (status, headers, _) =
        get_with_headers(&app, uri, &[("Range", &format!("bytes={}-", whole.len()))]).await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], format!("bytes */{}", whole.len()));
    // A range for another file (If-Range with an old ETag) gets the whole current file.
    let (status, _, body) = get_with_headers(
        &app,
        uri,
        &[("Range", "bytes=0-9"), ("If-Range", "\"0000\"")],
    )
    .await;
    assert_eq!((status, body.len()), (200, whole.len()));
    let etag = hex::encode(Sha256::digest(&whole));
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(uri)
            .insert_header(("If-None-Match", format!("\"{etag}\"")))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 304);

    // The catalog lists each file with its size and checksum.
    let (_, _, ttl) = get(&app, "/catalog/datasets/parcels.ttl").await;
    let ttl = String::from_utf8(ttl).expect("UTF-8");
    assert!(ttl.contains(&format!("\"{etag}\"^^xsd:hexBinary")), "{ttl}");
    assert!(ttl.contains(&format!("\"{}\"^^xsd:nonNegativeInteger", whole.len())));
    assert_eq!(ttl.matches("dcat:downloadURL").count(), 6);
}
