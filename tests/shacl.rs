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

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

const NAME: &str = "dcat_catalog_has_no_violations_of_the_dcat_ap_de_shapes";

fn main() {
    let args = Arguments::from_args();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shapes = std::env::var_os("KREISGEO_DCAT_SHAPES")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../shared/dcat-ap-de-shapes"));
    let present = shapes.join("dcat-ap-SHACL-DE.ttl").is_file();
    if !present {
        eprintln!(
            "{NAME}: ignored, the DCAT-AP.de shapes are not at {} (set KREISGEO_DCAT_SHAPES)",
            shapes.display()
        );
    }
    let trial = Trial::test(NAME, move || validate(&shapes)).with_ignored_flag(!present);
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn kreisgeo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kreisgeo"));
    cmd.env_remove("DATABASE_URL").stdin(Stdio::null());
    cmd
}

/// The embedded PostgreSQL and the server of this test, stopped however the test ends.
struct Portal {
    data_dir: PathBuf,
    server: Option<Child>,
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = kreisgeo()
            .env("KREISGEO_DATA_DIR", &self.data_dir)
            .args(["db", "stop"])
            .stderr(Stdio::null())
            .status();
        if let Some(parent) = self.data_dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
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
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target/py/bin/python"));
    check(python.exists(), || {
        format!(
            "no Python with pyshacl at {}: run scripts/install-deps.sh --test",
            python.display()
        )
    })?;

    // /tmp, because the postgres user (initdb runs as it under root) must reach the data.
    let scratch = std::env::temp_dir().join(format!("kreisgeo-shacl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let mut portal = Portal {
        data_dir: scratch.join("pg"),
        server: None,
    };
    let start = kreisgeo()
        .env("KREISGEO_DATA_DIR", &portal.data_dir)
        .args(["db", "start"])
        .output()?;
    check(start.status.success(), || {
        format!("db start: {}", String::from_utf8_lossy(&start.stderr))
    })?;
    let load = Command::new(manifest.join("scripts/load-fixtures.sh"))
        .arg(env!("CARGO_BIN_EXE_kreisgeo"))
        .env("KREISGEO_DATA_DIR", &portal.data_dir)
        .env_remove("DATABASE_URL")
        .output()?;
    check(load.status.success(), || {
        format!("load-fixtures: {}", String::from_utf8_lossy(&load.stderr))
    })?;

    // One dataset deleted, so that the catalog also carries a deleted record.
    let deleted = kreisgeo()
        .env("KREISGEO_DATA_DIR", &portal.data_dir)
        .args(["datasets", "delete", "kreisgrenze"])
        .output()?;
    check(deleted.status.success(), || {
        format!(
            "datasets delete: {}",
            String::from_utf8_lossy(&deleted.stderr)
        )
    })?;

    // The downloads, so that the catalog lists them with size and checksum.
    let build = kreisgeo()
        .env("KREISGEO_DATA_DIR", &portal.data_dir)
        .args(["downloads", "build"])
        .output()?;
    check(build.status.success(), || {
        format!(
            "downloads build: {}",
            String::from_utf8_lossy(&build.stderr)
        )
    })?;

    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    portal.server = Some(
        kreisgeo()
            .env("KREISGEO_DATA_DIR", &portal.data_dir)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        check(Instant::now() < deadline, || {
            "the server did not start".into()
        })?;
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut documents = vec![
        (format!("{base}/catalog.ttl"), "turtle"),
        (format!("{base}/catalog.rdf"), "xml"),
        (format!("{base}/catalog.jsonld"), "json-ld"),
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
    let mut cmd = Command::new(&python);
    cmd.arg(manifest.join("tests/support/shacl.py")).arg(shapes);
    for (url, format) in &documents {
        cmd.args([url.as_str(), *format]);
    }
    let out = cmd.output()?;
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    check(out.status.success(), || {
        format!("{report}\n{}", String::from_utf8_lossy(&out.stderr))
    })?;
    // Every document was read and judged: one summary line each, with its datasets.
    let summaries: Vec<&str> = report.lines().filter(|l| l.starts_with("ok ")).collect();
    check(summaries.len() == documents.len(), || {
        format!(
            "{} of {} documents judged:\n{report}",
            summaries.len(),
            documents.len()
        )
    })?;
    let whole = summaries[0];
    check(whole.contains(&format!("datasets={}", ids.len())), || {
        format!("the catalog does not list every dataset: {whole}")
    })?;
    check(
        whole.contains(&format!("downloads={}", ids.len() * 6)),
        || format!("the catalog does not list six downloads per dataset: {whole}"),
    )?;
    Ok(())
}
