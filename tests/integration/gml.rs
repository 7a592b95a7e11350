//! GML as the survey office and other authorities deliver it (issue 18): a WFS 2.0 page read as
//! GDAL reads it, ALKIS NAS with the Flurstückskennzeichen and true arc areas, checked against
//! an independent reading (`tests/support/gml_check.py`, Python's xml.etree) and `ogr2ogr`;
//! hostile and malformed files refused with the element at fault, the served data untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::common::{fixture, scratch_root, TestDb};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::{IngestError, IngestRequest};
use kreisgeo::Error;

/// What the independent reader says of `files`.
fn reference(command: &str, files: &[PathBuf]) -> Json {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gml_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(command)
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "gml_check.py {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from gml_check.py")
}

fn request(file: PathBuf, dataset: &str, kind: DatasetKind, crs: Option<i32>) -> IngestRequest {
    IngestRequest {
        kind,
        crs,
        ..IngestRequest::new(file, dataset)
    }
}

#[actix_web::test]
async fn a_wfs_page_gives_the_points_gdal_reads_easting_first() {
    let db = TestDb::new().await;
    let file = fixture("wfs/essen_hauskoordinaten_wfs_page000.gml");
    let report = db
        .try_ingest(request(
            file.clone(),
            "hauskoordinaten",
            DatasetKind::Generic,
            None,
        ))
        .await
        .expect("ingest");
    assert_eq!(report.features, 1000);
    let table = db.table_of("hauskoordinaten").await;
    // Column names are folded to lower case by the ingest.
    let rows: Vec<(i64, i32, f64, f64, Option<String>)> = sqlx::query_as(&format!(
        "SELECT objectid, ST_SRID(geom), ST_X(geom), ST_Y(geom), strname \
         FROM data.\"{table}\" ORDER BY fid"
    ))
    .fetch_all(&db.pool)
    .await
    .expect("rows");
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r.1 == 4647), "EPSG:102329 is EPSG:4647");
    assert_eq!(rows[0].4.as_deref(), Some("### Straßenname unbekannt"));

    // GDAL reads the positions as written (northing first, CRS unknown); kreisgeo puts the
    // easting first, as EPSG:4647 defines. The GML copy keeps GDAL's .gfs out of fixtures/.
    let copy = scratch_root().join("essen_page.gml");
    std::fs::copy(&file, &copy).expect("copy");
    let out = Command::new("ogr2ogr")
        .args(["-f", "CSV", "/vsistdout/"])
        .arg(&copy)
        .args(["-lco", "GEOMETRY=AS_XY", "-select", "OBJECTID"])
        .output()
        .expect("ogr2ogr runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    let gdal: Vec<(i64, f64, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[2].trim_matches('"').parse().expect("OBJECTID"),
                f[0].parse().expect("X"),
                f[1].parse().expect("Y"),
            )
        })
        .collect();
    assert_eq!(gdal.len(), 1000);
    for ((id, _, x, y, _), (gid, gx, gy)) in rows.iter().zip(&gdal) {
        assert_eq!(id, gid);
        assert!(
            (x - gy).abs() < 1e-6 && (y - gx).abs() < 1e-6,
            "{id}: {x} {y} vs GDAL {gx} {gy}"
        );
    }
    // And as the independent reader has them.
    let points = reference("points", &[file]);
    assert_eq!(points["count"], 1000);
    for (row, p) in rows
        .iter()
        .zip(points["points"].as_array().expect("points"))
    {
        assert!((row.2 - p[0].as_f64().unwrap()).abs() < 1e-6);
        assert!((row.3 - p[1].as_f64().unwrap()).abs() < 1e-6);
    }
}

#[actix_web::test]
async fn nas_parcels_get_their_kennzeichen_and_arcs_their_true_area() {
    let db = TestDb::new().await;
    let files = [
        fixture("nas/AX_Flurstueck.xml"),
        fixture("nas/nrw_ax_flurstueck_wfs_DENW21AL100077H6.gml"),
    ];
    let expected = reference("flurstueck", &files);
    for (i, file) in files.iter().enumerate() {
        let dataset = format!("flurstuecke{i}");
        db.try_ingest(request(file.clone(), &dataset, DatasetKind::Parcels, None))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let table = db.table_of(&dataset).await;
        let (kennzeichen, gemarkung, land, srid): (String, String, String, i32) =
            sqlx::query_as(&format!(
                "SELECT flurstueckskennzeichen, gemarkung::text, gemarkung_land, ST_SRID(geom) \
                 FROM data.\"{table}\""
            ))
            .fetch_one(&db.pool)
            .await
            .expect("parcel");
        let want = &expected[i];
        assert_eq!(
            kennzeichen,
            want["flurstueckskennzeichen"].as_str().unwrap()
        );
        assert_eq!(kennzeichen.len(), 20);
        assert_eq!(land, want["land"].as_str().unwrap(), "zero kept");
        assert_eq!(gemarkung, want["gemarkungsnummer"].as_str().unwrap());
        assert_eq!(srid, 25832);
    }

    // Curve segments: every ring edge a gml:Curve of its own, some of them circular arcs.
    let files = [
        fixture("nas/AX_Wald.xml"),
        fixture("nas/AX_Wohnbauflaeche.xml"),
    ];
    let exact = reference("arcs", &files);
    for (i, file) in files.iter().enumerate() {
        let dataset = format!("flaeche{i}");
        // These slices name no CRS: the survey office's is given, as a county would.
        db.try_ingest(request(
            file.clone(),
            &dataset,
            DatasetKind::Generic,
            Some(25832),
        ))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let table = db.table_of(&dataset).await;
        let area: f64 = sqlx::query_scalar(&format!("SELECT ST_Area(geom) FROM data.\"{table}\""))
            .fetch_one(&db.pool)
            .await
            .expect("area");
        let feature = &exact["features"][i];
        let true_area = feature["exact_area"].as_f64().unwrap();
        let chords = feature["chord_area"].as_f64().unwrap();
        assert!(
            (area - true_area).abs() / true_area < 1e-3,
            "{}: {area} m² vs exactly {true_area} m²",
            file.display()
        );
        // Closer to the true area by far than straight lines through the arcs' points.
        assert!(
            (area - true_area).abs() < (chords - true_area).abs() / 5.0,
            "{}: {area} m², exactly {true_area}, chords {chords}",
            file.display()
        );
    }
}

/// Writes `text` as a GML file of the test's scratch directory.
fn gml(name: &str, text: &str) -> PathBuf {
    let path = scratch_root().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:k="urn:example:kreis">"#;

fn member(kind: &str, id: &str, geometry: &str) -> String {
    format!(
        r#"<wfs:member><k:{kind} gml:id="{id}"><k:name>{id}</k:name><k:geom>{geometry}</k:geom></k:{kind}></wfs:member>"#
    )
}

const POINT: &str = r#"<gml:Point srsName="urn:ogc:def:crs:EPSG::25832"><gml:pos>593000 5900000</gml:pos></gml:Point>"#;

#[actix_web::test]
async fn bad_gml_is_refused_with_the_element_at_fault_and_nothing_changes() {
    let db = TestDb::new().await;
    let good = gml(
        "good.gml",
        &format!(
            "{HEAD}{}{}</wfs:FeatureCollection>",
            member("Schule", "s1", POINT),
            member("Schule", "s2", POINT)
        ),
    );
    db.try_ingest(request(good, "schulen", DatasetKind::Generic, None))
        .await
        .expect("good file");
    let table = db.table_of("schulen").await;

    let parse_error = |e: Error| match e {
        Error::Ingest(IngestError::Parse { message } | IngestError::Feature { message, .. }) => {
            message
        }
        other => panic!("expected a parse error, got {other:?}"),
    };
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "entities.gml",
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\n{}{}</wfs:FeatureCollection>",
                &HEAD[HEAD.find("<wfs").unwrap()..],
                member("Schule", "s1", "&lol2;")
            ),
            &["line 2", "DOCTYPE"],
        ),
        (
            "unbound.gml",
            format!("{HEAD}\n{}</wfs:FeatureCollection>", member("Schule", "s1", "<x:Point/>")),
            &["line 3", "prefix 'x'"],
        ),
        (
            "ringless.gml",
            format!(
                "{HEAD}\n{}\n{}</wfs:FeatureCollection>",
                member("Schule", "s1", POINT),
                member("Schule", "s2", r#"<gml:Polygon srsName="EPSG:25832"></gml:Polygon>"#)
            ),
            &["line 4", "gml:Polygon", "s2", "without exterior"],
        ),
        (
            "xlink.gml",
            format!(
                "{HEAD}\n{}</wfs:FeatureCollection>",
                member(
                    "Schule",
                    "s1",
                    r##"<gml:MultiSurface srsName="EPSG:25832"><gml:surfaceMember xlink:href="#nowhere"/></gml:MultiSurface>"##
                )
            ),
            &["xlink:href=\"#nowhere\"", "s1"],
        ),
        (
            "truncated.gml",
            format!("{HEAD}\n{}<wfs:member><k:Schule gml:id=\"s2\">", member("Schule", "s1", POINT)),
            &["ends inside"],
        ),
        (
            "two_types.gml",
            format!(
                "{HEAD}{}{}{}</wfs:FeatureCollection>",
                member("Schule", "s1", POINT),
                member("Kita", "k1", POINT),
                member("Kita", "k2", POINT)
            ),
            &["Kita (2)", "Schule (1)", "--layer"],
        ),
        (
            "srs.gml",
            format!(
                "{HEAD}{}</wfs:FeatureCollection>",
                member("Schule", "s1", r#"<gml:Point srsName="urn:example:mars"><gml:pos>1 2</gml:pos></gml:Point>"#)
            ),
            &["unknown srsName \"urn:example:mars\"", "--crs"],
        ),
    ];
    for (name, text, said) in cases {
        let err = db
            .try_ingest(request(
                gml(name, &text),
                "schulen",
                DatasetKind::Generic,
                None,
            ))
            .await
            .expect_err(name);
        let message = parse_error(err);
        for s in said {
            assert!(message.contains(s), "{name}: {message:?} should say {s:?}");
        }
        assert_eq!(
            db.table_of("schulen").await,
            table,
            "{name} changed the served version"
        );
    }

    // The layer chosen, the other type left out.
    let two = scratch_root().join("two_types.gml");
    let report = db
        .try_ingest(IngestRequest {
            read: kreisgeo::ingest::formats::ReadOptions {
                layer: Some("Kita".into()),
                ..Default::default()
            },
            ..request(two, "kitas", DatasetKind::Generic, None)
        })
        .await
        .expect("--layer Kita");
    assert_eq!(report.features, 2);
}
