//! Ingest through the library, checked through HTTP and the catalog.

use serde_json::Value as Json;

use crate::common::{self, app, get, get_json, harvest, TestApp, TestDb};
use kreisgeo::catalog::{ColumnType, DatasetKind};
use kreisgeo::ingest::{IngestError, IngestRequest};
use kreisgeo::Error;

fn source_features(file: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(common::fixture(file)).expect("fixture");
    let doc: Json = serde_json::from_str(&text).expect("fixture JSON");
    doc["features"].as_array().expect("features").clone()
}

/// A source feature's properties under the names the API serves: a profile's canonical names
/// for the columns it recognised, the source's for the rest.
fn as_served(properties: &Json, columns: &[kreisgeo::catalog::Column]) -> Json {
    properties
        .as_object()
        .expect("properties")
        .iter()
        .map(|(key, value)| {
            let served = columns
                .iter()
                .find(|c| c.source_name() == key)
                .map_or(key.clone(), |c| c.original.clone());
            (served, value.clone())
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[actix_web::test]
async fn counts_per_collection_equal_features_ingested() {
    let db = TestDb::new().await;
    let expected = [
        ("aed-koeln", "aed_koeln.geojson", DatasetKind::Aed, 121),
        (
            "aed-osm",
            "aed_osm_switzerland_2020-12_extract.geojson",
            DatasetKind::Aed,
            310,
        ),
        (
            "kreise",
            "kreise_niedersachsen_25832.fgb",
            DatasetKind::Generic,
            45,
        ),
        (
            "parcels",
            "generated/parcels_lueneburg_1000_25832.fgb",
            DatasetKind::Parcels,
            1000,
        ),
        (
            "roofs",
            "nrw_lod2_roofsurfaces_25832.geojson",
            DatasetKind::Solar,
            18,
        ),
    ];
    for (id, file, kind, count) in expected {
        let report = db.ingest(file, id, kind).await;
        assert_eq!(report.features, count, "{file}");
    }
    let app = app(&db).await;
    let collections = get_json(&app, "/collections").await;
    let listed = collections["collections"].as_array().expect("collections");
    assert_eq!(listed.len(), expected.len());
    for (id, _, kind, count) in expected {
        let c = listed
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"));
        assert_eq!(c["featureCount"], count, "{id}");
        assert_eq!(c["kind"], kind.as_str());
        let page = get_json(&app, &format!("/collections/{id}/items?limit=1")).await;
        assert_eq!(page["numberMatched"], count, "{id}");
        let all = harvest(&app, &format!("/collections/{id}/items?limit=10000")).await;
        assert_eq!(all.len() as u64, count, "{id}");
    }
}

#[actix_web::test]
async fn geojson_attributes_round_trip_exactly() {
    let db = TestDb::new().await;
    let aed = db
        .ingest("aed_koeln.geojson", "aed-koeln", DatasetKind::Aed)
        .await;
    let parcel = db
        .ingest(
            "nrw_alkis_flurstueck_25832.geojson",
            "flurstueck",
            DatasetKind::Parcels,
        )
        .await;
    let parcel_report = parcel.clone();
    let type_of = |name: &str| {
        parcel
            .columns
            .iter()
            .find(|c| c.original == name)
            .map(|c| c.ty)
    };
    use kreisgeo::catalog::ColumnType;
    assert_eq!(type_of("zeitpunktDerEntstehung"), Some(ColumnType::Date));
    assert_eq!(type_of("beginnt"), Some(ColumnType::TimestampTz));
    // Served under the parcels profile's name, read from the source's.
    assert_eq!(type_of("amtlicheflaeche"), Some(ColumnType::Float));
    assert_eq!(
        parcel
            .columns
            .iter()
            .find(|c| c.original == "amtlicheflaeche")
            .map(kreisgeo::catalog::Column::source_name),
        Some("amtlicheFlaeche")
    );
    assert_eq!(
        type_of("abweichenderRechtszustand"),
        Some(ColumnType::Boolean)
    );
    assert_eq!(type_of("land"), Some(ColumnType::Text));
    let app = app(&db).await;

    // Every feature, every property: same JSON values (nulls, umlauts, int64 ids), under the
    // source's names or the profile's canonical ones.
    let source = source_features("aed_koeln.geojson");
    let served = harvest(&app, "/collections/aed-koeln/items?limit=50").await;
    assert_eq!(served.len(), source.len());
    for (i, (s, f)) in source.iter().zip(&served).enumerate() {
        assert_eq!(f["id"], i as u64 + 1);
        assert_eq!(
            f["properties"],
            as_served(&s["properties"], &aed.columns),
            "feature {i}"
        );
        // CRS84 in, CRS84 stored: the coordinates come back to the last bit.
        assert_eq!(f["geometry"], s["geometry"], "feature {i}");
    }

    // The real ALKIS parcel: the key keeps its padding, AGS keeps its leading zero.
    let parcel = get_json(&app, "/collections/flurstueck/items/1").await;
    let expected = as_served(
        &source_features("nrw_alkis_flurstueck_25832.geojson")[0]["properties"],
        &parcel_report.columns,
    );
    assert_eq!(parcel["properties"], expected);
    assert_eq!(
        parcel["properties"]["flurstueckskennzeichen"],
        "05329001100085______"
    );
    assert_eq!(parcel["properties"]["gemeindekennzeichen"], "05112000");
}

#[actix_web::test]
async fn utm_coordinates_come_back_in_crs84_as_proj_computes_them() {
    let db = TestDb::new().await;
    let report = db
        .ingest(
            "nrw_alkis_flurstueck_25832.geojson",
            "flurstueck",
            DatasetKind::Parcels,
        )
        .await;
    assert_eq!(report.source_crs, Some(25832));
    let app = app(&db).await;
    let parcel = get_json(&app, "/collections/flurstueck/items/1").await;
    let ring = parcel["geometry"]["coordinates"][0]
        .as_array()
        .expect("ring")
        .clone();
    let reference: Json = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("expected/nrw_alkis_flurstueck_crs84.json"))
            .expect("reference"),
    )
    .expect("reference JSON");
    let expected = reference["crs84"].as_array().expect("points");
    assert_eq!(ring.len(), expected.len());
    for (got, want) in ring.iter().zip(expected) {
        for axis in 0..2 {
            let (g, w) = (
                got[axis].as_f64().expect("number"),
                want[axis].as_f64().expect("number"),
            );
            assert!((g - w).abs() < 1e-7, "axis {axis}: {g} vs PROJ {w}");
        }
    }
}

#[actix_web::test]
async fn three_d_roofs_keep_their_heights() {
    let db = TestDb::new().await;
    let report = db
        .ingest(
            "nrw_lod2_roofsurfaces_25832.geojson",
            "roofs",
            DatasetKind::Solar,
        )
        .await;
    assert!(report.has_z);
    let app = app(&db).await;
    let roof = get_json(&app, "/collections/roofs/items/1").await;
    let first = &roof["geometry"]["coordinates"][0][0];
    // Heights in DHHN2016 pass through the horizontal transformation unchanged.
    assert_eq!(first[2].as_f64(), Some(38.976));
}

#[actix_web::test]
async fn identical_file_creates_no_new_version() {
    let db = TestDb::new().await;
    let first = db
        .ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let second = db
        .ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    assert!(!first.unchanged);
    assert!(second.unchanged);
    assert_eq!(first.version, second.version);
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.versions")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(versions, 1);
}

#[actix_web::test]
async fn failed_ingest_leaves_the_served_version_untouched() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    let before = get_json(&app, "/collections/aed/items?limit=500").await;

    let broken = std::env::temp_dir().join(format!("kg-broken-{}.geojson", std::process::id()));
    let text = std::fs::read_to_string(common::fixture("aed_koeln.geojson")).expect("fixture");
    std::fs::write(&broken, &text[..text.len() / 2]).expect("write");
    let err = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Aed,
            ..IngestRequest::new(&broken, "aed")
        })
        .await
        .expect_err("a truncated file must fail");
    assert!(
        matches!(err, Error::Ingest(IngestError::Parse { .. })),
        "{err}"
    );

    let after = get_json(&app, "/collections/aed/items?limit=500").await;
    assert_eq!(before["features"], after["features"]);
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'data'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(tables, 1, "a failed ingest left a table behind");
    let _ = std::fs::remove_file(broken);
}

#[actix_web::test]
async fn bad_input_is_reported_with_its_place() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir();
    let write = |name: &str, text: &str| {
        let path = dir.join(format!("kg-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write");
        path
    };
    let short_position = write(
        "short.geojson",
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"a":1},"geometry":{"type":"Point","coordinates":[1,2]}},
            {"type":"Feature","properties":{"a":2},"geometry":{"type":"Point","coordinates":[1]}}]}"#,
    );
    match db
        .try_ingest(IngestRequest::new(&short_position, "x"))
        .await
    {
        Err(Error::Ingest(IngestError::Parse { message })) => {
            assert!(
                message.contains("feature index 1") && message.contains("line 3"),
                "{message}"
            );
        }
        other => panic!("expected a parse error, got {other:?}"),
    }

    let unknown_crs = write(
        "crs.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:999999"}},
            "features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#,
    );
    assert!(matches!(
        db.try_ingest(IngestRequest::new(&unknown_crs, "x")).await,
        Err(Error::Ingest(IngestError::UnknownCrs(999_999)))
    ));

    let empty = write(
        "empty.geojson",
        r#"{"type":"FeatureCollection","features":[]}"#,
    );
    assert!(matches!(
        db.try_ingest(IngestRequest::new(&empty, "x")).await,
        Err(Error::Ingest(IngestError::Empty))
    ));

    let not_geo = write("notes.dat", "hello");
    assert!(matches!(
        db.try_ingest(IngestRequest::new(&not_geo, "x")).await,
        Err(Error::Ingest(IngestError::UnknownFormat { .. }))
    ));

    assert!(matches!(
        db.try_ingest(IngestRequest::new(
            common::fixture("aed_koeln.geojson"),
            "Bad Id"
        ))
        .await,
        Err(Error::Ingest(IngestError::InvalidDataset(_)))
    ));

    // Nothing of the above reached the catalog.
    let datasets: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.datasets")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(datasets, 0);
    for p in [short_position, unknown_crs, empty, not_geo] {
        let _ = std::fs::remove_file(p);
    }
}

#[actix_web::test]
async fn crs_flag_overrides_the_file() {
    let db = TestDb::new().await;
    // The roofs declare EPSG:25832; saying so explicitly must give the same coordinates, and
    // saying EPSG:25833 must move them about 6° east (the next UTM zone).
    let declared = db
        .ingest(
            "nrw_lod2_roofsurfaces_25832.geojson",
            "a",
            DatasetKind::Solar,
        )
        .await;
    let mut request =
        IngestRequest::new(common::fixture("nrw_lod2_roofsurfaces_25832.geojson"), "b");
    request.crs = Some(25833);
    let overridden = db.try_ingest(request).await.expect("ingest");
    assert_eq!(overridden.source_crs, Some(25833));
    let (a, b) = (declared.bbox.expect("bbox"), overridden.bbox.expect("bbox"));
    assert!((b[0] - a[0] - 6.0).abs() < 0.5, "{a:?} vs {b:?}");
    let app = app(&db).await;
    let (status, _, _) = get(&app, "/collections/b/items/1").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn every_fixture_of_the_portal_loads() {
    let db = TestDb::new().await;
    let manifest = std::fs::read_to_string(common::fixture("fixtures.tsv")).expect("fixtures.tsv");
    let mut loaded = 0;
    for line in manifest
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, dataset, kind, title] = fields[..] else {
            panic!("fixtures.tsv: malformed line {line:?}");
        };
        let mut request = IngestRequest::new(common::fixture(file), dataset);
        request.kind = DatasetKind::parse(kind).unwrap_or_else(|| panic!("unknown kind {kind}"));
        request.title = Some(title.to_string());
        let report = db
            .try_ingest(request)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(report.features > 0);
        loaded += 1;
    }
    let app = app(&db).await;
    let collections = get_json(&app, "/collections").await;
    assert_eq!(
        collections["collections"].as_array().map(Vec::len),
        Some(loaded)
    );
    let parcels = get_json(&app, "/collections/parcels").await;
    assert_eq!(parcels["title"], "Flurstücke Lüneburg (synthetisch)");
}

#[actix_web::test]
async fn invalid_geometries_are_repaired_and_empty_ones_rejected() {
    let db = TestDb::new().await;
    let path = std::env::temp_dir().join(format!("kg-invalid-{}.geojson", std::process::id()));
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"n":"ok"},"geometry":{"type":"Polygon","coordinates":[[[10,53],[10.1,53],[10.1,53.1],[10,53.1],[10,53]]]}},
        {"type":"Feature","properties":{"n":"bowtie"},"geometry":{"type":"Polygon","coordinates":[[[10,53],[10.1,53.1],[10.1,53],[10,53.1],[10,53]]]}},
        {"type":"Feature","properties":{"n":"empty"},"geometry":{"type":"Polygon","coordinates":[]}},
        {"type":"Feature","properties":{"n":"collapsed"},"geometry":{"type":"Polygon","coordinates":[[[10,53],[10.1,53.1],[10.2,53.2],[10,53]]]}},
        {"type":"Feature","properties":{"n":"no geometry"},"geometry":null}]}"#,
    )
    .expect("write");

    // By default any rejection fails the ingest and names the features.
    match db.try_ingest(IngestRequest::new(&path, "shapes")).await {
        Err(Error::Ingest(IngestError::InvalidFeatures { rejected, problems })) => {
            assert_eq!(rejected, 2);
            let rejected: Vec<u64> = problems
                .iter()
                .filter(|p| p.action == "rejected")
                .map(|p| p.feature)
                .collect();
            assert_eq!(rejected, [2, 3]);
            let repaired: Vec<u64> = problems
                .iter()
                .filter(|p| p.action == "repaired")
                .map(|p| p.feature)
                .collect();
            assert_eq!(repaired, [1]);
            assert!(
                problems[0].reason.contains("Self-intersection"),
                "{problems:?}"
            );
        }
        other => panic!("expected rejected features, got {other:?}"),
    }
    let datasets: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.datasets")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(datasets, 0, "a failed ingest must change nothing");

    // --skip-invalid stores the rest, with the repair, and reports the rejected.
    let mut request = IngestRequest::new(&path, "shapes");
    request.skip_invalid = true;
    let report = db.try_ingest(request).await.expect("ingest");
    assert_eq!(
        (
            report.read,
            report.features,
            report.repaired,
            report.rejected
        ),
        (5, 3, 1, 2)
    );
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT report FROM catalog.versions WHERE id = $1")
            .bind(report.version)
            .fetch_one(&db.pool)
            .await
            .expect("stored report");
    assert_eq!(stored["rejected"], 2);
    assert_eq!(stored["problems"].as_array().map(Vec::len), Some(3));

    let app = app(&db).await;
    let all = harvest(&app, "/collections/shapes/items").await;
    let names: Vec<&str> = all
        .iter()
        .map(|f| f["properties"]["n"].as_str().expect("n"))
        .collect();
    assert_eq!(names, ["ok", "bowtie", "no geometry"]);
    // The repaired bowtie is polygonal and valid: two triangles.
    assert_eq!(all[1]["geometry"]["type"], "MultiPolygon");
    assert_eq!(
        all[1]["geometry"]["coordinates"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(all[2]["geometry"].is_null());
    let valid: bool = sqlx::query_scalar(&format!(
        "SELECT bool_and(ST_IsValid(geom)) FROM data.shapes_v{}",
        report.version
    ))
    .fetch_one(&db.pool)
    .await
    .expect("validity");
    assert!(valid);
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn newline_delimited_geojson_matches_the_feature_collection() {
    let db = TestDb::new().await;
    let source = source_features("aed_koeln.geojson");
    let path = std::env::temp_dir().join(format!("kg-seq-{}.geojsonl", std::process::id()));
    // RFC 8142 separators on some lines, a blank line, LF endings: all must read the same.
    let mut text = String::new();
    for (i, f) in source.iter().enumerate() {
        if i % 2 == 0 {
            text.push('\u{1e}');
        }
        text.push_str(&f.to_string());
        text.push('\n');
        if i == 10 {
            text.push('\n');
        }
    }
    std::fs::write(&path, text).expect("write");
    let report = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Aed,
            ..IngestRequest::new(&path, "seq")
        })
        .await
        .expect("ingest");
    assert_eq!(report.format, "GeoJSONSeq");
    assert_eq!(report.features, source.len() as u64);
    let app = app(&db).await;
    let served = harvest(&app, "/collections/seq/items?limit=1000").await;
    for (s, f) in source.iter().zip(&served) {
        assert_eq!(
            f["properties"],
            as_served(&s["properties"], &report.columns)
        );
        assert_eq!(f["geometry"], s["geometry"]);
    }

    std::fs::write(&path, format!("{}\n{{\"type\":\"Feature\",", source[0])).expect("write");
    match db.try_ingest(IngestRequest::new(&path, "seq2")).await {
        Err(Error::Ingest(IngestError::Parse { message })) => {
            assert!(message.contains("line 2"), "{message}");
        }
        other => panic!("expected a parse error naming line 2, got {other:?}"),
    }
    let _ = std::fs::remove_file(path);
}

fn csv_request(path: &std::path::Path, dataset: &str, crs: Option<i32>) -> IngestRequest {
    let mut r = IngestRequest::new(path, dataset);
    r.crs = crs;
    r
}

#[actix_web::test]
async fn csv_with_coordinate_columns_wkt_and_german_conventions() {
    let db = TestDb::new().await;

    // Real: the Köln register, comma-separated UTF-8 with longitude/latitude columns.
    let koeln = common::fixture("aed_koeln.csv");
    let missing = db.try_ingest(csv_request(&koeln, "koeln", None)).await;
    assert!(
        matches!(missing, Err(Error::Ingest(IngestError::MissingCrs))),
        "{missing:?}"
    );
    let report = db
        .try_ingest(csv_request(&koeln, "koeln", Some(4326)))
        .await
        .expect("ingest");
    assert_eq!((report.format.as_str(), report.features), ("CSV", 145));
    let app = app(&db).await;
    let first = get_json(&app, "/collections/koeln/items/1").await;
    assert_eq!(first["properties"]["name"], "Sparkasse KölnBonn");
    assert_eq!(first["properties"]["address"], "Mailänder Passage 51");
    assert_eq!(
        first["geometry"]["coordinates"],
        serde_json::json!([6.897_402, 51.021_661_9])
    );
    assert!(
        first["properties"].get("longitude").is_none(),
        "geometry columns are not attributes"
    );
    let located = get_json(
        &app,
        "/collections/koeln/items?bbox=6.7,50.8,7.2,51.1&limit=1",
    )
    .await;
    assert_eq!(located["numberMatched"], 121, "24 rows have no coordinates");

    // A German office export: ';', decimal commas, Windows-1252, Rechtswert/Hochwert in UTM 32.
    let dir = std::env::temp_dir();
    let office = dir.join(format!("kg-office-{}.csv", std::process::id()));
    let mut bytes = b"Name;Rechtswert;Hochwert;AGS;Anzahl\r\n".to_vec();
    bytes.extend_from_slice(b"Rathaus L\xfcneburg;594180,5;5900870,25;03355022;2\r\n");
    bytes.extend_from_slice(b"Kreishaus;593960;5901390;03355022;1\r\n");
    std::fs::write(&office, bytes).expect("write");
    db.try_ingest(csv_request(&office, "office", Some(25832)))
        .await
        .expect("ingest");
    let rathaus = get_json(&app, "/collections/office/items/1").await;
    assert_eq!(rathaus["properties"]["Name"], "Rathaus Lüneburg");
    assert_eq!(rathaus["properties"]["AGS"], "03355022");
    assert_eq!(rathaus["properties"]["Anzahl"], 2);
    let lon = rathaus["geometry"]["coordinates"][0].as_f64().expect("lon");
    let lat = rathaus["geometry"]["coordinates"][1].as_f64().expect("lat");
    assert!(
        (lon - 10.4115).abs() < 0.001 && (lat - 53.2487).abs() < 0.001,
        "{lon} {lat}"
    );

    // WKT geometries.
    let wkt = dir.join(format!("kg-wkt-{}.csv", std::process::id()));
    std::fs::write(
        &wkt,
        "id,wkt\n1,\"POLYGON((10 53,10.1 53,10.1 53.1,10 53))\"\n2,POINT(10 53)\n",
    )
    .expect("write");
    db.try_ingest(csv_request(&wkt, "wkt", Some(4326)))
        .await
        .expect("ingest");
    let polygon = get_json(&app, "/collections/wkt/items/1").await;
    assert_eq!(polygon["geometry"]["type"], "Polygon");

    // Errors name the line and the field.
    let bad = dir.join(format!("kg-bad-{}.csv", std::process::id()));
    std::fs::write(&bad, "name,lat,lon\na,53.1,10.2\nb,north,10.3\n").expect("write");
    match db.try_ingest(csv_request(&bad, "bad", Some(4326))).await {
        Err(Error::Ingest(IngestError::Feature {
            index,
            field,
            message,
        })) => {
            assert_eq!((index, field.as_deref()), (1, Some("lat")));
            assert!(message.contains("line 3"), "{message}");
        }
        other => panic!("expected a feature error, got {other:?}"),
    }
    for p in [office, wkt, bad] {
        let _ = std::fs::remove_file(p);
    }
}

#[actix_web::test]
async fn parcels_profile_maps_alkis_names_and_rejects_malformed_keys() {
    let db = TestDb::new().await;
    let path = std::env::temp_dir().join(format!("kg-alkis-{}.geojson", std::process::id()));
    let feature = |key: &str, x: f64| {
        format!(
            r#"{{"type":"Feature","properties":{{"FLSTKENNZ":"{key}","GEMASCHL":"3290","FLURSCHL":"011","FLSTNRZAE":85,"FLAECHE":684.0}},
               "geometry":{{"type":"Point","coordinates":[{x},51.48]}}}}"#
        )
    };
    let features = [
        feature("05329001100085______", 6.66),
        feature("0532900110008______", 6.67),
        feature("05329001100086001200", 6.68),
        feature("05329001100087____xx", 6.69),
    ];
    std::fs::write(
        &path,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ),
    )
    .expect("write");
    let request = || IngestRequest {
        kind: DatasetKind::Parcels,
        ..IngestRequest::new(&path, "flurstuecke")
    };

    match db.try_ingest(request()).await {
        Err(Error::Ingest(IngestError::InvalidFeatures { rejected, problems })) => {
            assert_eq!(rejected, 2);
            let places: Vec<(u64, &str)> = problems
                .iter()
                .map(|p| (p.feature, p.field.as_str()))
                .collect();
            assert_eq!(places, [(1, "FLSTKENNZ"), (3, "FLSTKENNZ")]);
            assert!(
                problems[0].reason.contains("'0532900110008______'"),
                "{}",
                problems[0].reason
            );
        }
        other => panic!("expected rejected keys, got {other:?}"),
    }

    let mut skip = request();
    skip.skip_invalid = true;
    let report = db.try_ingest(skip).await.expect("ingest");
    assert_eq!((report.features, report.rejected), (2, 2));
    let names: Vec<(&str, &str)> = report
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.source_name()))
        .collect();
    assert_eq!(
        names,
        [
            ("flurstueckskennzeichen", "FLSTKENNZ"),
            ("gemarkung", "GEMASCHL"),
            ("flur", "FLURSCHL"),
            ("zaehler", "FLSTNRZAE"),
            ("amtlicheflaeche", "FLAECHE")
        ]
    );
    // The canonical column is what later citizen endpoints query.
    let keys: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT flurstueckskennzeichen FROM data.flurstuecke_v{} ORDER BY fid",
        report.version
    ))
    .fetch_all(&db.pool)
    .await
    .expect("canonical column");
    assert_eq!(keys, ["05329001100085______", "05329001100086001200"]);
    // The API serves the profile's names, as in every county: properties, the property
    // filter, CQL2, sortby; the queryables say what the source called them.
    let app = app(&db).await;
    let first = get_json(&app, "/collections/flurstuecke/items/1").await;
    assert_eq!(
        first["properties"]["flurstueckskennzeichen"],
        "05329001100085______"
    );
    assert!(first["properties"].get("FLSTKENNZ").is_none());
    for query in [
        "flurstueckskennzeichen=05329001100086001200",
        "filter=flurstueckskennzeichen%20LIKE%20%27%25001200%27",
        "filter=amtlicheflaeche%20%3E%200&sortby=-flurstueckskennzeichen&limit=1",
    ] {
        let page = get_json(&app, &format!("/collections/flurstuecke/items?{query}")).await;
        let keys: Vec<&str> = page["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f["properties"]["flurstueckskennzeichen"].as_str())
            .collect();
        assert_eq!(keys, ["05329001100086001200"], "{query}");
    }
    let (status, _, _) = get(&app, "/collections/flurstuecke/items?FLSTKENNZ=x").await;
    assert_eq!(status, 400);
    // Downloads and tiles are written by the same encoders, with the same names.
    let (_, _, csv) = get(&app, "/collections/flurstuecke/items?f=csv").await;
    let header = String::from_utf8_lossy(&csv)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        header.contains("flurstueckskennzeichen") && !header.contains("FLSTKENNZ"),
        "{header}"
    );
    let queryables = get_json(&app, "/collections/flurstuecke/queryables").await;
    let key = &queryables["properties"]["flurstueckskennzeichen"];
    assert_eq!(key["x-kreisgeo-source-name"], "FLSTKENNZ");
    assert_eq!(key["type"], "string");
    assert!(queryables["properties"].get("FLSTKENNZ").is_none());

    // A parcels file without any key column is refused before loading.
    match db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Parcels,
            ..IngestRequest::new(common::fixture("aed_koeln.geojson"), "p2")
        })
        .await
    {
        Err(Error::Ingest(IngestError::Profile(message))) => assert!(
            message.contains("--map flurstueckskennzeichen="),
            "{message}"
        ),
        other => panic!("expected a profile error, got {other:?}"),
    }
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn overpass_json_gives_the_same_features_as_its_geojson() {
    let db = TestDb::new().await;
    let report = db
        .ingest(
            "aed_osm_switzerland_2020-12_extract.overpass.json",
            "osm",
            DatasetKind::Aed,
        )
        .await;
    assert_eq!(
        (report.format.as_str(), report.features),
        ("Overpass JSON", 310)
    );
    // The aed profile maps the OSM tags onto canonical columns.
    let name_of = |source: &str| {
        report
            .columns
            .iter()
            .find(|c| c.source_name() == source)
            .map(|c| c.name.clone())
    };
    assert_eq!(
        name_of("defibrillator:location").as_deref(),
        Some("defibrillator_location")
    );
    assert_eq!(name_of("opening_hours").as_deref(), Some("opening_hours"));
    let app = app(&db).await;
    let served = harvest(&app, "/collections/osm/items?limit=1000").await;
    let source = source_features("aed_osm_switzerland_2020-12_extract.geojson");
    assert_eq!(served.len(), source.len());
    for (s, f) in source.iter().zip(&served) {
        assert_eq!(f["geometry"], s["geometry"]);
        // Same tags; the served feature also lists, as null, tags other elements have.
        let expected = as_served(&s["properties"], &report.columns);
        for (key, value) in expected.as_object().expect("properties") {
            assert_eq!(&f["properties"][key], value, "{key}");
        }
        let non_null = f["properties"]
            .as_object()
            .expect("properties")
            .values()
            .filter(|v| !v.is_null())
            .count();
        assert_eq!(
            non_null,
            s["properties"].as_object().expect("properties").len()
        );
    }
}

#[actix_web::test]
async fn geopackage_reads_its_srs_attributes_and_geometries() {
    let db = TestDb::new().await;
    let report = db
        .ingest("aed_koeln_25832.gpkg", "gpkg", DatasetKind::Aed)
        .await;
    assert_eq!(
        (report.format.as_str(), report.source_crs, report.features),
        ("GeoPackage", Some(25832), 121)
    );
    let app = app(&db).await;
    let served = harvest(&app, "/collections/gpkg/items?limit=1000").await;
    let source = source_features("aed_koeln.geojson");
    for (s, f) in source.iter().zip(&served) {
        assert_eq!(f["properties"]["name"], s["properties"]["name"]);
        assert_eq!(
            f["properties"]["last_edited"],
            s["properties"]["last_edited"]
        );
        // CRS84 → 25832 by GDAL/PROJ, back by PostGIS/PROJ.
        for axis in 0..2 {
            let (a, b) = (
                f["geometry"]["coordinates"][axis].as_f64().expect("number"),
                s["geometry"]["coordinates"][axis].as_f64().expect("number"),
            );
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    let mut request = IngestRequest::new(common::fixture("aed_koeln_25832.gpkg"), "gpkg2");
    request.read.layer = Some("nope".into());
    match db.try_ingest(request).await {
        Err(Error::Ingest(IngestError::Parse { message })) => {
            assert!(message.contains("aed_koeln"), "{message}");
        }
        other => panic!("expected an unknown-layer error, got {other:?}"),
    }
}

/// The feature of a collection whose property `key` is `value`.
async fn find_feature(
    app: &impl TestApp,
    collection: &str,
    key: &str,
    value: &str,
) -> serde_json::Value {
    harvest(app, &format!("/collections/{collection}/items?limit=1000"))
        .await
        .into_iter()
        .find(|f| f["properties"][key] == value)
        .unwrap_or_else(|| panic!("{collection}: no feature with {key} = {value}"))
}

#[actix_web::test]
async fn zipped_shapefiles_with_prj_cpg_and_gauss_krueger() {
    let db = TestDb::new().await;
    let gk = db
        .ingest(
            "kreise_niedersachsen_31467.zip",
            "kreise-gk",
            DatasetKind::Generic,
        )
        .await;
    assert_eq!(
        (gk.format.as_str(), gk.source_crs, gk.features),
        ("Shapefile", Some(31467), 45)
    );
    let utm = db
        .ingest(
            "kreise_niedersachsen_25832.fgb",
            "kreise-utm",
            DatasetKind::Generic,
        )
        .await;
    assert_eq!(utm.source_crs, Some(25832));
    let app = app(&db).await;
    let a = find_feature(&app, "kreise-gk", "AGS", "03355").await;
    let b = find_feature(&app, "kreise-utm", "AGS", "03355").await;
    assert_eq!(a["properties"]["GEN"], "Lüneburg");
    // Gauß-Krüger (DHDN) and UTM (ETRS89) reach CRS84 through PROJ with the datum shift: the
    // same vertex agrees within a few metres (without the shift it would be off by ~100 m).
    let first = |f: &serde_json::Value| {
        let p = &f["geometry"]["coordinates"][0][0][0];
        (p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat"))
    };
    let ((ax, ay), (bx, by)) = (first(&a), first(&b));
    let metres = ((ax - bx) * 111_320.0 * ay.to_radians().cos()).hypot((ay - by) * 110_540.0);
    assert!(metres < 5.0, "{metres} m apart");

    // Windows-1252 attributes, declared in the .cpg …
    db.ingest(
        "gemeinden_lueneburg_31467.zip",
        "gemeinden",
        DatasetKind::Generic,
    )
    .await;
    let town = find_feature(&app, "gemeinden", "GEN", "Lüneburg").await;
    assert_eq!(town["properties"]["AGS"], "03355022");
    // … and without a .cpg (a bare .shp beside its .dbf): Windows-1252 is assumed.
    let dir = std::env::temp_dir().join(format!("kg-shp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut archive = zip::ZipArchive::new(
        std::fs::File::open(common::fixture("gemeinden_lueneburg_31467.zip")).expect("zip"),
    )
    .expect("zip");
    for ext in ["shp", "shx", "dbf", "prj"] {
        let mut entry = archive
            .by_name(&format!("gemeinden_lueneburg_31467.{ext}"))
            .expect("entry");
        let mut out = std::fs::File::create(dir.join(format!("g.{ext}"))).expect("create");
        std::io::copy(&mut entry, &mut out).expect("copy");
    }
    let report = db
        .try_ingest(IngestRequest::new(dir.join("g.shp"), "gemeinden-bare"))
        .await
        .expect("ingest");
    assert_eq!((report.features, report.source_crs), (43, Some(31467)));
    find_feature(&app, "gemeinden-bare", "GEN", "Lüneburg").await;
    let _ = std::fs::remove_dir_all(dir);
}

#[actix_web::test]
async fn every_german_crs_lands_where_proj_puts_it() {
    let db = TestDb::new().await;
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("expected/lueneburg_rathaus_by_crs.json"))
            .expect("reference"),
    )
    .expect("JSON");
    let (lon, lat) = (
        reference["crs84"][0].as_f64().expect("lon"),
        reference["crs84"][1].as_f64().expect("lat"),
    );
    let app = app(&db).await;
    let dir = std::env::temp_dir();
    for (epsg, xy) in reference["coordinates"].as_object().expect("coordinates") {
        let epsg: i32 = epsg.parse().expect("code");
        let path = dir.join(format!("kg-crs-{epsg}-{}.csv", std::process::id()));
        std::fs::write(&path, format!("name,x,y\nRathaus,{},{}\n", xy[0], xy[1])).expect("write");
        let dataset = format!("crs-{epsg}");
        let report = db
            .try_ingest(csv_request(&path, &dataset, Some(epsg)))
            .await
            .expect("ingest");
        assert_eq!(report.source_crs, Some(epsg));
        let f = get_json(&app, &format!("/collections/{dataset}/items/1")).await;
        let (x, y) = (
            f["geometry"]["coordinates"][0].as_f64().expect("x"),
            f["geometry"]["coordinates"][1].as_f64().expect("y"),
        );
        // PostGIS and GDAL use the same PROJ pipelines, Gauß-Krüger's DHDN datum shift included.
        assert!(
            (x - lon).abs() < 1e-7 && (y - lat).abs() < 1e-7,
            "EPSG:{epsg}: {x} {y}"
        );
        let _ = std::fs::remove_file(path);
    }
}

#[actix_web::test]
async fn coordinates_outside_the_globe_are_rejected() {
    let db = TestDb::new().await;
    let path = std::env::temp_dir().join(format!("kg-range-{}.csv", std::process::id()));
    // UTM coordinates declared as lon/lat: the classic wrong CRS.
    std::fs::write(
        &path,
        "name,lon,lat\nok,10.41,53.25\nutm,594178.4,5900866.5\n",
    )
    .expect("write");
    match db.try_ingest(csv_request(&path, "range", Some(4326))).await {
        Err(Error::Ingest(IngestError::InvalidFeatures { rejected, problems })) => {
            assert_eq!(rejected, 1);
            assert_eq!(problems[0].feature, 1);
            assert!(
                problems[0].reason.contains("wrong --crs"),
                "{}",
                problems[0].reason
            );
        }
        other => panic!("expected a range rejection, got {other:?}"),
    }
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn coordinates_round_trip_exactly_in_the_input_crs() {
    let db = TestDb::new().await;
    let file = "generated/solar_lueneburg_500_25832.geojson";
    db.ingest(file, "solar", DatasetKind::Solar).await;
    let app = crate::common::app(&db).await;
    let collection = crate::common::get_json(&app, "/collections/solar").await;
    assert_eq!(
        collection["storageCrs"],
        "http://www.opengis.net/def/crs/EPSG/0/25832"
    );
    let served = crate::common::harvest(
        &app,
        "/collections/solar/items?limit=10000&crs=http://www.opengis.net/def/crs/EPSG/0/25832",
    )
    .await;
    let ring = |f: &serde_json::Value| -> Vec<(f64, f64)> {
        f["geometry"]["coordinates"][0]
            .as_array()
            .expect("ring")
            .iter()
            .map(|p| (p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
            .collect()
    };
    let source = source_features(file);
    assert_eq!(served.len(), source.len());
    for (s, f) in served.iter().zip(&source) {
        assert_eq!(ring(s), ring(f), "feature {}", s["id"]);
    }
}

#[actix_web::test]
async fn projected_features_off_the_globe_are_rejected_by_index() {
    let db = TestDb::new().await;
    let path = common::scratch_root().join("off_globe_25832.csv");
    std::fs::write(
        &path,
        "name,x,y\nok,594178.4,5900866.5\nabsurd,1e15,5900866.5\nok2,594200.0,5900900.0\n",
    )
    .expect("write");
    match db
        .try_ingest(csv_request(&path, "offglobe", Some(25832)))
        .await
    {
        Err(Error::Ingest(IngestError::InvalidFeatures { rejected, problems })) => {
            assert_eq!(rejected, 1);
            assert_eq!(problems[0].feature, 1);
            assert!(
                problems[0].reason.contains("wrong --crs"),
                "{}",
                problems[0].reason
            );
        }
        other => panic!("expected an off-globe rejection, got {other:?}"),
    }
    let mut request = csv_request(&path, "offglobe", Some(25832));
    request.skip_invalid = true;
    let report = db.try_ingest(request).await.expect("skip-invalid ingest");
    assert_eq!((report.features, report.rejected), (2, 1));
    let bbox = report.bbox.expect("bbox");
    assert!(
        bbox[0] > 10.0 && bbox[2] < 10.5 && bbox[1] > 53.0 && bbox[3] < 53.5,
        "{bbox:?}"
    );
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn the_real_invalid_gemeinden_of_vg5000_are_repaired() {
    let db = TestDb::new().await;
    let report = db
        .ingest(
            "gemeinden_invalid_31467.zip",
            "gemeinden",
            DatasetKind::Generic,
        )
        .await;
    assert_eq!(
        (report.features, report.repaired, report.rejected),
        (10, 3, 0)
    );
    let repaired: Vec<u64> = report.problems.iter().map(|p| p.feature).collect();
    // Burgjoß, Bad Sulza and Langenwetzendorf, in file order.
    assert_eq!(repaired, [2, 5, 8]);
    assert!(report
        .problems
        .iter()
        .all(|p| p.reason.contains("Self-intersection")));
    let (valid, polygonal): (bool, bool) = sqlx::query_as(&format!(
        "SELECT bool_and(ST_IsValid(geom)), bool_and(ST_Dimension(geom) = 2) FROM data.gemeinden_v{}",
        report.version
    ))
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert!(valid && polygonal);
}

#[actix_web::test]
async fn solar_profile_maps_vendor_names() {
    let db = TestDb::new().await;
    let canonical = |report: &kreisgeo::ingest::IngestReport, source: &str| {
        report
            .columns
            .iter()
            .find(|c| c.source_name() == source)
            .map(|c| c.name.clone())
    };
    // Real LoD2 roofs: the derived tilt and azimuth are recognised.
    let roofs = db
        .ingest(
            "nrw_lod2_roofsurfaces_25832.geojson",
            "roofs",
            DatasetKind::Solar,
        )
        .await;
    assert_eq!(
        canonical(&roofs, "derived_tilt_deg").as_deref(),
        Some("tilt_deg")
    );
    assert_eq!(
        canonical(&roofs, "derived_azimuth_deg").as_deref(),
        Some("azimuth_deg")
    );

    // A vendor export with German names, one of them only mappable with --map.
    let path = std::env::temp_dir().join(format!("kg-solar-{}.csv", std::process::id()));
    std::fs::write(
        &path,
        "Eignung;Modulfläche;Leistung_kWp;Stromertrag;CO2_Einsparung;Dachneigung;Ausrichtung;Klasse_Farbe;wkt\n\
         sehr gut;42,5;7,7;7100;2700;35;180;grün;POLYGON((594000 5900000,594010 5900000,594010 5900008,594000 5900000))\n",
    )
    .expect("write");
    let mut request = csv_request(&path, "solar", Some(25832));
    request.kind = DatasetKind::Solar;
    request.mappings = vec![("suitability".into(), "Klasse_Farbe".into())];
    let report = db.try_ingest(request).await.expect("ingest");
    let names: Vec<(&str, &str)> = report
        .columns
        .iter()
        .map(|c| (c.source_name(), c.name.as_str()))
        .collect();
    for expected in [
        ("Klasse_Farbe", "suitability"),
        ("Modulfläche", "module_area_m2"),
        ("Leistung_kWp", "kwp"),
        ("Stromertrag", "yield_kwh_a"),
        ("CO2_Einsparung", "co2_saving_kg_a"),
        ("Dachneigung", "tilt_deg"),
        ("Ausrichtung", "azimuth_deg"),
    ] {
        assert!(names.contains(&expected), "{expected:?} not in {names:?}");
    }
    // "Eignung" would have been the suitability; the mapping chose another column.
    assert!(names.contains(&("Eignung", "eignung")), "{names:?}");
    let kwp: f64 = sqlx::query_scalar(&format!("SELECT kwp FROM data.solar_v{}", report.version))
        .fetch_one(&db.pool)
        .await
        .expect("kwp");
    assert_eq!(kwp, 7.7);
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn a_schema_change_after_the_surveyed_features_reloads_with_the_whole_files_schema() {
    use kreisgeo::ingest::SURVEY_FEATURES;
    let db = TestDb::new().await;
    let n = SURVEY_FEATURES + 5_000;
    let late = SURVEY_FEATURES + 1_000;

    // GeoJSON lines: a column first seen after the survey, and 3D coordinates at the very end.
    let path = common::scratch_root().join("late_schema.geojsonl");
    let mut text = String::new();
    for i in 0..n {
        let props = if i == late {
            format!(r#"{{"n":{i},"late":true}}"#)
        } else {
            format!(r#"{{"n":{i}}}"#)
        };
        let z = if i == n - 1 { ",7.5" } else { "" };
        text.push_str(&format!(
            r#"{{"type":"Feature","properties":{props},"geometry":{{"type":"Point","coordinates":[10.4,53.2{z}]}}}}"#
        ));
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write");
    let report = db
        .try_ingest(IngestRequest::new(&path, "late"))
        .await
        .expect("ingest");
    assert_eq!((report.read, report.features), (n, n));
    assert!(report.has_z);
    let types: Vec<(&str, ColumnType)> = report
        .columns
        .iter()
        .map(|c| (c.original.as_str(), c.ty))
        .collect();
    assert_eq!(
        types,
        [("n", ColumnType::Integer), ("late", ColumnType::Boolean)]
    );
    let surveys = report
        .phases
        .iter()
        .filter(|(p, _)| p.as_str() == "survey")
        .count();
    assert_eq!(surveys, 2, "{:?}", report.phases);
    let (late_fid, z): (i64, f64) = sqlx::query_as(&format!(
        "SELECT (SELECT fid FROM data.late_v{v} WHERE late), \
                (SELECT ST_Z(geom) FROM data.late_v{v} WHERE n = {last})",
        v = report.version,
        last = n - 1
    ))
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert_eq!((late_fid, z), (i64::try_from(late).unwrap() + 1, 7.5));

    // CSV: a code column of integers that turns out to be text; a uniform file loads in one go.
    for (dataset, odd, expected, surveys) in [
        ("codes", "A7", ColumnType::Text, 2),
        ("uniform", "7", ColumnType::Integer, 1),
    ] {
        let path = common::scratch_root().join(format!("{dataset}.csv"));
        let mut text = String::from("code,lon,lat\n");
        for i in 0..n {
            let code = if i == late {
                odd.to_string()
            } else {
                i.to_string()
            };
            text.push_str(&format!("{code},10.4,53.2\n"));
        }
        std::fs::write(&path, text).expect("write");
        let report = db
            .try_ingest(csv_request(&path, dataset, Some(4326)))
            .await
            .expect("ingest");
        assert_eq!(report.features, n);
        assert_eq!(report.columns[0].ty, expected, "{dataset}");
        let seen = report
            .phases
            .iter()
            .filter(|(p, _)| p.as_str() == "survey")
            .count();
        assert_eq!(seen, surveys, "{dataset}: {:?}", report.phases);
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(path);
}

/// The streaming check may only certify what GEOS also finds valid: every geometry of every
/// real fixture it certifies is asked of PostGIS.
#[actix_web::test]
async fn geometries_certified_on_the_stream_are_valid_for_geos() {
    use kreisgeo::ingest::normalize::{
        FeatureSink, NormalizeOptions, NormalizedFeature, Normalizer,
    };
    use kreisgeo::ingest::{detect, formats};

    #[derive(Default)]
    struct Collect(Vec<(bool, Vec<u8>)>);
    impl FeatureSink for Collect {
        fn feature(&mut self, f: &NormalizedFeature) -> Result<(), IngestError> {
            if let (Some(verdict), Some(geometry)) = (f.verdict, &f.geometry) {
                self.0.push((verdict.certified, geometry.clone()));
            }
            Ok(())
        }
    }

    let db = TestDb::new().await;
    let (mut certified, mut undecided) = (0, 0);
    for file in [
        "nrw_alkis_flurstueck_25832.geojson",
        "nrw_lod2_roofsurfaces_25832.geojson",
        "kreise_niedersachsen_25832.fgb",
        "kreise_niedersachsen_31467.zip",
        "gemeinden_lueneburg_31467.zip",
        "gemeinden_invalid_31467.zip",
        "lueneburg_boundary_25832.geojson",
        "aed_koeln_25832.gpkg",
        "aed_osm_switzerland_2020-12_extract.geojson",
        "generated/parcels_lueneburg_1000_25832.fgb",
        "generated/solar_lueneburg_500_25832.geojson",
    ] {
        let path = common::fixture(file);
        let format = detect::detect(&path).expect("format");
        let mut sink = Collect::default();
        let mut normalizer = Normalizer::new(
            &mut sink,
            NormalizeOptions {
                build_geometry: true,
                srid: 0,
                with_z: false,
            },
        );
        formats::open(format, &path, &formats::ReadOptions::default())
            .read(&mut normalizer)
            .expect("read");
        drop(normalizer);
        let (yes, no): (Vec<_>, Vec<_>) = sink.0.into_iter().partition(|(c, _)| *c);
        certified += yes.len();
        undecided += no.len();
        let geometries: Vec<Vec<u8>> = yes.into_iter().map(|(_, g)| g).collect();
        let invalid: Vec<String> = sqlx::query_scalar(
            "SELECT ST_AsText(ST_GeomFromEWKB(g)) FROM unnest($1::bytea[]) g \
             WHERE NOT ST_IsValid(ST_GeomFromEWKB(g))",
        )
        .bind(&geometries)
        .fetch_all(&db.pool)
        .await
        .expect("check");
        assert!(
            invalid.is_empty(),
            "{file}: certified but invalid: {invalid:?}"
        );
    }
    // Both outcomes occur, so the check above is not vacuous.
    assert!(
        certified > 1_000 && undecided > 10,
        "{certified} / {undecided}"
    );
}

#[actix_web::test]
async fn nested_values_and_local_timestamps_round_trip() {
    let db = TestDb::new().await;
    let path = common::scratch_root().join("nested.geojsonl");
    let features = [
        r#"{"type":"Feature","properties":{"tags":{"a":1,"b":[1,2.5,"x"],"c":null},"seen":"2024-02-29T23:59:59","note":"tab\there"},"geometry":{"type":"Point","coordinates":[10.4,53.2]}}"#,
        r#"{"type":"Feature","properties":{"tags":[true],"seen":"1999-12-31T00:00:00","note":null},"geometry":{"type":"Point","coordinates":[10.5,53.3]}}"#,
    ];
    std::fs::write(&path, features.join("\n")).expect("write");
    let report = db
        .try_ingest(IngestRequest::new(&path, "nested"))
        .await
        .expect("ingest");
    let types: Vec<ColumnType> = report.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [ColumnType::Json, ColumnType::Timestamp, ColumnType::Text]
    );
    let app = app(&db).await;
    let served = harvest(&app, "/collections/nested/items").await;
    for (f, source) in served.iter().zip(features) {
        let source: Json = serde_json::from_str(source).expect("JSON");
        assert_eq!(f["properties"], source["properties"]);
    }
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn a_file_that_is_one_feature_is_a_collection_of_one() {
    let db = TestDb::new().await;
    let feature = r#"{"type":"Feature","properties":{"name":"Rathaus","n":1},"geometry":{"type":"Point","coordinates":[10.4115,53.2487]}}"#;
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Json>(feature).expect("JSON"))
            .expect("pretty");
    for (name, text) in [("one_line", feature.to_string()), ("pretty", pretty)] {
        let path = common::scratch_root().join(format!("{name}.geojson"));
        std::fs::write(&path, text).expect("write");
        let report = db
            .try_ingest(IngestRequest::new(&path, name.replace('_', "-")))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.features, 1, "{name}");
        assert_eq!(report.columns.len(), 2, "{name}");
        let _ = std::fs::remove_file(path);
    }
    // Anything else without a features array is still refused, saying why.
    let path = common::scratch_root().join("not_features.geojson");
    std::fs::write(&path, r#"{"type":"Point","coordinates":[1,2]}"#).expect("write");
    let err = db
        .try_ingest(IngestRequest::new(&path, "point"))
        .await
        .expect_err("a bare geometry is no dataset");
    assert!(err.to_string().contains("features"), "{err}");
    let _ = std::fs::remove_file(path);
}

/// GDAL writes a CRS it cannot identify (the ESRI `.prj` of BKG's VG5000 in Gauß-Krüger)
/// into a GeoPackage as organisation NONE with only its WKT, and into a FlatGeobuf header
/// as code 0 with its WKT; both are read as EPSG:31467, with or without GDAL's knowing it.
#[actix_web::test]
async fn a_crs_given_only_as_wkt_is_recognised() {
    let db = TestDb::new().await;
    let dir = common::scratch_root().join(format!("wkt-crs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let prj = dir.join("vg5000.prj");
    std::fs::write(
        &prj,
        "PROJCS[\"DHDN_3_Degree_Gauss_Zone_3\",GEOGCS[\"GCS_Deutsches_Hauptdreiecksnetz\",\
         DATUM[\"D_Deutsches_Hauptdreiecksnetz\",SPHEROID[\"Bessel_1841\",6377397.155,299.1528128]],\
         PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]],PROJECTION[\"Gauss_Kruger\"],\
         PARAMETER[\"False_Easting\",3500000.0],PARAMETER[\"False_Northing\",0.0],\
         PARAMETER[\"Central_Meridian\",9.0],PARAMETER[\"Scale_Factor\",1.0],\
         PARAMETER[\"Latitude_Of_Origin\",0.0],UNIT[\"Meter\",1.0]]",
    )
    .expect("prj");
    let zip = common::fixture("kreise_niedersachsen_31467.zip");
    for (driver, name) in [("GPKG", "kreise.gpkg"), ("FlatGeobuf", "kreise.fgb")] {
        let out = dir.join(name);
        let _ = std::fs::remove_file(&out);
        let status = std::process::Command::new("ogr2ogr")
            .args(["-f", driver])
            .arg(&out)
            .arg(format!("/vsizip/{}", zip.display()))
            .arg("-a_srs")
            .arg(&prj)
            .args(["-nlt", "PROMOTE_TO_MULTI"])
            .status()
            .expect("ogr2ogr is required (apt-get install gdal-bin)");
        assert!(status.success(), "{driver}");
        let report = db
            .try_ingest(IngestRequest::new(
                &out,
                format!("kreise-{}", driver.to_lowercase()),
            ))
            .await
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(report.source_crs, Some(31467), "{driver}");
        assert_eq!(report.features, 45, "{driver}");
    }
    // A CRS that is no EPSG code: refused, named, with what to do.
    let own = dir.join("own.prj");
    std::fs::write(
        &own,
        "PROJCS[\"Kreis_Lambert\",GEOGCS[\"GCS_ETRS_1989\",DATUM[\"D_ETRS_1989\",\
         SPHEROID[\"GRS_1980\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],\
         UNIT[\"Degree\",0.0174532925199433]],PROJECTION[\"Lambert_Conformal_Conic\"],\
         PARAMETER[\"False_Easting\",0.0],PARAMETER[\"False_Northing\",0.0],\
         PARAMETER[\"Central_Meridian\",10.0],PARAMETER[\"Standard_Parallel_1\",52.0],\
         PARAMETER[\"Standard_Parallel_2\",54.0],PARAMETER[\"Latitude_Of_Origin\",53.0],\
         UNIT[\"Meter\",1.0]]",
    )
    .expect("prj");
    let out = dir.join("own.gpkg");
    let status = std::process::Command::new("ogr2ogr")
        .args(["-f", "GPKG"])
        .arg(&out)
        .arg(format!("/vsizip/{}", zip.display()))
        .arg("-a_srs")
        .arg(&own)
        .args(["-nlt", "PROMOTE_TO_MULTI"])
        .status()
        .expect("ogr2ogr");
    assert!(status.success());
    match db.try_ingest(IngestRequest::new(&out, "own")).await {
        Err(Error::Ingest(e @ IngestError::UnmatchedCrs(_))) => {
            assert!(e.to_string().contains("Kreis_Lambert"), "{e}");
            assert!(e.to_string().contains("--crs"), "{e}");
        }
        other => panic!("expected the CRS to be named as unmatched, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}
