//! OpenStreetMap extracts (issue 20): the layers, addresses and walking network of a PBF,
//! counted against libosmium's own reading (`tests/support/osm_check.py`, pyosmium), replaced
//! atomically by the next extract, and a damaged file refused with the served version intact.

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::common::{app, fixture, get_json, scratch_root, TestDb};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::{IngestError, IngestRequest};
use kreisgeo::Error;

const LAUF: &str = "osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf";
const HOYERSWERDA: &str = "osm/hoyerswerda_2024-08.osm.pbf";

/// libosmium's counts of `file` (Debian's python3-pyosmium).
fn reference(file: &str) -> Json {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/osm_check.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(fixture(file))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "osm_check.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from osm_check.py")
}

async fn layer_counts(db: &TestDb, dataset: &str) -> Json {
    let table = db.table_of(dataset).await;
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT layer, count(*) FROM data.\"{table}\" GROUP BY layer"
    ))
    .fetch_all(&db.pool)
    .await
    .expect("counts");
    rows.into_iter()
        .map(|(layer, n)| (layer, Json::from(n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn osm(file: &str, dataset: &str) -> IngestRequest {
    IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(fixture(file), dataset)
    }
}

#[actix_web::test]
async fn an_extract_gives_the_roads_buildings_and_addresses_libosmium_reads() {
    let db = TestDb::new().await;
    let report = db.try_ingest(osm(LAUF, "osm")).await.expect("ingest");
    assert_eq!(report.format, "OSM PBF");
    let counts = layer_counts(&db, "osm").await;
    let expected = reference(LAUF);
    assert_eq!(counts["road"], expected["roads"], "{counts}");
    assert_eq!(counts["building"], expected["buildings"], "{counts}");
    assert_eq!(counts["address"], expected["addresses"], "{counts}");
    for layer in ["railway", "water", "waterway", "landuse", "place"] {
        assert!(counts[layer].as_i64().unwrap_or(0) > 0, "{layer}: {counts}");
    }
    // Every place label has a name and a rank; Lauf itself is a town.
    let table = db.table_of("osm").await;
    let lauf: (String, i64) = sqlx::query_as(&format!(
        "SELECT class, rank FROM data.\"{table}\" WHERE layer = 'place' AND name = 'Lauf an der Pegnitz'"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("the town's label");
    assert_eq!(lauf, ("town".to_string(), 2));

    // The walking network: every edge between two nodes, its length the ellipsoidal one, and
    // no motorway in it.
    let walk = format!("{table}_walk");
    let (edges, bad, length_error, motorways): (i64, i64, f64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(*) FILTER (WHERE source IS NULL OR target IS NULL OR length_m <= 0), \
                abs(sum(length_m) - sum(ST_Length(geom::geography, true))) / sum(length_m), \
                count(*) FILTER (WHERE highway LIKE 'motorway%' OR highway LIKE 'trunk%') \
         FROM data.\"{walk}\""
    ))
    .fetch_one(&db.pool)
    .await
    .expect("walk edges");
    assert!(edges > 3000, "{edges} edges");
    assert_eq!(bad, 0);
    assert!(
        length_error < 1e-6,
        "lengths differ from PostGIS's by {length_error}"
    );
    assert_eq!(motorways, 0);
    // Edges meet where the ways share a node: most of the network is one connected piece,
    // which it would not be if ways were not cut at their junctions.
    let joined: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM data.\"{walk}\" e WHERE EXISTS \
           (SELECT 1 FROM data.\"{walk}\" o WHERE o.fid <> e.fid \
              AND (o.source IN (e.source, e.target) OR o.target IN (e.source, e.target)))"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("joined edges");
    assert!(
        joined * 100 > edges * 95,
        "{joined} of {edges} edges meet another"
    );

    // Served as a collection; the layer is a property one filters by.
    let app = app(&db).await;
    let roads = get_json(&app, "/collections/osm/items?layer=road&limit=5").await;
    let features = roads["features"].as_array().expect("features");
    assert_eq!(features.len(), 5);
    assert!(features.iter().all(|f| f["properties"]["layer"] == "road"));
    assert_eq!(
        report.details.as_ref().expect("details")["walk_edges"],
        edges
    );
}

#[actix_web::test]
async fn a_new_extract_replaces_the_old_one_with_its_walking_network() {
    let db = TestDb::new().await;
    let first = db.try_ingest(osm(LAUF, "region")).await.expect("Lauf");
    let old_table = db.table_of("region").await;
    let second = db
        .try_ingest(IngestRequest {
            keep_versions: 1,
            ..osm(HOYERSWERDA, "region")
        })
        .await
        .expect("Hoyerswerda");
    assert!(second.version > first.version);
    let counts = layer_counts(&db, "region").await;
    let expected = reference(HOYERSWERDA);
    assert_eq!(counts["road"], expected["roads"]);
    assert_eq!(counts["address"], expected["addresses"]);
    // The old version's tables, both of them, are gone with it.
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'data' AND table_name LIKE $1",
    )
    .bind(format!("{old_table}%"))
    .fetch_all(&db.pool)
    .await
    .expect("tables");
    assert!(left.is_empty(), "{left:?}");
    let table = db.table_of("region").await;
    let walk: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM data.\"{table}_walk\""))
        .fetch_one(&db.pool)
        .await
        .expect("the new walking network");
    assert!(walk > 300, "{walk}");
}

#[actix_web::test]
async fn a_damaged_extract_is_refused_and_the_served_version_stays() {
    let db = TestDb::new().await;
    let served = db
        .try_ingest(osm(HOYERSWERDA, "osm"))
        .await
        .expect("ingest");
    let bytes = std::fs::read(fixture(LAUF)).expect("read");
    let cut = scratch_root().join("cut.osm.pbf");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write");
    let err = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Osm,
            ..IngestRequest::new(&cut, "osm")
        })
        .await
        .expect_err("a cut file");
    let message = err.to_string();
    assert!(
        matches!(err, Error::Ingest(IngestError::Parse { .. })),
        "{message}"
    );
    assert!(message.contains("cut.osm.pbf"), "{message}");
    // Not an OSM file at all, given as kind osm.
    let err = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Osm,
            ..IngestRequest::new(fixture("aed_koeln.geojson"), "osm")
        })
        .await
        .expect_err("GeoJSON as osm");
    assert!(
        err.to_string().contains("kind osm reads OpenStreetMap PBF"),
        "{err}"
    );
    let still: i64 =
        sqlx::query_scalar("SELECT active_version FROM catalog.datasets WHERE id = 'osm'")
            .fetch_one(&db.pool)
            .await
            .expect("active");
    assert_eq!(still, served.version);
}
