//! An INSPIRE download service (issue 23): each collection links its licence, its ISO 19139
//! metadata record and each bulk download (type, length, language); the record is valid
//! against the ISO 19139 schemas (`tests/support/iso19139_check.py`, offline, with the
//! schemas of bas-metadata-library from PyPI) and says what the DCAT-AP.de catalog says.

use std::path::Path;
use std::process::Command;

use crate::common::{self, get, get_json, TestDb};
use kreisgeo::catalog::DatasetKind;

/// Validates an ISO 19139 record offline; `Err` with the validator's output.
fn validate(xml: &[u8]) -> Result<(), String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("KREISGEO_ISO_PYTHON")
        .map_or_else(|| manifest.join("target/py-iso/bin/python"), Into::into);
    assert!(
        Path::new(&python).exists(),
        "no Python with lxml and the ISO 19139 schemas at {}: run scripts/install-deps.sh --test",
        Path::new(&python).display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("record.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new(&python)
        .arg(manifest.join("tests/support/iso19139_check.py"))
        .arg(&file)
        .output()
        .expect("python runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim() == "valid" {
        Ok(())
    } else {
        Err(said)
    }
}

#[actix_web::test]
async fn collections_are_an_inspire_download_service_with_valid_iso_metadata() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let built = kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .expect("downloads");
    assert!(built > 0);
    let app = common::app(&db).await;

    let collection = get_json(&app, "/collections/parcels").await;
    let links = collection["links"].as_array().unwrap();
    let with = |rel: &str| -> Vec<&serde_json::Value> {
        links.iter().filter(|l| l["rel"] == rel).collect()
    };
    let licence = with("license");
    assert_eq!(licence.len(), 1, "{links:?}");
    assert_eq!(
        licence[0]["href"],
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    );
    let described: Vec<&str> = with("describedby")
        .iter()
        .filter(|l| l["type"] == "application/xml")
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    assert_eq!(described.len(), 1, "{links:?}");
    let enclosures = with("enclosure");
    let files: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM catalog.downloads f \
         JOIN catalog.datasets d ON d.active_version = f.version_id WHERE d.id = 'parcels'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(files > 0);
    assert_eq!(
        enclosures.len() as i64,
        files,
        "one enclosure per bulk download"
    );
    for e in &enclosures {
        assert!(e["type"].as_str().is_some_and(|t| !t.is_empty()), "{e}");
        assert_eq!(e["hreflang"], "de");
        let length = e["length"].as_i64().expect("length");
        // Each enclosure is there, as long as it says.
        let href = e["href"].as_str().unwrap();
        let path = href
            .split_once("/collections/")
            .map(|(_, p)| format!("/collections/{p}"))
            .unwrap();
        let (status, _, body) = get(&app, &path).await;
        assert_eq!(status, 200, "{href}");
        assert_eq!(body.len() as i64, length, "{href}");
    }

    // The landing page links the service's metadata.
    let landing = get_json(&app, "/").await;
    assert!(
        landing["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "service-meta"),
        "{landing}"
    );

    // The ISO record: valid, and saying what the catalog says.
    let path = described[0]
        .split_once("8080")
        .map_or(described[0], |(_, p)| p)
        .to_string();
    let (status, content_type, xml) = get(&app, &path).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/xml"),
        "{content_type}"
    );
    validate(&xml).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&xml)));
    let text = String::from_utf8_lossy(&xml);
    for expected in [
        "Flurstücke/Grundstücke",
        "planningCadastre",
        "http://www.opengis.net/def/crs/EPSG/0/25832",
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
        "/collections/parcels",
        "OGC API-Features",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    for e in &enclosures {
        let href = e["href"].as_str().unwrap();
        assert!(text.contains(href), "the record lists {href}");
    }
    // A dataset of another theme is valid too; the validator refuses a broken record.
    let (_, _, aed) = get(&app, "/catalog/datasets/aed/iso19139.xml").await;
    validate(&aed).unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&aed).contains("Gesundheit und Sicherheit"));
    let broken = String::from_utf8_lossy(&aed)
        .replace("<gmd:abstract>", "<gmd:abstrakt>")
        .replace("</gmd:abstract>", "</gmd:abstrakt>");
    assert!(
        validate(broken.as_bytes()).is_err(),
        "the validator validates"
    );
    assert_eq!(
        get(&app, "/catalog/datasets/nowhere/iso19139.xml").await.0,
        404
    );
}
