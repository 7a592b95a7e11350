//! The AED coverage (issue 21): every address's walking metres to the nearest public
//! defibrillator accessible around the clock, and to the nearest open at a moment, equal
//! networkx's multi-source Dijkstra on a graph read independently from the PBF; the gap areas
//! hold exactly the addresses beyond the threshold; a new version of the defibrillators
//! recomputes it.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::common::{app, fixture, get_json, scratch_root, TestDb};
use crate::walk::{nodes, walk_check, LAUF};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::{IngestRequest, NoProgress};
use kreisgeo::routing::coverage::{self, Request};
use kreisgeo::routing::Walking;

/// networkx's metres from the nearest of `sources` to each of `targets`.
fn networkx_multi(sources: &[i64], targets: &[i64]) -> HashMap<i64, f64> {
    let pbf = fixture(LAUF);
    let sources: Vec<String> = sources.iter().map(ToString::to_string).collect();
    let mut args = vec![
        "multi".to_string(),
        pbf.to_str().unwrap().to_string(),
        sources.join(","),
    ];
    args.extend(targets.iter().map(ToString::to_string));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let found = walk_check(&refs);
    targets
        .iter()
        .filter_map(|t| found[t.to_string()].as_f64().map(|d| (*t, d)))
        .collect()
}

fn points(name: &str, features: Vec<Json>) -> std::path::PathBuf {
    let file = scratch_root().join(format!("{name}-{}.geojson", std::process::id()));
    std::fs::write(
        &file,
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    file
}

fn point(lon: f64, lat: f64, properties: Json) -> Json {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
           "properties": properties})
}

fn request(at: &str) -> Request {
    Request {
        dataset: "aed-coverage".into(),
        aed: "aed".into(),
        network: "osm".into(),
        addresses: Some("adressen".into()),
        threshold_min: 4.0,
        at: Some(chrono::NaiveDateTime::parse_from_str(at, coverage::AT_FORMAT).unwrap()),
        walking: Walking::default(),
        title: None,
    }
}

/// The address features of the coverage, by the node each was placed on (its house number).
async fn by_node(app: &impl crate::common::TestApp) -> HashMap<i64, Json> {
    let all = get_json(app, "/collections/aed-coverage/items?limit=1000").await;
    all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["part"] == "address")
        .map(|f| {
            let node = f["properties"]["house_number"].as_str().unwrap();
            (node.parse().unwrap(), f["properties"].clone())
        })
        .collect()
}

fn close(ours: f64, theirs: f64) -> bool {
    // Within 1 % (great circle against ellipsoid), and a metre of snapping.
    (ours - theirs).abs() <= theirs * 0.01 + 1.0
}

#[actix_web::test]
async fn every_address_walks_as_far_as_networkx_says_and_the_gaps_hold_those_beyond() {
    let all = nodes(96);
    let (aeds, homes) = all.split_at(6);
    let db = TestDb::new().await;
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(fixture(LAUF), "osm")
    })
    .await
    .expect("OSM");
    // Four around the clock, one on weekdays only, one private around the clock.
    let rules = [
        ("24/7", "yes"),
        ("24/7", "yes"),
        ("24/7", "yes"),
        ("24/7", "yes"),
        ("Mo-Fr 08:00-18:00", "yes"),
        ("24/7", "private"),
    ];
    let aed_features: Vec<Json> = aeds
        .iter()
        .zip(rules)
        .map(|(&(id, x, y), (hours, access))| {
            point(
                x,
                y,
                json!({"node": id, "opening_hours": hours, "access": access}),
            )
        })
        .collect();
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Aed,
        ..IngestRequest::new(points("coverage-aeds", aed_features), "aed")
    })
    .await
    .expect("AEDs");
    let home_features: Vec<Json> = homes
        .iter()
        .map(|&(id, x, y)| {
            point(
                x,
                y,
                json!({"strasse": "Teststraße", "hausnummer": id.to_string(),
                               "plz": "91207", "ort": "Lauf a.d.Pegnitz"}),
            )
        })
        .collect();
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Addresses,
        ..IngestRequest::new(points("coverage-homes", home_features), "adressen")
    })
    .await
    .expect("addresses");

    // Monday morning: the weekday one is open.
    let report = coverage::compute(&db.pool, &request("2026-12-07T10:00"), Arc::new(NoProgress))
        .await
        .expect("coverage");
    assert_eq!(report.address_count, homes.len());
    assert_eq!(report.not_public, 1);
    assert_eq!(report.around_the_clock.defibrillators, 4);
    assert_eq!(report.at_moment.defibrillators, 5);

    let ids: Vec<i64> = aeds.iter().map(|n| n.0).collect();
    let targets: Vec<i64> = homes.iter().map(|n| n.0).collect();
    let day_and_night = networkx_multi(&ids[..4], &targets);
    let monday = networkx_multi(&ids[..5], &targets);
    let with_private = networkx_multi(&ids, &targets);
    let app = app(&db).await;
    let found = by_node(&app).await;
    assert_eq!(found.len(), homes.len());
    let threshold_m = 4.0 * 5000.0 / 60.0;
    let (mut beyond, mut weekday_nearer, mut private_nearer) = (0, 0, 0);
    for node in &targets {
        let p = &found[node];
        let theirs = day_and_night[node];
        let ours = p["walk_m_24h"].as_f64().expect("walk_m_24h");
        assert!(close(ours, theirs), "{node}: {ours} m, networkx {theirs} m");
        let at = p["walk_m_at"].as_f64().expect("walk_m_at");
        assert!(
            close(at, monday[node]),
            "{node}: {at} m, networkx {} m",
            monday[node]
        );
        let minutes = p["minutes_24h"].as_f64().unwrap();
        assert!((minutes - ours / (5000.0 / 60.0)).abs() < 0.06);
        assert_eq!(p["beyond_threshold"], ours > threshold_m, "{node}: {p}");
        beyond += usize::from(ours > threshold_m);
        weekday_nearer += usize::from(monday[node] + 1.0 < theirs);
        private_nearer += usize::from(with_private[node] + 1.0 < theirs);
        assert_eq!(p["street"], "Teststraße");
    }
    // The cases that make the check mean something.
    assert!(
        weekday_nearer > 0,
        "the weekday defibrillator is nowhere the nearest"
    );
    assert!(
        private_nearer > 0,
        "the private defibrillator is nowhere the nearest"
    );
    assert!(beyond > 0 && beyond < targets.len(), "{beyond} beyond");
    assert_eq!(report.around_the_clock.beyond_threshold, beyond);

    // Each address beyond lies in exactly one gap area, and the areas count them.
    let table = db.table_of("aed-coverage").await;
    let (outside, counted, areas): (i64, Option<i64>, i64) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM data.\"{table}\" a WHERE a.part = 'address' AND a.beyond_threshold \
                  AND (SELECT count(*) FROM data.\"{table}\" g \
                       WHERE g.part = 'gap' AND ST_Intersects(g.geom, a.geom)) <> 1), \
                (SELECT sum(addresses)::bigint FROM data.\"{table}\" WHERE part = 'gap'), \
                (SELECT count(*) FROM data.\"{table}\" WHERE part = 'gap')"
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(outside, 0);
    assert_eq!(counted, Some(beyond as i64));
    assert_eq!(areas as usize, report.gap_areas);

    // Published like any dataset: its kind, the ODbL of the network it is derived from.
    let collection = get_json(&app, "/collections/aed-coverage").await;
    assert_eq!(collection["kind"], "coverage", "{collection}");
    let (status, _, dataset) = crate::common::get(&app, "/catalog/datasets/aed-coverage.ttl").await;
    assert_eq!(status, 200);
    let dataset = String::from_utf8(dataset).unwrap();
    assert!(
        dataset.contains("http://dcat-ap.de/def/licenses/odbl"),
        "{dataset}"
    );

    // A defibrillator hung at the farthest address: the coverage follows the new version.
    let (far, _) = targets
        .iter()
        .map(|n| (*n, found[n]["walk_m_24h"].as_f64().unwrap()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let &(_, x, y) = homes.iter().find(|h| h.0 == far).unwrap();
    let mut more: Vec<Json> = aeds
        .iter()
        .zip(rules)
        .map(|(&(id, x, y), (hours, access))| {
            point(
                x,
                y,
                json!({"node": id, "opening_hours": hours, "access": access}),
            )
        })
        .collect();
    more.push(point(x, y, json!({"node": far, "opening_hours": "24/7"})));
    let before = report.ingest.version;
    let ingested = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Aed,
            ..IngestRequest::new(points("coverage-aeds-2", more), "aed")
        })
        .await
        .expect("AEDs v2");
    assert_eq!(ingested.recomputed.len(), 1, "{:?}", ingested.recomputed);
    assert_eq!(ingested.recomputed[0].dataset, "aed-coverage");
    assert!(ingested.recomputed[0].version.unwrap() > before);
    let app = crate::common::app(&db).await;
    let now = by_node(&app).await;
    assert!(
        now[&far]["walk_m_24h"].as_f64().unwrap() < 1.0,
        "{}",
        now[&far]
    );
}

#[actix_web::test]
async fn coverage_of_the_wrong_datasets_says_which() {
    let db = TestDb::new().await;
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(fixture(LAUF), "osm")
    })
    .await
    .expect("OSM");
    let file = points(
        "coverage-one",
        vec![point(11.28, 49.51, json!({"opening_hours": "24/7"}))],
    );
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Aed,
        ..IngestRequest::new(file, "aed")
    })
    .await
    .expect("AED");
    for (req, parameter) in [
        (
            Request {
                aed: "osm".into(),
                ..request("2026-12-07T10:00")
            },
            "aed",
        ),
        (
            Request {
                network: "aed".into(),
                ..request("2026-12-07T10:00")
            },
            "network",
        ),
        (request("2026-12-07T10:00"), "addresses"),
        (
            Request {
                threshold_min: 0.0,
                ..request("2026-12-07T10:00")
            },
            "threshold",
        ),
    ] {
        match coverage::compute(&db.pool, &req, Arc::new(NoProgress)).await {
            Err(kreisgeo::Error::InvalidParameter { parameter: p, .. }) => {
                assert_eq!(p, parameter);
            }
            other => panic!("{parameter}: {other:?}"),
        }
    }
    // The network's own addresses serve when none are named.
    let report = coverage::compute(
        &db.pool,
        &Request {
            addresses: None,
            ..request("2026-12-07T10:00")
        },
        Arc::new(NoProgress),
    )
    .await
    .expect("coverage of the OSM addresses");
    assert_eq!(report.address_count, 5423);
}
