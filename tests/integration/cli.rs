//! The `kreisgeo` binary: the embedded PostgreSQL's life cycle, reuse by a second process,
//! DATABASE_URL, and the error when PostgreSQL is missing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fixture, TestDb};

fn kreisgeo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kreisgeo"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("KREISGEO_DATA_DIR")
        .stdin(Stdio::null());
    cmd
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = crate::common::scratch_root().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A minimal HTTP/1.1 GET; returns status and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

fn postmaster_running(data_dir: &Path) -> bool {
    std::fs::read_to_string(data_dir.join("pgdata/postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
        .is_some_and(|pid| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok())
}

#[test]
fn serve_owns_the_embedded_instance_and_ingest_reuses_it() {
    let dir = fresh_dir("cli-serve");
    let port = free_port();
    let log_path = fresh_dir("cli-serve-log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut server = kreisgeo()
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("spawn serve");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    while http_get(port, "/").map(|(s, _)| s) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "serve did not answer within 120 s: {}",
            log()
        );
        if let Some(status) = server.try_wait().expect("wait") {
            panic!("serve exited early with {status}: {}", log());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(postmaster_running(&dir));

    // A second process on the same data directory reuses the running instance …
    let out = kreisgeo()
        .args(["ingest"])
        .arg(fixture("aed_koeln.geojson"))
        .args(["--dataset", "aed", "--kind", "aed", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("run ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // … and leaves it running for the server, which now serves the new collection.
    assert!(postmaster_running(&dir));
    let (status, body) = http_get(port, "/collections/aed").expect("collection");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"featureCount\":121"), "{body}");

    // SIGTERM: the server stops, and stops the PostgreSQL it started.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "serve exited with {status}: {}", log());
    assert!(
        !postmaster_running(&dir),
        "PostgreSQL still running after serve stopped"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log_path);
}

#[actix_web::test]
async fn database_url_is_used_and_nothing_is_started() {
    let db = TestDb::new().await;
    let dir = fresh_dir("cli-url");
    let out = kreisgeo()
        .env("DATABASE_URL", &db.url)
        .args(["ingest"])
        .arg(fixture("aed_koeln.geojson"))
        .args(["--dataset", "aed", "--json", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("run ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.exists(),
        "an embedded instance was set up despite DATABASE_URL"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["features"], 121);
    let count: i64 = sqlx::query_scalar("SELECT feature_count FROM catalog.versions")
        .fetch_one(&db.pool)
        .await
        .expect("catalog");
    assert_eq!(count, 121);
}

#[test]
fn missing_postgresql_names_the_packages() {
    let out = kreisgeo()
        .env("KREISGEO_PG_BINDIR", "/nonexistent")
        .args(["ingest"])
        .arg(fixture("aed_koeln.geojson"))
        .args(["--dataset", "aed", "--data-dir"])
        .arg(fresh_dir("cli-missing"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgresql-15") && stderr.contains("postgresql-15-postgis-3"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn bad_files_fail_with_a_message_and_exit_code() {
    let db = TestDb::new().await;
    let out = kreisgeo()
        .env("DATABASE_URL", &db.url)
        .args(["ingest", "Cargo.toml", "--dataset", "x"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format"));
    let out = kreisgeo()
        .env("DATABASE_URL", &db.url)
        .args([
            "ingest",
            "fixtures/aed_koeln.geojson",
            "--dataset",
            "x",
            "--crs",
            "EPSG:abc",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--crs"));
}

#[test]
fn generated_fixtures_are_reproduced_byte_for_byte() {
    let dir = fresh_dir("cli-generate");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (kind, count, file) in [
        (
            "parcels",
            "1000",
            "generated/parcels_lueneburg_1000_25832.fgb",
        ),
        (
            "solar",
            "500",
            "generated/solar_lueneburg_500_25832.geojson",
        ),
        ("aed", "200", "generated/aed_lueneburg_200_25832.geojson"),
    ] {
        let out = dir.join(Path::new(file).file_name().expect("name"));
        let status = kreisgeo()
            .args([
                "generate", "--kind", kind, "--count", count, "--seed", "1", "--out",
            ])
            .arg(&out)
            .stderr(Stdio::null())
            .status()
            .expect("run generate");
        assert!(status.success());
        let fresh = std::fs::read(&out).expect("generated");
        let committed = std::fs::read(fixture(file)).expect("committed fixture");
        assert!(
            fresh == committed,
            "{file} differs from what the generator makes: run `make fixtures`"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until the ingest `child` streams its COPY into the test database; returns the backend pid.
async fn wait_for_copy(db: &TestDb, child: &mut std::process::Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let backend: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND query LIKE 'COPY %' AND state = 'active'",
        )
        .fetch_optional(&db.pool)
        .await
        .expect("activity");
        if let Some(pid) = backend {
            return pid;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "ingest ended before it was interrupted"
        );
        assert!(Instant::now() < deadline, "the COPY never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn interrupted_ingests_leave_the_served_version_intact() {
    let db = TestDb::new().await;
    db.ingest(
        "aed_koeln.geojson",
        "data",
        kreisgeo::catalog::DatasetKind::Aed,
    )
    .await;
    let app = crate::common::app(&db).await;
    let before = crate::common::get_json(&app, "/collections/data/items?limit=200").await;
    let before_bytes = crate::common::get(&app, "/collections/data/items/60")
        .await
        .2;

    let dir = fresh_dir("cli-kill");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let big = dir.join("parcels.fgb");
    let status = kreisgeo()
        .args([
            "generate", "--kind", "parcels", "--count", "150000", "--out",
        ])
        .arg(&big)
        .stderr(Stdio::null())
        .status()
        .expect("generate");
    assert!(status.success());

    // kill -9 of kreisgeo, then the database dropping the connection, both mid-COPY.
    for drop_connection in [false, true] {
        let mut ingest = kreisgeo()
            .env("DATABASE_URL", &db.url)
            .args(["ingest"])
            .arg(&big)
            .args(["--dataset", "data"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ingest");
        let backend = wait_for_copy(&db, &mut ingest).await;
        if drop_connection {
            let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(backend)
                .fetch_one(&db.pool)
                .await
                .expect("terminate");
            assert!(terminated);
            let out = ingest.wait_with_output().expect("ingest exit");
            assert_eq!(
                out.status.code(),
                Some(1),
                "the ingest must fail, not pretend"
            );
            assert!(!out.stderr.is_empty());
        } else {
            ingest.kill().expect("kill -9");
            ingest.wait().expect("reap");
        }

        let after = crate::common::get_json(&app, "/collections/data/items?limit=200").await;
        assert_eq!(before["features"], after["features"]);
        assert_eq!(after["numberMatched"], 121);
        let after_bytes = crate::common::get(&app, "/collections/data/items/60")
            .await
            .2;
        assert!(
            before_bytes == after_bytes,
            "a served feature changed byte for byte"
        );
        // PostgreSQL rolls the transaction back as soon as it sees the client gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let tables: i64 =
                sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'data'")
                    .fetch_one(&db.pool)
                    .await
                    .expect("count");
            if tables == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the interrupted ingest's table is still there"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.versions")
            .fetch_one(&db.pool)
            .await
            .expect("count");
        assert_eq!(versions, 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn rollback_switches_back_atomically() {
    let db = TestDb::new().await;
    let first = db
        .ingest(
            "aed_koeln.geojson",
            "aed",
            kreisgeo::catalog::DatasetKind::Aed,
        )
        .await;
    let second = db
        .ingest(
            "generated/aed_lueneburg_200_25832.geojson",
            "aed",
            kreisgeo::catalog::DatasetKind::Aed,
        )
        .await;
    let app = crate::common::app(&db).await;
    let count = |doc: serde_json::Value| doc["featureCount"].as_i64();
    assert_eq!(
        count(crate::common::get_json(&app, "/collections/aed").await),
        Some(200)
    );

    let run = |args: &[&str]| {
        kreisgeo()
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .expect("run kreisgeo")
    };
    let out = run(&["datasets", "versions", "aed"]);
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("aed_koeln.geojson")
            && listing.contains("aed_lueneburg_200_25832.geojson"),
        "{listing}"
    );

    let out = run(&["datasets", "rollback", "aed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let collection = crate::common::get_json(&app, "/collections/aed").await;
    assert_eq!(collection["version"], first.version);
    assert_eq!(count(collection), Some(121));

    let to = second.version.to_string();
    assert!(run(&["datasets", "rollback", "aed", "--to", &to])
        .status
        .success());
    assert_eq!(
        count(crate::common::get_json(&app, "/collections/aed").await),
        Some(200)
    );

    for bad in [
        vec!["datasets", "rollback", "nope"],
        vec!["datasets", "rollback", "aed", "--to", "999999"],
    ] {
        let out = run(&bad);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = run(&["datasets", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("aed"));

    // A source that fails: the served version stays, the dataset's listing says why.
    let url = format!("http://127.0.0.1:{}/aed.geojson", free_port());
    let allow = ["--allow-hosts", "127.0.0.1"];
    let out = run(&[
        &[
            "sources",
            "add",
            "--dataset",
            "aed",
            "--as",
            "aed",
            "--url",
            &url,
        ][..],
        &allow[..],
    ]
    .concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = run(&[&["sources", "run", "--dataset", "aed"][..], &allow[..]].concat());
    let out = run(&["datasets", "versions", "aed"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("(file, http://127.0.0.1:") && listing.contains(": failed at "),
        "{listing}"
    );
    assert_eq!(
        count(crate::common::get_json(&app, "/collections/aed").await),
        Some(200)
    );
}

#[actix_web::test]
async fn keys_are_created_listed_and_revoked() {
    let db = TestDb::new().await;
    let run = |args: &[&str]| {
        kreisgeo()
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .expect("run kreisgeo")
    };
    let out = run(&["keys", "create", "--name", "GIS-Fachdienst"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string();
    let verified = kreisgeo::auth::verify(&db.pool, &key)
        .await
        .expect("the printed key works");
    assert_eq!(verified.scope, kreisgeo::auth::Scope::all());
    let id = verified.id;
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT secret_hash FROM catalog.api_keys WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("hash");
    assert_eq!(stored.len(), 32);
    assert!(
        !key.contains(&hex::encode(&stored)),
        "only a hash is stored"
    );
    let listing = String::from_utf8(run(&["keys", "list"]).stdout).expect("utf8");
    assert!(listing.contains("GIS-Fachdienst") && listing.contains("active"));
    assert!(!listing.contains(&key[16..]), "the secret is never listed");
    assert!(run(&["keys", "revoke", &id.to_string()]).status.success());
    assert!(kreisgeo::auth::verify(&db.pool, &key).await.is_err());
    assert_eq!(
        run(&["keys", "revoke", &id.to_string()]).status.code(),
        Some(1)
    );

    // A key scoped to one dataset and two actions.
    let out = run(&[
        "keys",
        "create",
        "--name",
        "Rettungsdienst",
        "--datasets",
        "aed",
        "--actions",
        "ingest,metadata",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scoped = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string();
    let verified = kreisgeo::auth::verify(&db.pool, &scoped)
        .await
        .expect("works");
    assert_eq!(
        verified.scope,
        kreisgeo::auth::Scope {
            datasets: Some(vec!["aed".to_string()]),
            actions: vec![
                kreisgeo::auth::Action::Ingest,
                kreisgeo::auth::Action::Metadata
            ],
            publisher: None,
        }
    );
    let listing = String::from_utf8(run(&["keys", "list"]).stdout).expect("utf8");
    assert!(
        listing.contains("ingest,metadata on aed"),
        "the scope is listed: {listing}"
    );
    // An unknown action or a malformed dataset id is refused, and no key is made.
    let out = run(&["keys", "create", "--name", "x", "--actions", "drop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'drop' is not one of"));
    let out = run(&["keys", "create", "--name", "x", "--datasets", "Bad Id"]);
    assert_eq!(out.status.code(), Some(1));
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog.api_keys")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(keys, 2);
}

#[actix_web::test]
async fn the_database_url_can_come_from_a_secret_file_and_is_never_logged() {
    let db = TestDb::new().await;
    let dir = crate::common::scratch_root().join(format!("secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let secret = dir.join("database-url");
    std::fs::write(&secret, format!("{}\n", db.url)).expect("secret file");
    let out = kreisgeo()
        .env_remove("DATABASE_URL")
        .env("DATABASE_URL_FILE", &secret)
        .env("RUST_LOG", "debug")
        .args([
            "ingest",
            &fixture("aed_koeln.geojson").display().to_string(),
            "--dataset",
            "aed",
            "--kind",
            "aed",
        ])
        .output()
        .expect("run");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let password = db
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, password)| password.to_string())
        .expect("the test URL has a password");
    assert!(!log.contains(&password), "the password was logged:\n{log}");
    let datasets: i64 =
        sqlx::query_scalar("SELECT count(*) FROM catalog.datasets WHERE id = 'aed'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(
        datasets, 1,
        "the ingest went to the database named in the file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `kreisgeo config check` with `file` as kreisgeo.toml and `env` set.
fn config_check(file: &str, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = fresh_dir(&format!("config-{call}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("kreisgeo.toml");
    std::fs::write(&path, file).expect("write");
    let mut cmd = kreisgeo();
    for var in [
        "KREISGEO_BIND",
        "KREISGEO_RATE_LIMIT",
        "KREISGEO_PUBLIC_URL",
        "KREISGEO_CONFIG",
        "KREISGEO_STATEMENT_TIMEOUT",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .envs(env.iter().copied())
        .args(args)
        .args(["--config", path.to_str().expect("path"), "config", "check"])
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} not listed:\n{text}"))
}

#[test]
fn settings_come_from_flag_then_environment_then_file_then_default() {
    let file = "# a county's settings\n\
                database_url = \"postgres://kreisgeo:s3cret@db.kreis.local/kreisgeo\"\n\
                \n\
                [serve]\n\
                bind = \"0.0.0.0:9000\"\n\
                rate_limit = 50\n\
                public-url = \"https://geo.kreis.example\"\n\
                cors_origins = [\"https://a.example\", \"https://b.example\"]\n";
    let file = format!("log_format = \"json\"\nwal_archive = \"/srv/file-archive\"\n{file}");
    let out = config_check(
        &file,
        &[
            ("KREISGEO_RATE_LIMIT", "70"),
            ("KREISGEO_LOG_FORMAT", "json"),
            ("KREISGEO_WAL_ARCHIVE", "/srv/env-archive"),
        ],
        &["--log-format", "human"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The password never shows.
    assert!(!text.contains("s3cret"), "{text}");
    assert!(line(&text, "database_url").contains("postgres://kreisgeo:***@db.kreis.local/kreisgeo"));
    assert!(
        line(&text, "database_url").contains("kreisgeo.toml line 4"),
        "{text}"
    );
    // Flag over environment over file; environment over file; file over default (below).
    assert_eq!(
        line(&text, "log_format"),
        "log_format = \"human\"  # command line"
    );
    assert_eq!(
        line(&text, "wal_archive"),
        "wal_archive = \"/srv/env-archive\"  # environment KREISGEO_WAL_ARCHIVE"
    );
    let serve = &text[text.find("[serve]").expect("[serve]")..];
    assert!(
        line(serve, "bind").starts_with("bind = \"0.0.0.0:9000\"  # "),
        "{serve}"
    );
    assert!(
        line(serve, "bind").ends_with("kreisgeo.toml line 7"),
        "{serve}"
    );
    // Global options are listed once, not again under [serve].
    assert!(!serve.contains("log_format"), "{serve}");
    // The password shows in --help neither.
    let help = config_check(&file, &[], &["--help"]);
    assert!(!String::from_utf8_lossy(&help.stdout).contains("s3cret"));
    assert_eq!(
        line(serve, "rate_limit"),
        "rate_limit = 70  # environment KREISGEO_RATE_LIMIT"
    );
    assert!(line(serve, "public_url").contains("https://geo.kreis.example"));
    assert!(
        line(serve, "cors_origins").contains("[\"https://a.example\", \"https://b.example\"]"),
        "{serve}"
    );
    assert_eq!(
        line(serve, "statement_timeout"),
        "statement_timeout = \"30s\"  # default"
    );
}

#[test]
fn the_settings_file_refuses_unknown_keys_and_bad_values_with_their_line() {
    let out = config_check(
        "[serve]\nbind = \"127.0.0.1:8080\"\nbnd = \"x\"\n",
        &[],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3: unknown setting `bnd` in [serve]"),
        "{err}"
    );
    assert!(err.contains("known: ") && err.contains("bind"), "{err}");

    let out = config_check("[srve]\nbind = \"x\"\n", &[], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("line 2: there is no command `srve`"),
        "{err}"
    );

    let out = config_check("[serve]\nrate_limit = \"many\"\n", &[], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("many"), "{err}");

    let out = config_check("[serve\nbind = 1\n", &[], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("line 1"), "{err}");

    // Any command refuses to run with a bad file, not only the check.
    let dir = fresh_dir("config-bad");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("k.toml"), "unknown_global = 1\n").expect("write");
    let out = kreisgeo()
        .env("KREISGEO_CONFIG", dir.join("k.toml"))
        .args(["datasets", "list"])
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("line 1: unknown setting `unknown_global`"),
        "{err}"
    );
}

#[test]
fn the_example_settings_file_is_generated_from_the_options_and_is_accepted() {
    let out = kreisgeo()
        .args(["config", "example"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let generated = String::from_utf8_lossy(&out.stdout).into_owned();
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/kreisgeo.toml"),
    )
    .expect("packaging/kreisgeo.toml");
    assert!(
        generated == committed,
        "packaging/kreisgeo.toml is stale: run `kreisgeo config example > packaging/kreisgeo.toml`"
    );
    for setting in [
        "# bind = \"127.0.0.1:8080\"",
        "# backup_keep = 7",
        "# wal_archive = ",
        "[serve]",
    ] {
        assert!(committed.contains(setting), "{setting}");
    }
    // Every commented setting, uncommented, is accepted: the example names no unknown key.
    let uncommented: String = committed
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(key, value)| {
                    key.chars().all(|c| c.is_ascii_lowercase() || c == '_') && value != "\"…\""
                }) =>
            {
                rest
            }
            _ if l.starts_with('[') => l,
            _ => "",
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let out = config_check(&uncommented, &[], &[]);
    assert!(
        out.status.success(),
        "{}\n{uncommented}",
        String::from_utf8_lossy(&out.stderr)
    );
}
