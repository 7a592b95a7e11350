//! Fills a kreisgeo database with a Land's catalog for `benches/catalog_scale.sh`: publishers
//! `gemeinde-01` … and datasets `datensatz-00000` … (small real GeoJSON files, loaded by the
//! ingest itself, each with its own title, keywords and bulk downloads), the datasets spread
//! over the publishers round-robin. Adds only what is missing, so 500 can grow to 5,000.
//!
//! `DATABASE_URL=… cargo bench --bench catalog_scale -- --datasets 5000 --publishers 50`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::{IngestRequest, NoProgress};

const TOPICS: [(&str, &str); 10] = [
    ("Bebauungsplan", "Bauleitplanung"),
    ("Spielplätze", "Freizeit"),
    ("Defibrillatoren", "Erste Hilfe"),
    ("Haltestellen", "Nahverkehr"),
    ("Kindertagesstätten", "Bildung"),
    ("Wahllokale", "Wahlen"),
    ("Baumkataster", "Umwelt"),
    ("Parkplätze", "Verkehr"),
    ("Trinkwasserbrunnen", "Wasser"),
    ("Ladesäulen", "Elektromobilität"),
];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let datasets = arg("--datasets", 500);
    let publishers = arg("--publishers", 50);
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pool = kreisgeo::db::connect(&url).await.expect("database");
    kreisgeo::db::MIGRATOR.run(&pool).await.expect("migrations");

    for p in 1..=publishers {
        let profile = serde_json::json!({
            "name": format!("Gemeinde {p:02}"),
            "uri": format!("https://gemeinde-{p:02}.example/"),
            "municipalityKey": format!("033550{p:02}"),
            "contact": {"name": "Geodaten", "email": format!("geodaten@gemeinde-{p:02}.example")},
            "license": "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"
        });
        kreisgeo::catalog::repo::put_publisher(&pool, &format!("gemeinde-{p:02}"), &profile)
            .await
            .expect("publisher");
    }

    let existing: Vec<String> =
        sqlx::query_scalar("SELECT id FROM catalog.datasets WHERE deleted_at IS NULL")
            .fetch_all(&pool)
            .await
            .expect("datasets");
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut added = 0;
    for i in 0..datasets {
        let id = format!("datensatz-{i:05}");
        if existing.contains(&id) {
            continue;
        }
        let (topic, keyword) = TOPICS[i % TOPICS.len()];
        let publisher = format!("gemeinde-{:02}", i % publishers + 1);
        // A few points of the municipality, each dataset its own.
        let features: Vec<serde_json::Value> = (0..5)
            .map(|k| {
                serde_json::json!({"type": "Feature",
                    "properties": {"name": format!("{topic} {i}-{k}"), "nummer": k},
                    "geometry": {"type": "Point", "coordinates": [
                        10.2 + (i % 97) as f64 * 0.004 + f64::from(k) * 0.0003,
                        53.1 + (i / 97) as f64 * 0.004 + f64::from(k) * 0.0002]}})
            })
            .collect();
        let file = dir.path().join(format!("{id}.geojson"));
        std::fs::write(
            &file,
            serde_json::to_vec(
                &serde_json::json!({"type": "FeatureCollection", "features": features}),
            )
            .unwrap(),
        )
        .unwrap();
        let mut request = IngestRequest::new(file, id.clone());
        request.kind = DatasetKind::Generic;
        request.title = Some(format!("{topic} der Gemeinde {}", i % publishers + 1));
        kreisgeo::ingest::ingest(&pool, &request, Arc::new(NoProgress))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        kreisgeo::catalog::repo::set_dataset_publisher(&pool, &id, Some(&publisher))
            .await
            .expect("publisher");
        kreisgeo::catalog::repo::set_metadata(
            &pool,
            &id,
            &serde_json::json!({"keywords": [keyword, topic, format!("Gemeinde {:02}", i % publishers + 1)]}),
        )
        .await
        .expect("metadata");
        added += 1;
        if added % 500 == 0 {
            eprintln!(
                "{added} datasets added ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let built = kreisgeo::downloads::build::build_missing(&pool)
        .await
        .expect("downloads");
    eprintln!(
        "{added} datasets added, {built} downloads built, in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // The search index as the first search after the load would write it, then the
    // statistics autovacuum would gather: the measurement is of the steady state.
    let indexing = Instant::now();
    kreisgeo::opendata::ckan_index::refresh(&pool, "http://127.0.0.1")
        .await
        .expect("search index");
    eprintln!(
        "search index written in {:.2} s",
        indexing.elapsed().as_secs_f64()
    );
    for table in ["catalog.datasets", "catalog.versions", "catalog.downloads"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}"))
            .execute(&pool)
            .await
            .expect("vacuum");
    }
}
