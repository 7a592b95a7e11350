//! The DCAT-AP.de catalog against the official SHACL shapes, with pyshacl (the validator
//! GovData's own checks are built on), end to end: the fixtures and their metadata loaded with
//! the CLI exactly as `make run` does, their downloads built, served by `kreisgeo serve`, every
//! serialisation of the catalog (with a deleted dataset's record) and every dataset document
//! fetched and validated, every download fetched and checked.
//!
//! The shapes are read from `KREISGEO_DCAT_SHAPES` (`.ci/run` points it at
//! `../shared/dcat-ap-de-shapes`). Where they are absent this test reports itself ignored —
//! never passed. pyshacl comes from `scripts/install-deps.sh --test` (`target/py`), or from
//! `KREISGEO_PYTHON`.
//!
//! The high-value datasets' catalog (`/catalog?hvd=true`) and their dataset documents are
//! validated against SEMIC's DCAT-AP HVD 3.0 shapes (`hvd-SHACL.ttl` of the SEMICeu/DCAT-AP
//! repository, `releases/3.0.0-hvd/shacl/`) from `KREISGEO_HVD_SHAPES` (default
//! `../shared/dcat-ap-hvd-shapes`), with RDFS entailment as the EU validator applies it; that
//! test too reports itself ignored where they are absent.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/http.rs"]
mod http;
#[path = "support/portal.rs"]
mod portal;

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use portal::Portal;

const NAME: &str = "dcat_catalog_has_no_violations_of_the_dcat_ap_de_shapes";
const HVD_NAME: &str = "dcat_hvd_catalog_has_no_violations_of_the_dcat_ap_hvd_shapes";

fn main() {
    let args = Arguments::from_args();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shapes = std::env::var_os("KREISGEO_DCAT_SHAPES").map_or_else(
        || manifest.join("../shared/dcat-ap-de-shapes"),
        PathBuf::from,
    );
    let present = shapes.join("dcat-ap-SHACL-DE.ttl").is_file();
    if !present {
        eprintln!(
            "{NAME}: ignored, the DCAT-AP.de shapes are not at {} (set KREISGEO_DCAT_SHAPES)",
            shapes.display()
        );
    }
    let hvd_shapes = std::env::var_os("KREISGEO_HVD_SHAPES").map_or_else(
        || manifest.join("../shared/dcat-ap-hvd-shapes"),
        PathBuf::from,
    );
    let hvd_present = hvd_shapes.join("hvd-SHACL.ttl").is_file();
    if !hvd_present {
        eprintln!(
            "{HVD_NAME}: ignored, SEMIC's DCAT-AP HVD shapes (hvd-SHACL.ttl) are not at {} \
             (set KREISGEO_HVD_SHAPES)",
            hvd_shapes.display()
        );
    }
    let trials = vec![
        Trial::test(NAME, move || validate(&shapes)).with_ignored_flag(!present),
        Trial::test(HVD_NAME, move || validate_hvd(&hvd_shapes)).with_ignored_flag(!hvd_present),
    ];
    libtest_mimic::run(&args, trials).exit();
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

fn validate(shapes: &Path) -> Result<(), Failed> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("KREISGEO_PYTHON")
        .map_or_else(|| manifest.join("target/py/bin/python"), PathBuf::from);
    check(python.exists(), || {
        format!(
            "no Python with pyshacl at {}: run scripts/install-deps.sh --test",
            python.display()
        )
    })?;

    // One dataset deleted, so that the catalog also carries a deleted record.
    let portal = portal("shacl", &[&["datasets", "delete", "kreisgrenze"]])?;
    let base = portal.url("");

    let mut documents = vec![
        (format!("{base}/catalog.ttl"), "turtle"),
        (format!("{base}/catalog.rdf"), "xml"),
        (format!("{base}/catalog.jsonld"), "json-ld"),
        (format!("{base}/catalog.ttl?hvd=true"), "turtle"),
    ];
    let fixtures = std::fs::read_to_string(manifest.join("fixtures/fixtures.tsv"))?;
    let ids: Vec<&str> = fixtures
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').nth(1))
        .filter(|id| *id != "kreisgrenze")
        .collect();
    check(ids.len() >= 5, || format!("fixtures: {ids:?}"))?;
    for id in &ids {
        documents.push((format!("{base}/catalog/datasets/{id}.ttl"), "turtle"));
    }
    let summaries = shacl(&python, shapes, false, &documents)?;
    let whole = &summaries[0];
    check(whole.contains(&format!("datasets={}", ids.len())), || {
        format!("the catalog does not list every dataset: {whole}")
    })?;
    check(
        whole.contains(&format!("downloads={}", ids.len() * 6)),
        || format!("the catalog does not list six downloads per dataset: {whole}"),
    )?;
    // The fixtures' municipality publishes the solar dataset: validated above as its own.
    let solar = http::get(&format!("{base}/catalog/datasets/solar.ttl"), &[]);
    let solar = String::from_utf8_lossy(&solar.body);
    check(
        solar.contains("https://www.hansestadt-lueneburg.de/")
            && solar.contains("politicalGeocoding/municipalityKey/03355022"),
        || format!("the solar dataset is not the municipality's:\n{solar}"),
    )?;
    Ok(())
}

/// The fixtures loaded as `make run` does, `before` run on them, their downloads built (so
/// that the catalog lists them with size and checksum), served.
fn portal(name: &str, before: &[&[&str]]) -> Result<Portal, Failed> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut portal = Portal::start(name);
    let load = Command::new(manifest.join("scripts/load-fixtures.sh"))
        .arg(env!("CARGO_BIN_EXE_kreisgeo"))
        .env("KREISGEO_DATA_DIR", portal.data_dir())
        .env_remove("DATABASE_URL")
        .output()?;
    check(load.status.success(), || {
        format!("load-fixtures: {}", String::from_utf8_lossy(&load.stderr))
    })?;
    for args in before {
        portal.ok(args);
    }
    portal.ok(&["downloads", "build"]);
    portal.serve(&[]);
    Ok(portal)
}

fn validate_hvd(shapes: &Path) -> Result<(), Failed> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("KREISGEO_PYTHON")
        .map_or_else(|| manifest.join("target/py/bin/python"), PathBuf::from);
    let portal = portal("shacl-hvd", &[])?;
    let base = portal.url("");
    // The parcels datasets are the fixtures' high-value datasets.
    let documents = [
        (format!("{base}/catalog.ttl?hvd=true"), "turtle"),
        (format!("{base}/catalog.jsonld?hvd=true"), "json-ld"),
        (format!("{base}/catalog/datasets/parcels.ttl"), "turtle"),
        (format!("{base}/catalog/datasets/alkis-nrw.ttl"), "turtle"),
    ];
    let summaries = shacl(&python, shapes, true, &documents)?;
    check(summaries[0].contains("datasets=2"), || {
        format!(
            "the HVD catalog does not list the two parcels datasets: {}",
            summaries[0]
        )
    })?;
    Ok(())
}

/// Validates `documents` (URL, rdflib format) with tests/support/shacl.py against `shapes`
/// (with RDFS entailment when `rdfs`); the summary line of each, in order. Every document must
/// have been read and judged.
fn shacl(
    python: &Path,
    shapes: &Path,
    rdfs: bool,
    documents: &[(String, &str)],
) -> Result<Vec<String>, Failed> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(python);
    cmd.arg(manifest.join("tests/support/shacl.py"));
    if rdfs {
        cmd.arg("--rdfs");
    }
    cmd.arg(shapes);
    for (url, format) in documents {
        cmd.args([url.as_str(), *format]);
    }
    let out = cmd.output()?;
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    check(out.status.success(), || {
        format!("{report}\n{}", String::from_utf8_lossy(&out.stderr))
    })?;
    let summaries: Vec<String> = report
        .lines()
        .filter(|l| l.starts_with("ok "))
        .map(str::to_string)
        .collect();
    check(summaries.len() == documents.len(), || {
        format!(
            "{} of {} documents judged:\n{report}",
            summaries.len(),
            documents.len()
        )
    })?;
    Ok(summaries)
}
