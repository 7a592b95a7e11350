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

/// What the test changes in the Lauf extract, found in the file itself.
struct LaufElements {
    /// A named residential street: id, node list, tags.
    street: (i64, Vec<i64>, Vec<(String, String)>),
    /// A building way.
    building: i64,
    /// An address node and its housenumber.
    address_node: i64,
}

fn lauf_elements() -> LaufElements {
    use osmpbf::{Element, ElementReader};
    let mut street = None;
    let mut building = None;
    let mut address_node = None;
    ElementReader::from_path(fixture(crate::walk::LAUF))
        .unwrap()
        .for_each(|e| match e {
            Element::Way(w) => {
                let tags: Vec<(String, String)> = w
                    .tags()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let has =
                    |k: &str, v: &str| tags.iter().any(|t| t.0 == k && (v.is_empty() || t.1 == v));
                if street.is_none() && has("highway", "residential") && has("name", "") {
                    street = Some((w.id(), w.refs().collect(), tags.clone()));
                }
                if building.is_none() && has("building", "yes") && !has("addr:housenumber", "") {
                    building = Some(w.id());
                }
            }
            Element::DenseNode(n)
                if address_node.is_none() && n.tags().any(|(k, _)| k == "addr:housenumber") =>
            {
                address_node = Some(n.id());
            }
            _ => {}
        })
        .unwrap();
    LaufElements {
        street: street.expect("a named residential street"),
        building: building.expect("a building"),
        address_node: address_node.expect("an address node"),
    }
}

async fn count_where(db: &TestDb, dataset: &str, table_suffix: &str, filter: &str) -> i64 {
    let table = db.table_of(dataset).await;
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM data.\"{table}{table_suffix}\" WHERE {filter}"
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

fn extract_request(path: &std::path::Path) -> IngestRequest {
    IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(path, "osm-lauf")
    }
}

#[actix_web::test]
async fn an_extract_takes_change_files_through_its_kept_file() {
    let db = TestDb::new().await;
    let lauf = fixture(crate::walk::LAUF);
    let loaded = db
        .try_ingest(extract_request(&lauf))
        .await
        .expect("the extract");
    let elements = lauf_elements();
    let (street, refs, tags) = &elements.street;
    let (building, address) = (elements.building, elements.address_node);
    let buildings = count_where(&db, "osm-lauf", "", "layer = 'building'").await;
    let addresses = count_where(&db, "osm-lauf", "", "layer = 'address'").await;
    assert_eq!(
        count_where(
            &db,
            "osm-lauf",
            "",
            &format!("osm_type = 'way' AND osm_id = {building} AND layer = 'building'")
        )
        .await,
        1
    );
    assert_eq!(
        count_where(
            &db,
            "osm-lauf",
            "",
            &format!("osm_type = 'node' AND osm_id = {address} AND layer = 'address'")
        )
        .await,
        1
    );

    // A diff as the minutely ones are: the street renamed (the whole way, its nodes only
    // referenced), a building and an address deleted, a new footway from two new nodes to one of
    // the street's nodes, whose position only the extract holds.
    let mut street_xml = format!(r#"<way id="{street}" version="99">"#);
    for r in refs {
        street_xml.push_str(&format!(r#"<nd ref="{r}"/>"#));
    }
    for (k, v) in tags {
        let v = if k == "name" {
            "Teststraße"
        } else {
            v.as_str()
        };
        street_xml.push_str(&format!(
            r#"<tag k="{}" v="{}"/>"#,
            quick_xml::escape::escape(k),
            quick_xml::escape::escape(v)
        ));
    }
    street_xml.push_str("</way>");
    let first = refs[0];
    let osc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<osmChange version="0.6" generator="kreisgeo test">
  <modify>{street_xml}</modify>
  <create>
    <node id="9100000001" version="1" lat="49.5101" lon="11.2801"/>
    <node id="9100000002" version="1" lat="49.5111" lon="11.2811"/>
    <way id="9100000003" version="1"><nd ref="9100000001"/><nd ref="9100000002"/><nd ref="{first}"/><tag k="highway" v="footway"/></way>
  </create>
  <delete>
    <way id="{building}" version="5"/>
    <node id="{address}" version="5"/>
  </delete>
</osmChange>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.osc");
    std::fs::write(&one, &osc).unwrap();
    let report = db.try_ingest(extract_request(&one)).await.expect("applied");
    assert!(!report.unchanged);
    assert_eq!(report.format, "OsmChange");
    assert!(report.version > loaded.version);
    let details = report.details.clone().unwrap();
    let change = &details["change"];
    assert_eq!(change["change_file"]["ways"], 3, "{details}");
    assert_eq!(change["change_file"]["nodes"], 3, "{details}");
    assert_eq!(change["changes_applied"], 1, "{details}");
    assert_eq!(change["overlay_elements"], 6, "{details}");

    let renamed = count_where(
        &db,
        "osm-lauf",
        "",
        &format!(
            "osm_type = 'way' AND osm_id = {street} AND layer = 'road' AND name = 'Teststraße'"
        ),
    )
    .await;
    assert_eq!(
        renamed, 1,
        "the street, drawn from the extract's nodes, renamed"
    );
    assert_eq!(
        count_where(&db, "osm-lauf", "", "layer = 'building'").await,
        buildings - 1
    );
    assert_eq!(
        count_where(&db, "osm-lauf", "", "layer = 'address'").await,
        addresses - 1
    );
    assert_eq!(
        count_where(
            &db,
            "osm-lauf",
            "",
            &format!("osm_id = {building} AND osm_type = 'way'")
        )
        .await,
        0
    );
    // The new footway is in the walking network and ends on the street's first node.
    let table = db.table_of("osm-lauf").await;
    let (edges, touches): (i64, bool) = sqlx::query_as(&format!(
        "SELECT count(*), bool_or(ST_DWithin(w.geom::geography, s.start::geography, 0.01)) \
         FROM data.\"{table}_walk\" w, \
              (SELECT ST_StartPoint(geom) AS start FROM data.\"{table}_walk\" \
               WHERE osm_id = {street} ORDER BY fid LIMIT 1) s \
         WHERE w.osm_id = 9100000003"
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(edges >= 1, "the new footway is walkable");
    assert!(
        touches,
        "it reaches the street's node, placed by the extract"
    );

    // A second diff deletes the footway again; the first diff's changes stay.
    let two = dir.path().join("two.osc");
    std::fs::write(
        &two,
        r#"<osmChange version="0.6"><delete><way id="9100000003"/><node id="9100000001"/><node id="9100000002"/></delete></osmChange>"#,
    )
    .unwrap();
    let second = db.try_ingest(extract_request(&two)).await.expect("applied");
    assert!(!second.unchanged && second.version > report.version);
    assert_eq!(
        second.details.as_ref().unwrap()["change"]["changes_applied"],
        2
    );
    assert_eq!(
        count_where(&db, "osm-lauf", "_walk", "osm_id = 9100000003").await,
        0
    );
    assert_eq!(
        count_where(
            &db,
            "osm-lauf",
            "",
            &format!("osm_id = {street} AND name = 'Teststraße'")
        )
        .await,
        1
    );
    assert_eq!(
        count_where(&db, "osm-lauf", "", "layer = 'building'").await,
        buildings - 1
    );

    // The same diff once more changes nothing: no new version.
    let again = db
        .try_ingest(extract_request(&two))
        .await
        .expect("applied again");
    assert!(again.unchanged, "{again:?}");
    assert_eq!(again.version, second.version);

    // The planet minutely diff of 2017 touches nothing of Lauf's 2020 extract: every element
    // lies elsewhere, none is kept, no new version.
    let planet = db
        .try_ingest(extract_request(&fixture(
            "osm/planet-minutely-diff_2017-11-10T1349Z.osc",
        )))
        .await
        .expect("the planet diff");
    assert!(planet.unchanged, "{planet:?}");
    let outside = planet.details.as_ref().unwrap()["outside_the_extract"]
        .as_u64()
        .unwrap();
    assert!(outside > 4000, "{:?}", planet.details);

    // The extract file is kept once for all its versions; a newer load starts afresh.
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.osm_extracts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    let reloaded = db
        .try_ingest(extract_request(&lauf))
        .await
        .expect("reloaded");
    assert!(!reloaded.unchanged);
    assert_eq!(
        count_where(&db, "osm-lauf", "", "layer = 'building'").await,
        buildings
    );
    assert_eq!(
        count_where(
            &db,
            "osm-lauf",
            "",
            &format!("osm_id = {street} AND name = 'Teststraße'")
        )
        .await,
        0
    );

    // A version loaded before extracts were kept cannot take a change file: said so, and the
    // served version stays.
    sqlx::query("DELETE FROM catalog.osm_lineage WHERE version_id = $1")
        .bind(reloaded.version)
        .execute(&db.pool)
        .await
        .unwrap();
    let refused = db.try_ingest(extract_request(&one)).await.unwrap_err();
    assert!(
        refused.to_string().contains("load the extract once more"),
        "{refused}"
    );
    assert_eq!(active_version(&db, "osm-lauf").await, reloaded.version);
}
