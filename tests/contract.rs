//! The published OpenAPI document taken literally, as its users take it (issue 16, point 2):
//! schemathesis fuzzes every operation of a running `kreisgeo serve` from the document alone,
//! and a Python client generated from `openapi/openapi.json` by openapi-python-client lists
//! collections, pages items with a bbox, asks `/nearest` and `/at`, and must see what the
//! server's own answers say. Both tools come from PyPI into `target/py-contract`
//! (`scripts/install-deps.sh --test`); without them the tests fail, they are never skipped.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/portal.rs"]
mod portal;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use portal::{manifest, Portal};
use serde_json::Value as Json;

/// A program of the contract tools' virtual environment.
fn tool(name: &str) -> PathBuf {
    let path = manifest().join("target/py-contract/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-deps.sh --test",
        path.display()
    );
    path
}

/// A portal serving the Köln AEDs, the synthetic Lüneburg parcels and solar roofs, with an
/// admin key, so that the admin operations are exercised too; the key is returned.
fn portal(name: &str) -> (Portal, String) {
    let mut portal = Portal::start(name);
    for (file, dataset, kind) in [
        ("aed_koeln.geojson", "aed", "aed"),
        (
            "generated/parcels_lueneburg_1000_25832.fgb",
            "parcels",
            "parcels",
        ),
        (
            "generated/solar_lueneburg_500_25832.geojson",
            "solar",
            "solar",
        ),
    ] {
        portal.ingest(file, dataset, kind);
    }
    let key = portal.ok(&["keys", "create", "--name", "contract test"]);
    let key = key
        .split_whitespace()
        .find(|w| w.starts_with("kg_"))
        .expect("a key in the output of keys create")
        .to_string();
    portal.serve(&[]);
    (portal, key)
}

fn get_json(url: &str) -> Json {
    let mut response = ureq::get(url).call().expect("HTTP answer");
    response.body_mut().read_json().expect("JSON")
}

fn ids(doc: &Json) -> Vec<i64> {
    doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_i64().expect("integer id"))
        .collect()
}

#[test]
fn schemathesis_finds_no_failure_in_any_phase() {
    let (portal, key) = portal("schemathesis");
    let report = portal.file("schemathesis.txt");
    let mut run = Command::new(tool("schemathesis"))
        .args([
            "run",
            &portal.url("/api"),
            "--header",
            &format!("X-API-Key: {key}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "60",
            "--seed",
            "16",
            "--continue-on-failure",
            "--request-timeout",
            "30",
            "--no-color",
        ])
        // Its caches (.schemathesis, .hypothesis) go with the scratch directory.
        .current_dir(&portal.scratch)
        .stdout(std::fs::File::create(&report).expect("report file"))
        .stderr(std::fs::File::create(portal.file("schemathesis.err")).expect("log file"))
        .spawn()
        .expect("run schemathesis");
    // Bounded: a run that hangs is a failure, not a wait for the CI's limit.
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(status) = run.try_wait().expect("wait for schemathesis") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            panic!(
                "schemathesis did not finish in 15 minutes:\n{}",
                std::fs::read_to_string(&report).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stderr = std::fs::read_to_string(portal.file("schemathesis.err")).unwrap_or_default();
    let stdout = std::fs::read_to_string(&report).unwrap_or_default();
    let summary: String = stdout
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{summary}");
    assert!(
        status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}\n{}",
        portal.log()
    );
    // It ran every operation and generated cases; a run that tested nothing is no pass.
    assert!(summary.contains("Tested: "), "{summary}");
    let generated = summary
        .lines()
        .find_map(|l| l.trim().split_once(" generated, "))
        .and_then(|(n, _)| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(generated > 1000, "only {generated} cases:\n{summary}");
    for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"] {
        assert!(
            summary.contains(&format!("✅ {phase}")),
            "phase {phase} did not pass:\n{summary}"
        );
    }
}

#[test]
fn a_client_generated_from_the_document_works() {
    let (portal, _) = portal("generated-client");
    let out = portal.file("client");
    let generated = Command::new(tool("openapi-python-client"))
        .args(["generate", "--path"])
        .arg(manifest().join("openapi/openapi.json"))
        .arg("--output-path")
        .arg(out.join("kreisgeo_client"))
        .args(["--meta", "none"])
        .output()
        .expect("run openapi-python-client");
    assert!(
        generated.status.success(),
        "{}{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );
    // Every operation became a function, the tiles too (a body of bytes).
    let generated_log = String::from_utf8_lossy(&generated.stdout);
    assert!(
        !generated_log.contains("WARNING"),
        "the generator skipped parts of the document:\n{generated_log}"
    );

    // A point inside the first solar roof, for /at.
    let roof = get_json(&portal.url("/collections/solar/items?limit=1"));
    let ring = &roof["features"][0]["geometry"]["coordinates"][0];
    let ring = ring.as_array().expect("a polygon ring");
    let corners = &ring[..ring.len() - 1];
    let mean = |i: usize| {
        corners
            .iter()
            .map(|p| p[i].as_f64().expect("coordinate"))
            .sum::<f64>()
            / corners.len() as f64
    };
    let point = format!("{},{}", mean(0), mean(1));

    let run = Command::new(tool("python"))
        .arg(manifest().join("tests/support/generated_client.py"))
        .args([&portal.url(""), "aed", "solar", &point])
        .env("PYTHONPATH", &out)
        .output()
        .expect("run the generated client");
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Json = serde_json::from_slice(&run.stdout).expect("one JSON line");

    let collections: BTreeSet<&str> = seen["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert_eq!(collections, BTreeSet::from(["aed", "parcels", "solar"]));

    // Paged with a bbox: exactly the features the server has in that box, over several pages.
    let bbox = "6.90,50.90,7.00,50.97";
    let all = get_json(&portal.url(&format!("/collections/aed/items?bbox={bbox}&limit=10000")));
    let mut expected = ids(&all);
    expected.sort_unstable();
    let mut paged: Vec<i64> = serde_json::from_value(seen["bbox_features"].clone()).unwrap();
    paged.sort_unstable();
    assert!(expected.len() > 20, "{}", expected.len());
    assert_eq!(paged, expected);
    assert!(seen["bbox_pages"].as_u64().unwrap() > 1);

    let nearest = get_json(&portal.url("/collections/aed/nearest?point=6.96,50.94&limit=3"));
    assert_eq!(seen["nearest"], serde_json::json!(ids(&nearest)));
    assert_eq!(seen["nearest"].as_array().unwrap().len(), 3);
    let at = get_json(&portal.url(&format!("/collections/solar/at?point={point}")));
    assert_eq!(seen["at"], serde_json::json!(ids(&at)));
    assert_eq!(
        seen["at"][0], roof["features"][0]["id"],
        "the roof the point lies in"
    );
}
