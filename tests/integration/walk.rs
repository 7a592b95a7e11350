//! The nearest defibrillators on foot (issue 21): walking distances over the OSM walking
//! network with pgRouting, checked against networkx's Dijkstra on a graph read independently
//! from the PBF (`tests/support/walk_check.py`, pyosmium); a start where the straight-line
//! nearest lies across the river or the railway; snapping; opening hours; clear errors.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value as Json};

use actix_web::test;

use crate::common::{app, fixture, get, get_json, scratch_root, TestDb};
use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::db::ident::QualifiedTable;
use kreisgeo::ingest::IngestRequest;
use kreisgeo::routing::reach::Reach;
use kreisgeo::routing::store;

pub(crate) const LAUF: &str = "osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf";

pub(crate) fn walk_check(args: &[&str]) -> Json {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("target/py-walk/bin/python"))
        .arg(root.join("tests/support/walk_check.py"))
        .args(args)
        .output()
        .expect("target/py-walk is missing: run scripts/install-deps.sh --test");
    assert!(
        out.status.success(),
        "walk_check.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Graph nodes of Lauf, spread over its largest connected piece: [id, lon, lat].
pub(crate) fn nodes(count: usize) -> Vec<(i64, f64, f64)> {
    let pbf = fixture(LAUF);
    walk_check(&["nodes", pbf.to_str().unwrap(), &count.to_string()])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n[0].as_i64().unwrap(),
                n[1].as_f64().unwrap(),
                n[2].as_f64().unwrap(),
            )
        })
        .collect()
}

/// networkx's walking metres from `start` to each of `targets`.
fn networkx(start: i64, targets: &[i64]) -> HashMap<i64, f64> {
    let pbf = fixture(LAUF);
    let mut args = vec![
        "dist".to_string(),
        pbf.to_str().unwrap().to_string(),
        start.to_string(),
    ];
    args.extend(targets.iter().map(ToString::to_string));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let found = walk_check(&refs);
    targets
        .iter()
        .filter_map(|t| found[t.to_string()].as_f64().map(|d| (*t, d)))
        .collect()
}

/// Lauf's walking network and `aeds` (OSM node id, lon, lat, opening hours) as kind aed.
async fn portal(aeds: &[(i64, f64, f64, &str)]) -> TestDb {
    let db = TestDb::new().await;
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(fixture(LAUF), "osm")
    })
    .await
    .expect("OSM");
    let features: Vec<Json> = aeds
        .iter()
        .map(|(id, lon, lat, hours)| {
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": {"node": id, "opening_hours": hours}})
        })
        .collect();
    let file = scratch_root().join(format!("walk-aeds-{}.geojson", std::process::id()));
    std::fs::write(
        &file,
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Aed,
        ..IngestRequest::new(&file, "aed")
    })
    .await
    .expect("AEDs");
    db
}

fn node_of(f: &Json) -> i64 {
    f["properties"]["node"].as_i64().expect("node")
}

#[actix_web::test]
async fn walking_distances_are_networkxs_and_the_river_decides_which_is_nearest() {
    let all = nodes(61);
    let (starts, placed) = all.split_at(21);
    let aeds: Vec<(i64, f64, f64, &str)> = placed
        .iter()
        .map(|&(id, x, y)| (id, x, y, "24/7"))
        .collect();
    let db = portal(&aeds).await;
    // Both ways to the answer: the distances kept within the reach (default), and the search
    // of the network around each point (reach 0).
    let around = test::init_service(kreisgeo::api::app(AppState::new(
        db.pool.clone(),
        ApiConfig {
            walk_reach_m: 0.0,
            ..ApiConfig::default()
        },
    )))
    .await;
    let app = app(&db).await;
    let ids: Vec<i64> = placed.iter().map(|n| n.0).collect();
    let table = db.table_of("osm").await;
    let mut across = 0;
    let mut kept_answers = 0;
    let walk = QualifiedTable::data(format!("{table}_walk"));
    let aed_table = QualifiedTable::data(db.table_of("aed").await);
    let snaps = store::snap_all(&db.pool, &walk, &aed_table, None)
        .await
        .unwrap();
    let reach = Reach::build(&db.pool, &walk, &snaps, 1000.0).await.unwrap();
    let node_of_fid: HashMap<i64, i64> = {
        let rows: Vec<(i64, i64)> = sqlx::query_as(&format!("SELECT fid, node FROM {aed_table}"))
            .fetch_all(&db.pool)
            .await
            .unwrap();
        rows.into_iter().collect()
    };
    for &(start, lon, lat) in starts {
        let expected = networkx(start, &ids);
        // The kept distances, exact within their radius.
        let (snapped, edge) = store::snap_start(&db.pool, &walk, (lon, lat))
            .await
            .unwrap()
            .unwrap();
        let (found, radius) = reach.around(&snapped, &edge);
        let exact: Vec<&(i64, f64)> = found.iter().filter(|f| f.1 <= radius).collect();
        for (fid, metres) in &exact {
            let theirs = expected[&node_of_fid[fid]];
            let ours = metres + snapped.snap_m;
            assert!(
                (ours - theirs).abs() <= theirs * 0.01 + 1.0,
                "kept: from {start} to {}: {ours} m, networkx {theirs} m",
                node_of_fid[fid]
            );
        }
        assert_eq!(
            exact.len(),
            expected.values().filter(|d| **d < radius - 1.0).count(),
            "every defibrillator within the radius {radius} m of {start} is kept"
        );
        kept_answers += usize::from(exact.len() >= 5);
        let other = get_json(
            &around,
            &format!("/collections/aed/nearest?point={lon},{lat}&mode=walk&limit=5"),
        )
        .await;
        let mut ranked: Vec<(i64, f64)> = expected.iter().map(|(k, v)| (*k, *v)).collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
        let walk = get_json(
            &app,
            &format!("/collections/aed/nearest?point={lon},{lat}&mode=walk&limit=5"),
        )
        .await;
        let found = walk["features"].as_array().unwrap();
        assert_eq!(found.len(), 5);
        let same = |f: &Json| (node_of(f), f["properties"]["walk_m"].as_f64());
        assert_eq!(
            found.iter().map(same).collect::<Vec<_>>(),
            other["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(same)
                .collect::<Vec<_>>(),
            "the kept distances and the search around the point agree from {start}"
        );
        for (i, f) in found.iter().enumerate() {
            let node = node_of(f);
            let ours = f["properties"]["walk_m"].as_f64().expect("walk_m");
            let theirs = expected[&node];
            // Within 1 % (great circle against ellipsoid), and a metre of snapping.
            assert!(
                (ours - theirs).abs() <= theirs * 0.01 + 1.0,
                "from {start} to {node}: {ours} m, networkx {theirs} m"
            );
            // The same order, but for near ties.
            assert!(
                (ours - ranked[i].1).abs() <= ranked[i].1 * 0.01 + 1.0,
                "rank {i} from {start}: {node} at {ours} m, networkx {} at {} m",
                ranked[i].0,
                ranked[i].1
            );
            assert_eq!(f["properties"]["reachable"], true);
            let minutes = f["properties"]["walk_min"].as_f64().unwrap();
            assert!(
                (minutes - ours / (5000.0 / 60.0)).abs() < 0.06,
                "{minutes} min for {ours} m"
            );
        }
        // Straight line against walking: a river or a railway between the point and its
        // straight-line nearest defibrillator.
        let straight = get_json(
            &app,
            &format!("/collections/aed/nearest?point={lon},{lat}&limit=1"),
        )
        .await;
        let (first_straight, first_walk) = (&straight["features"][0], &found[0]);
        if node_of(first_straight) != node_of(first_walk) {
            let [x, y] = [
                first_straight["geometry"]["coordinates"][0]
                    .as_f64()
                    .unwrap(),
                first_straight["geometry"]["coordinates"][1]
                    .as_f64()
                    .unwrap(),
            ];
            let crossed: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT layer FROM data.\"{table}\" WHERE layer IN ('waterway', 'water', 'railway') \
                   AND ST_Intersects(geom, ST_MakeLine(ST_SetSRID(ST_MakePoint($1, $2), 4326), \
                                                       ST_SetSRID(ST_MakePoint($3, $4), 4326)))"
            ))
            .bind(lon)
            .bind(lat)
            .bind(x)
            .bind(y)
            .fetch_all(&db.pool)
            .await
            .unwrap();
            if !crossed.is_empty() {
                across += 1;
                assert!(
                    first_walk["properties"]["walk_m"].as_f64().unwrap()
                        < expected[&node_of(first_straight)],
                    "the walking nearest is nearer on foot"
                );
            }
        }
    }
    assert!(
        across > 0,
        "no start has its straight-line nearest AED across water or rails"
    );
    // 40 defibrillators over the whole extract: some starts have five within the reach of
    // 1 km, others are answered by the search around the point; both ways are checked.
    assert!(
        kept_answers > 0 && kept_answers < starts.len(),
        "the kept distances answer {kept_answers} of {} starts",
        starts.len()
    );
}

#[actix_web::test]
async fn snapping_unreachable_defibrillators_and_opening_hours() {
    let all = nodes(12);
    let (start, lon, lat) = all[0];
    let ids: Vec<i64> = all[1..].iter().map(|n| n.0).collect();
    let expected = networkx(start, &ids);
    let nearest = *ids
        .iter()
        .min_by(|a, b| expected[a].total_cmp(&expected[b]))
        .unwrap();
    let mut aeds: Vec<(i64, f64, f64, &str)> = all[1..]
        .iter()
        .map(|&(id, x, y)| {
            (
                id,
                x,
                y,
                if id == nearest {
                    "Mo-Fr 08:00-12:00"
                } else {
                    "24/7"
                },
            )
        })
        .collect();
    // Seven kilometres east of the extract: no way to it.
    aeds.push((1, 11.40, 49.51, "24/7"));
    let db = portal(&aeds).await;
    let app = app(&db).await;

    // Every defibrillator, the unreachable one last, said so.
    let every = get_json(
        &app,
        &format!("/collections/aed/nearest?point={lon},{lat}&mode=walk&limit=100"),
    )
    .await;
    let found = every["features"].as_array().unwrap();
    assert_eq!(found.len(), aeds.len());
    let last = found.last().unwrap();
    assert_eq!(node_of(last), 1);
    assert_eq!(last["properties"]["reachable"], false);
    assert!(last["properties"]["walk_m"].is_null());
    assert!(
        last["properties"]["snap_m"].as_f64().unwrap() > 250.0,
        "{last}"
    );

    // Closed on Sunday evening: the next one comes first.
    let open = get_json(
        &app,
        &format!(
            "/collections/aed/nearest?point={lon},{lat}&mode=walk&limit=1&open_now=true&at=2026-12-06T20:00"
        ),
    )
    .await;
    let first = node_of(&open["features"][0]);
    assert_ne!(first, nearest);
    let second = ids
        .iter()
        .filter(|id| **id != nearest)
        .min_by(|a, b| expected[a].total_cmp(&expected[b]))
        .unwrap();
    assert_eq!(first, *second);

    // A start off the ways: snapped, its distance to the nearest way of the connected network
    // (pieces of at least 50 edges; a courtyard's cut-off path leads nowhere) reported.
    let (x, y) = (lon + 0.0002, lat + 0.0002);
    let off = get_json(
        &app,
        &format!("/collections/aed/nearest?point={x},{y}&mode=walk&limit=1"),
    )
    .await;
    let reported = off["features"][0]["properties"]["start_snap_m"]
        .as_f64()
        .unwrap();
    let table = db.table_of("osm").await;
    let nearest_way: f64 = sqlx::query_scalar(&format!(
        "SELECT min(ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography)) \
         FROM data.\"{table}_walk\" WHERE piece_edges >= 50"
    ))
    .bind(x)
    .bind(y)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        (reported - nearest_way).abs() < 0.2,
        "{reported} vs {nearest_way}"
    );
    assert!(reported > 0.5);

    // The route, a line from the start to the defibrillator as long as the walk.
    let routed = get_json(
        &app,
        &format!("/collections/aed/nearest?point={lon},{lat}&mode=walk&limit=1&route=true"),
    )
    .await;
    let p = &routed["features"][0]["properties"];
    assert_eq!(p["route"]["type"], "LineString", "{p}");
    let length: f64 = sqlx::query_scalar("SELECT ST_Length(ST_GeomFromGeoJSON($1)::geography)")
        .bind(p["route"].to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let walk = p["walk_m"].as_f64().unwrap()
        - p["snap_m"].as_f64().unwrap()
        - p["start_snap_m"].as_f64().unwrap();
    assert!(
        (length - walk).abs() < 1.0,
        "route {length} m, walk over the network {walk} m"
    );
}

#[actix_web::test]
async fn bad_walking_questions_say_what_is_wrong() {
    let all = nodes(3);
    let aeds: Vec<(i64, f64, f64, &str)> =
        all.iter().map(|&(id, x, y)| (id, x, y, "24/7")).collect();
    let db = portal(&aeds).await;
    let app = app(&db).await;
    let (_, lon, lat) = all[0];
    for (query, parameter) in [
        (format!("point={lon},{lat}&mode=fly"), "mode"),
        (format!("point={lon},{lat}&route=true"), "route"),
        (format!("point={lon},{lat}&mode=walk&route=maybe"), "route"),
        // Far from every way.
        ("point=12.5,49.5&mode=walk".to_string(), "point"),
    ] {
        let (status, _, body) = get(&app, &format!("/collections/aed/nearest?{query}")).await;
        assert_eq!(status, 400, "{query}: {}", String::from_utf8_lossy(&body));
        let body: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
    }
    // A server without pgRouting answers these questions, and only these, with the reason.
    sqlx::query("DROP EXTENSION pgrouting")
        .execute(&db.pool)
        .await
        .unwrap();
    let (status, _, body) = get(
        &app,
        &format!("/collections/aed/nearest?point={lon},{lat}&mode=walk"),
    )
    .await;
    assert_eq!(status, 400);
    let body: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["parameter"], "mode");
    assert!(
        body["description"].as_str().unwrap().contains("pgRouting"),
        "{body}"
    );
    let (status, _, _) = get(&app, &format!("/collections/aed/nearest?point={lon},{lat}")).await;
    assert_eq!(status, 200);
}
