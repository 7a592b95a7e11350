//! OsmChange files applied to a dataset of OSM nodes (issue 22): the Swiss AEDs from an
//! Overpass answer, changed by a hand-written diff (a defibrillator moved and retagged, one
//! retagged as something else, one deleted, one created, a bench created, a way) and by the
//! real planet minutely diff (which holds no defibrillator); hostile and unfit files refused.

use std::io::Write;

use serde_json::Value as Json;

use crate::common::{app, fixture, get_json, TestDb};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::IngestRequest;

async fn active_version(db: &TestDb, dataset: &str) -> i64 {
    sqlx::query_scalar("SELECT active_version FROM catalog.datasets WHERE id = $1")
        .bind(dataset)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn request(path: &std::path::Path) -> IngestRequest {
    IngestRequest {
        kind: DatasetKind::Aed,
        ..IngestRequest::new(path, "aed-osm")
    }
}

#[actix_web::test]
async fn an_osm_change_file_is_applied_as_a_new_version() {
    let db = TestDb::new().await;
    db.ingest(
        "aed_osm_switzerland_2020-12_extract.overpass.json",
        "aed-osm",
        DatasetKind::Aed,
    )
    .await;
    let overpass: Json = serde_json::from_slice(
        &std::fs::read(fixture("aed_osm_switzerland_2020-12_extract.overpass.json")).unwrap(),
    )
    .unwrap();
    let nodes: Vec<i64> = overpass["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "node")
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let (moved, retagged, deleted) = (nodes[0], nodes[1], nodes[2]);
    let before = active_version(&db, "aed-osm").await;

    let osc = format!(
        r#"<?xml version='1.0' encoding='UTF-8'?>
<osmChange version="0.6" generator="kreisgeo test">
  <modify>
    <node id="{moved}" version="9" lat="47.5" lon="8.5">
      <tag k="emergency" v="defibrillator"/>
      <tag k="defibrillator:location" v="Neu: Eingang S&#252;d"/>
      <tag k="opening_hours" v="24/7"/>
    </node>
    <node id="{retagged}" version="9" lat="47.2518275" lon="7.6454615">
      <tag k="amenity" v="bench"/>
    </node>
  </modify>
  <create>
    <node id="9000000001" version="1" lat="46.95" lon="7.44">
      <tag k="emergency" v="defibrillator"/>
      <tag k="operator" v="Gemeinde Bern"/>
    </node>
    <node id="9000000002" version="1" lat="46.96" lon="7.45"><tag k="amenity" v="bench"/></node>
    <way id="1" version="1"><nd ref="9000000001"/><nd ref="9000000002"/><tag k="highway" v="footway"/></way>
  </create>
  <delete>
    <node id="{deleted}" version="10" lat="0" lon="0"/>
  </delete>
</osmChange>
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("change.osc");
    std::fs::write(&path, &osc).unwrap();
    let report = db.try_ingest(request(&path)).await.expect("applied");
    assert!(!report.unchanged);
    assert_eq!(report.format, "OsmChange");
    let details = report.details.clone().unwrap();
    assert_eq!(
        (
            &details["created"],
            &details["modified"],
            &details["deleted"],
            &details["not_in_dataset"],
            &details["other_elements"]
        ),
        (
            &Json::from(1),
            &Json::from(1),
            &Json::from(2),
            &Json::from(1),
            &Json::from(1)
        ),
        "{details}"
    );
    assert!(report.version > before);

    let app = app(&db).await;
    let page = get_json(&app, "/collections/aed-osm/items?limit=1000").await;
    let features = page["features"].as_array().unwrap();
    assert_eq!(features.len(), nodes.len() - 2 + 1);
    let by_id = |id: i64| {
        features
            .iter()
            .find(|f| f["properties"]["osm_id"] == id)
            .cloned()
    };
    let m = by_id(moved).expect("the moved AED");
    assert_eq!(m["geometry"]["coordinates"], serde_json::json!([8.5, 47.5]));
    assert_eq!(
        m["properties"]["defibrillator_location"],
        "Neu: Eingang Süd"
    );
    assert!(by_id(retagged).is_none(), "no longer an AED");
    assert!(by_id(deleted).is_none());
    let created = by_id(9_000_000_001).expect("the new AED");
    assert_eq!(created["properties"]["operator"], "Gemeinde Bern");
    assert!(by_id(9_000_000_002).is_none(), "a bench");
    // Untouched features keep their attributes.
    let other = &overpass["elements"][3];
    let kept = by_id(other["id"].as_i64().unwrap()).unwrap();
    assert_eq!(
        kept["properties"]["defibrillator_location"],
        other["tags"]["defibrillator:location"]
    );

    // The same change again, gzipped: the same features, no new version.
    // Named as an upload keeps it: only the last extension.
    let gz = dir.path().join("upload.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(osc.as_bytes()).unwrap();
    enc.finish().unwrap();
    let again = db.try_ingest(request(&gz)).await.expect("applied again");
    assert!(again.unchanged, "{again:?}");
    assert_eq!(again.version, report.version);

    // The real planet minutely diff: thousands of nodes, none a defibrillator here.
    let planet = db
        .try_ingest(request(&fixture(
            "osm/planet-minutely-diff_2017-11-10T1349Z.osc",
        )))
        .await
        .expect("the planet diff");
    assert!(planet.unchanged);
    let details = planet.details.unwrap();
    assert!(
        details["not_in_dataset"].as_u64().unwrap() > 4000,
        "{details}"
    );
    assert!(
        details["other_elements"].as_u64().unwrap() > 200,
        "{details}"
    );
    assert_eq!(active_version(&db, "aed-osm").await, report.version);

    // Hostile or unfit: refused, the served version stays.
    let doctype = dir.path().join("entities.osc");
    std::fs::write(
        &doctype,
        r#"<?xml version="1.0"?><!DOCTYPE osmChange [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><osmChange version="0.6"><create><node id="1" lat="1" lon="1"><tag k="emergency" v="&b;"/></node></create></osmChange>"#,
    )
    .unwrap();
    let refused = db.try_ingest(request(&doctype)).await.unwrap_err();
    assert!(refused.to_string().contains("DOCTYPE"), "{refused}");
    let bomb = dir.path().join("broken.osc");
    std::fs::write(
        &bomb,
        r#"<osmChange version="0.6"><modify><node id="x" lat="1" lon="1"/></modify></osmChange>"#,
    )
    .unwrap();
    let refused = db.try_ingest(request(&bomb)).await.unwrap_err();
    assert!(refused.to_string().contains("numeric id"), "{refused}");
    assert_eq!(active_version(&db, "aed-osm").await, report.version);

    // A dataset that is not OpenStreetMap's: said so.
    db.ingest("aed_koeln.geojson", "aed-koeln", DatasetKind::Aed)
        .await;
    let not_osm = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Aed,
            ..IngestRequest::new(&path, "aed-koeln")
        })
        .await
        .unwrap_err();
    assert!(not_osm.to_string().contains("osm_type"), "{not_osm}");
    // No dataset yet: said so.
    let none = db
        .try_ingest(IngestRequest::new(&path, "aed-neu"))
        .await
        .unwrap_err();
    assert!(none.to_string().contains("no version yet"), "{none}");
}
