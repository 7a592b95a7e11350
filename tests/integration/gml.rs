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
            "cycle.gml",
            format!(
                "{HEAD}{}</wfs:FeatureCollection>",
                member(
                    "Schule",
                    "s1",
                    r##"<gml:LineString gml:id="l" srsName="EPSG:25832"><gml:pointProperty xlink:href="#l"/></gml:LineString>"##
                )
            ),
            &["nested deeper"],
        ),
        (
            "arcs.gml",
            format!(
                "{HEAD}{}</wfs:FeatureCollection>",
                member(
                    "Schule",
                    "s1",
                    r#"<gml:Curve srsName="EPSG:25832"><gml:segments><gml:ArcByCenterPoint numArc="1"><gml:pos>0 0</gml:pos><gml:radius uom="m">1e9</gml:radius><gml:startAngle>0</gml:startAngle><gml:endAngle>1e9</gml:endAngle></gml:ArcByCenterPoint></gml:segments></gml:Curve>"#
                )
            ),
            &["at most 360°", "gml:ArcByCenterPoint"],
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

/// Polygon id, 3D area, footprint area, tilt, azimuth, building id, roof type.
type RoofRow = (String, f64, f64, f64, Option<f64>, String, Option<String>);

/// The four 1 km LoD2 tiles of Wesel (../shared/data/lod2, 10 MB: not copied into fixtures).
fn lod2_tiles() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/lod2");
    let mut tiles: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the shared data belongs beside the repository)",
                dir.display()
            )
        })
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gml"))
        .collect();
    tiles.sort();
    assert_eq!(tiles.len(), 4, "{}", dir.display());
    tiles
}

#[actix_web::test]
async fn citygml_tiles_give_every_building_and_roof_once_with_its_geometry() {
    let db = TestDb::new().await;
    let tiles = lod2_tiles();
    let expected = reference("lod2", &tiles);

    // The tiles as one directory, each building once.
    let dir = tiles[0].parent().expect("dir").to_path_buf();
    let report = db
        .try_ingest(request(dir, "gebaeude", DatasetKind::Buildings, None))
        .await
        .expect("buildings");
    assert_eq!(report.features, expected["buildings"].as_u64().unwrap());
    let table = db.table_of("gebaeude").await;
    let (buildings, parts, roofs, addresses, srid, gemeinde): (i64, i64, i64, i64, i32, i64) =
        sqlx::query_as(&format!(
            "SELECT count(*), sum(parts)::bigint, sum(roof_polygons)::bigint, \
             sum(jsonb_array_length(addresses))::bigint, min(ST_SRID(geom)), \
             count(*) FILTER (WHERE gemeindeschluessel = '05170048') FROM data.\"{table}\""
        ))
        .fetch_one(&db.pool)
        .await
        .expect("counts");
    assert_eq!(buildings, 476);
    assert_eq!(parts, expected["building_parts"].as_i64().unwrap());
    assert_eq!(roofs, expected["roof_polygons"].as_i64().unwrap());
    assert_eq!(addresses, expected["addresses"].as_i64().unwrap());
    assert_eq!(srid, 25832, "the compound URN's horizontal CRS");
    assert_eq!(gemeinde, 476, "the key stays text with its zero");
    // The footprint of a building with parts is one outline.
    let invalid: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM data.\"{table}\" WHERE NOT ST_IsValid(geom) OR ST_Area(geom) <= 0"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("validity");
    assert_eq!(invalid, 0);

    // The same tiles with one given twice (a building overhanging two tiles is in both): no
    // building twice.
    let mut twice = tiles.clone();
    twice.push(tiles[1].clone());
    let report = db
        .try_ingest(IngestRequest {
            read: kreisgeo::ingest::formats::ReadOptions {
                more_files: twice[1..].to_vec(),
                ..Default::default()
            },
            ..request(twice[0].clone(), "gebaeude2", DatasetKind::Buildings, None)
        })
        .await
        .expect("tiles with a repeat");
    assert_eq!(report.features, 476);

    // One roof polygon each, in 3D, with the area, tilt and azimuth an independent reading
    // computes.
    let report = db
        .try_ingest(IngestRequest {
            read: kreisgeo::ingest::formats::ReadOptions {
                more_files: tiles[1..].to_vec(),
                ..Default::default()
            },
            ..request(tiles[0].clone(), "daecher", DatasetKind::Roofs, None)
        })
        .await
        .expect("roofs");
    assert_eq!(report.features, 1126);
    assert!(report.has_z);
    let table = db.table_of("daecher").await;
    let rows: Vec<RoofRow> = sqlx::query_as(&format!(
        "SELECT polygon_id, area_3d, footprint_area, tilt, azimuth, building_id, roof_type \
             FROM data.\"{table}\" WHERE ST_Z(ST_PointN(ST_ExteriorRing(geom), 1)) > 0"
    ))
    .fetch_all(&db.pool)
    .await
    .expect("roofs");
    assert_eq!(rows.len(), 1126, "every roof keeps its heights");
    let by_id: std::collections::HashMap<&str, &Json> = expected["roofs"]
        .as_array()
        .expect("roofs")
        .iter()
        .map(|r| (r["polygon_id"].as_str().expect("polygon id"), r))
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * b.abs().max(1e-9) + 1e-9;
    for (id, area, footprint, tilt, azimuth, building, roof_type) in &rows {
        let want = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} not in the reference"));
        assert_eq!(want["building_id"].as_str(), Some(building.as_str()));
        assert!(
            close(*area, want["area_3d"].as_f64().unwrap()),
            "{id}: area {area} vs {}",
            want["area_3d"]
        );
        assert!(
            close(*footprint, want["footprint_area"].as_f64().unwrap()),
            "{id}: footprint {footprint} vs {}",
            want["footprint_area"]
        );
        assert!(
            (tilt - want["tilt"].as_f64().unwrap()).abs() < 0.1,
            "{id}: tilt {tilt} vs {}",
            want["tilt"]
        );
        if let (Some(a), Some(b)) = (azimuth, want["azimuth"].as_f64()) {
            let d = (a - b).rem_euclid(360.0);
            assert!(
                d.min(360.0 - d) < 0.1 || *tilt < 1.0,
                "{id}: azimuth {a} vs {b}"
            );
        }
        assert!(
            roof_type.is_some(),
            "{id}: a part inherits its building's roof type"
        );
    }
}

/// A zip of `entries` (name, bytes), deflated.
fn zip_of(name: &str, entries: &[(&str, Vec<u8>)]) -> PathBuf {
    use std::io::Write;
    let path = scratch_root().join(name);
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (entry, bytes) in entries {
        out.start_file(*entry, options).expect("start");
        out.write_all(bytes).expect("write");
    }
    out.finish().expect("finish");
    path
}

#[actix_web::test]
async fn a_zip_of_tiles_is_one_dataset_and_a_hostile_zip_changes_nothing() {
    let db = TestDb::new().await;
    let tiles = lod2_tiles();
    let read = |p: &PathBuf| std::fs::read(p).expect("tile");
    // Entry names are the sender's: one climbs out of any directory; it is unpacked under a
    // name kreisgeo chooses.
    let zip = zip_of(
        "wesel.zip",
        &[
            ("LoD2/a.gml", read(&tiles[0])),
            ("../../b.gml", read(&tiles[1])),
            ("readme.txt", b"dl-de/zero-2.0".to_vec()),
        ],
    );
    let report = db
        .try_ingest(request(zip, "zip_roofs", DatasetKind::Roofs, None))
        .await
        .expect("zip of tiles");
    let expected = reference("lod2", &tiles[..2]);
    assert_eq!(report.features, expected["roof_polygons"].as_u64().unwrap());
    assert!(!scratch_root()
        .parent()
        .expect("parent")
        .join("b.gml")
        .exists());
    let table = db.table_of("zip_roofs").await;

    // 64 MiB of one repeated element deflate to well under a MiB.
    let mut bomb = HEAD.as_bytes().to_vec();
    let point = member("Schule", "s", POINT);
    while bomb.len() < 64 << 20 {
        bomb.extend_from_slice(point.as_bytes());
    }
    let bomb = zip_of("bomb.zip", &[("bomb.gml", bomb)]);
    assert!(std::fs::metadata(&bomb).expect("size").len() < 1 << 20);
    let err = db
        .try_ingest(request(bomb, "zip_roofs", DatasetKind::Roofs, None))
        .await
        .expect_err("a zip bomb");
    assert!(err.to_string().contains("zip bomb"), "{err}");
    assert_eq!(db.table_of("zip_roofs").await, table);
}

#[actix_web::test]
async fn gml2_and_wfs_1_1_answers_are_read_too() {
    let db = TestDb::new().await;
    // GML 2 (WFS 1.0): coordinates tuples, outer and inner boundaries, featureMember.
    let gml2 = gml(
        "wfs10.gml",
        r#"<?xml version="1.0"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml" xmlns:k="urn:example:kreis">
<gml:featureMember><k:See fid="see.1"><k:name>Großer See</k:name><k:the_geom>
<gml:Polygon srsName="http://www.opengis.net/gml/srs/epsg.xml#25832">
<gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>0,0 100,0 100,100 0,100 0,0</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs>
<gml:innerBoundaryIs><gml:LinearRing><gml:coordinates>10,10 10,20 20,20 20,10 10,10</gml:coordinates></gml:LinearRing></gml:innerBoundaryIs>
</gml:Polygon></k:the_geom></k:See></gml:featureMember>
</wfs:FeatureCollection>"#,
    );
    // GML 3.1 (WFS 1.1): featureMembers, latitude first in the URN form of EPSG:4258.
    let gml31 = gml(
        "wfs11.gml",
        r#"<?xml version="1.0"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml" xmlns:k="urn:example:kreis">
<gml:featureMembers>
<k:Aed gml:id="a1"><k:ort>Rathaus</k:ort><k:lage><gml:Point srsName="urn:ogc:def:crs:EPSG::4258"><gml:pos>53.25 10.41</gml:pos></gml:Point></k:lage></k:Aed>
<k:Aed gml:id="a2"><k:ort>Bahnhof</k:ort><k:lage><gml:Point srsName="urn:ogc:def:crs:EPSG::4258"><gml:pos>53.24 10.42</gml:pos></gml:Point></k:lage></k:Aed>
</gml:featureMembers>
</wfs:FeatureCollection>"#,
    );
    db.try_ingest(request(gml2, "see", DatasetKind::Generic, None))
        .await
        .expect("GML 2");
    let table = db.table_of("see").await;
    let (area, name): (f64, String) =
        sqlx::query_as(&format!("SELECT ST_Area(geom), name FROM data.\"{table}\""))
            .fetch_one(&db.pool)
            .await
            .expect("lake");
    assert!((area - 9900.0).abs() < 1e-9, "{area}");
    assert_eq!(name, "Großer See");
    db.try_ingest(request(gml31, "aed_wfs", DatasetKind::Generic, None))
        .await
        .expect("GML 3.1");
    let table = db.table_of("aed_wfs").await;
    let points: Vec<(f64, f64, i32)> = sqlx::query_as(&format!(
        "SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM data.\"{table}\" ORDER BY fid"
    ))
    .fetch_all(&db.pool)
    .await
    .expect("points");
    assert_eq!(points, [(10.41, 53.25, 4258), (10.42, 53.24, 4258)]);
}

#[actix_web::test]
async fn the_cli_loads_several_tiles_and_a_nas_layer_in_one_call() {
    let db = TestDb::new().await;
    let tiles = lod2_tiles();
    let out = Command::new(env!("CARGO_BIN_EXE_kreisgeo"))
        .env("DATABASE_URL", &db.url)
        .args(["ingest"])
        .args(&tiles[2..])
        .args(["--dataset", "roofs", "--kind", "roofs", "--json"])
        .output()
        .expect("run ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Json = serde_json::from_slice(&out.stdout).expect("JSON report");
    let expected = reference("lod2", &tiles[2..]);
    assert_eq!(report["features"], expected["roof_polygons"]);
    assert_eq!(report["format"], "GML");
    assert_eq!(report["has_z"], true);

    let out = Command::new(env!("CARGO_BIN_EXE_kreisgeo"))
        .env("DATABASE_URL", &db.url)
        .args(["ingest"])
        .arg(fixture("nas/AX_Gebaeude.xml"))
        .args([
            "--dataset",
            "alkis_gebaeude",
            "--kind",
            "buildings",
            "--json",
        ])
        .output()
        .expect("run ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Json = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["features"], 1);
    assert_eq!(report["source_crs"], 25832);
    let columns: Vec<&str> = report["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(columns.contains(&"gebaeudefunktion"), "{columns:?}");
}

#[actix_web::test]
async fn lagebezeichnungen_and_house_coordinates_load_as_addresses() {
    let db = TestDb::new().await;
    // NAS: the kind chooses the AX_Lagebezeichnung* types; the street written out is `street`.
    db.try_ingest(request(
        fixture("nas/AX_LagebezeichnungOhneHausnummer.xml"),
        "lagebezeichnungen",
        DatasetKind::Addresses,
        Some(25832),
    ))
    .await
    .expect("NAS addresses");
    let table = db.table_of("lagebezeichnungen").await;
    let street: String = sqlx::query_scalar(&format!("SELECT street FROM data.\"{table}\""))
        .fetch_one(&db.pool)
        .await
        .expect("street");
    assert_eq!(street, "Katzenlochbach");
    // A WFS page of official house coordinates: STRNAME, HSNR and HSNRZU as the profile's.
    db.try_ingest(request(
        fixture("wfs/essen_hauskoordinaten_wfs_page000.gml"),
        "adressen",
        DatasetKind::Addresses,
        None,
    ))
    .await
    .expect("house coordinates");
    let table = db.table_of("adressen").await;
    let (n, numbered, suffixed): (i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(house_number), count(house_number_suffix) FROM data.\"{table}\" \
         WHERE street IS NOT NULL"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("addresses");
    // PROVENANCE.md: 1,000 features, 34 without HSNR, 69 with HSNRZU.
    assert_eq!((n, numbered, suffixed), (1000, 966, 69));
}
