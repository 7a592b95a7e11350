//! Faults a data centre sees, end to end with real processes: PostgreSQL restarted under a
//! running server, ingests killed or cut off mid-COPY, a shutdown with requests in flight.
//! Each test has its own PostgreSQL (tests/support/portal.rs) so that stopping it touches
//! nothing else.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/portal.rs"]
mod portal;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/http.rs"]
mod http;

use http::agent;
use portal::Portal;
use serde_json::Value as Json;

/// Status, Retry-After and JSON body (Null when not JSON) of a GET.
fn get(url: &str) -> (u16, Option<String>, Json) {
    let answer = http::get(url, &[]);
    let retry = answer.header("retry-after").map(str::to_string);
    (answer.status, retry, answer.json())
}

/// The served version of `dataset` and its feature count, as a client sees them.
fn served(portal: &Portal, dataset: &str) -> (i64, u64) {
    let (status, _, body) = get(&portal.url(&format!("/collections/{dataset}/items?limit=1")));
    assert_eq!(status, 200, "{body}\n{}", portal.log());
    let count = body["numberMatched"].as_u64().expect("numberMatched");
    let versions = portal.ok(&["datasets", "list"]);
    let line = versions
        .lines()
        .find(|l| l.split_whitespace().next() == Some(dataset))
        .unwrap_or_else(|| panic!("{dataset} not listed:\n{versions}"));
    // id, kind, active version, versions kept, title
    let version = line
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no version in {line:?}"));
    (version, count)
}

#[test]
fn postgres_restarted_under_a_running_server_answers_503_then_serves_again_by_itself() {
    let mut portal = Portal::start("restart");
    portal.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        "parcels",
    );
    portal.serve(&["--rate-limit", "0"]);
    let items = portal.url("/collections/parcels/items?limit=10");
    assert_eq!(get(&items).0, 200);
    // A tile of the parcels, now in the tile cache.
    let tile = portal.url("/collections/parcels/tiles/WebMercatorQuad/12/1330/2166");
    let (status, _, _) = get(&tile);
    assert!(status == 200 || status == 204, "{status}");
    let cached_status = status;

    for restart in 1..=2 {
        // The tile's collection in the catalog cache (after a restart its listener reconnects
        // within a second and starts afresh), the tile in the tile cache.
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(get(&tile).0, cached_status);
        portal.ok(&["db", "stop", "--mode", "fast"]);
        let asked = Instant::now();
        let (status, retry, body) = get(&items);
        let answered = asked.elapsed();
        assert_eq!(status, 503, "{body}\n{}", portal.log());
        assert_eq!(body["code"], "ServiceUnavailable");
        assert!(retry.is_some(), "503 without Retry-After");
        // Not a speed target: only that the answer comes and does not hang on a connection.
        assert!(answered < Duration::from_secs(5), "took {answered:?}");
        // Once the outage is known, answers come without waiting for a connection.
        let asked = Instant::now();
        assert_eq!(get(&portal.url("/collections/parcels")).0, 503);
        let second = asked.elapsed();
        let (status, _, body) = get(&portal.url("/health"));
        assert_eq!((status, body["status"].as_str()), (200, Some("up")));
        // What the caches hold is still served.
        assert_eq!(
            get(&tile).0,
            cached_status,
            "a cached tile during the outage"
        );
        let (status, _, body) = get(&portal.url("/ready"));
        assert_eq!((status, body["status"].as_str()), (503, Some("not ready")));

        portal.ok(&["db", "start"]);
        let back = Instant::now();
        loop {
            let (status, _, body) = get(&portal.url("/ready"));
            if status == 200 {
                break;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                back.elapsed() < Duration::from_secs(30),
                "no recovery:\n{}",
                portal.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Pages follow within moments (a request may still meet a connection the restart
        // cut and answer 503 once more, as a client retrying after Retry-After would see).
        let body = loop {
            let (status, _, body) = get(&items);
            if status == 200 {
                break body;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                back.elapsed() < Duration::from_secs(30),
                "ready, but no pages:\n{}",
                portal.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let recovered = back.elapsed();
        assert_eq!(body["features"].as_array().map(Vec::len), Some(10));
        println!(
            "restart {restart}: first 503 after {:.0} ms, next {:.1} ms; serving again {:.0} ms after PostgreSQL accepted connections",
            answered.as_secs_f64() * 1e3,
            second.as_secs_f64() * 1e3,
            recovered.as_secs_f64() * 1e3
        );
    }
    assert_eq!(served(&portal, "parcels").1, 1000);
    let metrics = agent()
        .get(&portal.url("/metrics"))
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    assert!(metrics.contains("status=\"503\""), "the outage is counted");
}

/// Starts an ingest of `file` as a new version of `parcels`, waits `after`, and then does
/// `interrupt` to it.
fn interrupted_ingest(
    portal: &Portal,
    file: &str,
    after: Duration,
    interrupt: impl FnOnce(&mut std::process::Child),
) -> String {
    let mut child = portal
        .cli()
        .args(["ingest", file, "--dataset", "parcels", "--kind", "parcels"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ingest");
    std::thread::sleep(after);
    interrupt(&mut child);
    let out = child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_ingest_killed_or_cut_off_mid_copy_leaves_the_served_version_intact() {
    let mut portal = Portal::start("killed-ingest");
    portal.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        "parcels",
    );
    let big = portal.file("parcels_300k.fgb");
    let big = big.to_str().expect("utf8 path");
    portal.ok(&[
        "generate", "--kind", "parcels", "--count", "300000", "--out", big,
    ]);
    portal.serve(&["--rate-limit", "0"]);
    let before = served(&portal, "parcels");
    assert_eq!(before.1, 1000);

    // kill -9 at several points of the load: reading, COPY, indexing, switching.
    for ms in [50, 300, 700, 1200] {
        let stderr = interrupted_ingest(&portal, big, Duration::from_millis(ms), |c| {
            let _ = c.kill();
        });
        let now = served(&portal, "parcels");
        // Either the ingest had not switched yet (the old version) or it had completed
        // (the whole new one): never anything in between.
        assert!(
            now == before || now.1 == 300_000,
            "after kill -9 at {ms} ms: {now:?} (before {before:?})\n{stderr}"
        );
        if now.1 == 300_000 {
            println!("kill -9 at {ms} ms: the ingest had already completed");
            break;
        }
        println!(
            "kill -9 at {ms} ms: still serving version {} with {} features",
            now.0, now.1
        );
    }
    let before = served(&portal, "parcels");

    // PostgreSQL stopped as in a crash while the ingest copies.
    let stderr = interrupted_ingest(&portal, big, Duration::from_millis(400), |_| {
        portal.ok(&["db", "stop", "--mode", "immediate"]);
    });
    assert!(!stderr.is_empty(), "the ingest must say it failed");
    println!(
        "ingest cut off by a PostgreSQL crash said: {}",
        stderr.lines().last().unwrap_or("")
    );
    portal.ok(&["db", "start"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&portal.url("/ready")).0 != 200 {
        assert!(Instant::now() < deadline, "no recovery:\n{}", portal.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = served(&portal, "parcels");
    assert!(
        after == before || after.1 == 300_000,
        "after the crash: {after:?} (before {before:?})"
    );

    // Nothing is left half-made: the next ingest works and is served whole.
    portal.ok(&["ingest", big, "--dataset", "parcels", "--kind", "parcels"]);
    let done = served(&portal, "parcels");
    assert_eq!(done.1, 300_000);
    assert!(done.0 > before.0);
}

#[test]
fn a_shutdown_lets_requests_in_flight_finish() {
    let mut portal = Portal::start("shutdown");
    // A download far larger than the socket buffers, so that the server is still writing it
    // when told to stop.
    let file = portal.file("parcels_100k.fgb");
    let file = file.to_str().expect("utf8 path");
    portal.ok(&[
        "generate", "--kind", "parcels", "--count", "100000", "--out", file,
    ]);
    portal.ok(&["ingest", file, "--dataset", "parcels", "--kind", "parcels"]);
    portal.ok(&["downloads", "build"]);
    portal.serve(&["--rate-limit", "0", "--shutdown-grace", "20s"]);
    let (status, _, listing) = get(&portal.url("/collections/parcels/downloads"));
    assert_eq!(status, 200, "{listing}");
    let file = listing["downloads"]
        .as_array()
        .and_then(|d| {
            d.iter()
                .find(|f| f["name"].as_str().is_some_and(|n| n.ends_with(".geojson")))
        })
        .cloned()
        .unwrap_or_else(|| panic!("no GeoJSON download in {listing}"));
    let size = file["bytes"].as_u64().expect("size");
    let path = format!(
        "/collections/parcels/downloads/{}",
        file["name"].as_str().expect("name")
    );

    // A slow client: it reads the first bytes, then the server is told to stop.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", portal.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut first = [0u8; 512];
    let n = stream.read(&mut first).expect("first bytes");
    assert!(n > 0);
    let server = portal.server.as_ref().expect("server");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    std::thread::sleep(Duration::from_millis(300));
    // The response in flight gets the whole file.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).expect("the rest");
    let mut whole = first[..n].to_vec();
    whole.extend_from_slice(&rest);
    let split = whole
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head");
    let head = String::from_utf8_lossy(&whole[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        (whole.len() - split - 4) as u64,
        size,
        "the body was cut short\n{head}\n{}",
        portal.log()
    );
    let status = portal.server.take().expect("server").wait().expect("exit");
    assert!(
        status.success(),
        "the server exits cleanly: {status:?}\n{}",
        portal.log()
    );
}

/// A tmpfs of its own for the test, unmounted however the test ends.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(path: std::path::PathBuf, size: &str) -> Self {
        std::fs::create_dir_all(&path).expect("mount point");
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&path)
            .status()
            .expect("mount")
            .success();
        assert!(ok, "cannot mount a tmpfs at {}", path.display());
        Self(path)
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("remount")
            .success();
        assert!(ok, "cannot resize the tmpfs");
    }

    fn used_bytes(&self) -> u64 {
        let stat = nix::sys::statvfs::statvfs(&self.0).expect("statvfs");
        (stat.blocks() - stat.blocks_free()) as u64 * stat.fragment_size() as u64
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Needs root (it mounts a small tmpfs for PostgreSQL's data): `make test` runs it when it runs
/// as root, as CI does, and says so when it cannot.
#[test]
#[ignore = "needs root to mount a small file system; make test runs it as root"]
fn a_disk_that_fills_up_during_an_ingest_leaves_the_served_version_intact() {
    let mount = std::env::temp_dir().join(format!("kreisgeo-full-disk-{}", std::process::id()));
    let disk = SmallDisk::mount(mount.clone(), "1g");
    let mut portal = Portal::start_at(mount.join("portal"));
    portal.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        "parcels",
    );
    // The big file lives elsewhere: only PostgreSQL's writes are to fill the disk.
    let big = std::env::temp_dir().join(format!("kreisgeo-full-disk-{}.fgb", std::process::id()));
    let big_s = big.to_str().expect("utf8 path").to_string();
    portal.ok(&[
        "generate", "--kind", "parcels", "--count", "300000", "--out", &big_s,
    ]);
    portal.serve(&["--rate-limit", "0"]);
    let before = served(&portal, "parcels");
    // Room for a few MB more than the installation takes: the ingest needs far more.
    let used = disk.used_bytes();
    disk.resize(&format!("{}k", used / 1024 + 24 * 1024));

    let out = portal.run(&[
        "ingest",
        &big_s,
        "--dataset",
        "parcels",
        "--kind",
        "parcels",
    ]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "the ingest cannot have fitted: {said}"
    );
    println!(
        "ingest on a full disk said: {}",
        said.lines().last().unwrap_or("")
    );

    // Room again; PostgreSQL may have stopped (a full disk under its WAL makes it PANIC).
    disk.resize("1g");
    portal.ok(&["db", "start"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&portal.url("/ready")).0 != 200 {
        assert!(Instant::now() < deadline, "no recovery:\n{}", portal.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = served(&portal, "parcels");
    assert_eq!(
        after,
        before,
        "the served version changed:\n{}",
        portal.log()
    );
    // Nothing half-made is left behind: the same ingest now works, and is served whole.
    portal.ok(&[
        "ingest",
        &big_s,
        "--dataset",
        "parcels",
        "--kind",
        "parcels",
    ]);
    assert_eq!(served(&portal, "parcels").1, 300_000);
    let _ = std::fs::remove_file(&big);
    drop(portal);
    drop(disk);
}

#[test]
fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    let mut portal = Portal::start("slow-client");
    portal.serve(&["--header-timeout", "1s"]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", portal.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // Half a request head, then nothing, as a slow-loris client does.
    stream
        .write_all(b"GET /collections HTTP/1.1\r\nHost: localhost\r\n")
        .expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    let waited = started.elapsed();
    assert!(
        read.is_ok(),
        "the server did not close the connection: {read:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "the connection was held {waited:?}"
    );
    let head = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || head.starts_with("HTTP/1.1 408"),
        "{head}"
    );
    // The server still serves everyone else.
    assert_eq!(get(&portal.url("/health")).0, 200);
}

/// What a client can compare of a served installation: the served version, ETags of pages
/// and collections, every download's name and hash, the catalog's description.
fn served_state(portal: &Portal) -> Vec<String> {
    let mut state = Vec::new();
    for dataset in ["parcels", "aed"] {
        state.push(format!("{dataset} version {:?}", served(portal, dataset)));
        for path in [
            format!("/collections/{dataset}"),
            format!("/collections/{dataset}/items?limit=50"),
        ] {
            let answer = http::get(&portal.url(&path), &[]);
            assert_eq!(answer.status, 200, "{path}: {}", portal.log());
            state.push(format!("{path} {:?}", answer.header("etag")));
        }
        let list = http::get(
            &portal.url(&format!("/collections/{dataset}/downloads")),
            &[],
        )
        .json();
        let downloads = list["downloads"].as_array().expect("downloads");
        assert!(!downloads.is_empty(), "{dataset}: no downloads");
        for d in downloads {
            state.push(format!("{} {} {}", d["name"], d["bytes"], d["sha256"]));
        }
    }
    let catalog = http::get(
        &portal.url("/catalog/datasets/parcels"),
        &[("accept", "text/turtle")],
    );
    assert_eq!(catalog.status, 200);
    state.push(String::from_utf8_lossy(&catalog.body).into_owned());
    // Keys and the audit log, as the CLI lists them.
    state.push(portal.ok(&["keys", "list"]));
    state.push(portal.ok(&["keys", "audit"]));
    state
}

/// The first download of `dataset`, fetched whole: its SHA-256 as the server states it and
/// as its bytes give it.
fn download_hash(portal: &Portal, dataset: &str) -> (String, String) {
    use sha2::Digest;
    let list = http::get(
        &portal.url(&format!("/collections/{dataset}/downloads")),
        &[],
    )
    .json();
    let first = &list["downloads"][0];
    let href = first["href"].as_str().expect("href");
    let path = &href[href.find("/collections").expect("path")..];
    let body = http::get(&portal.url(path), &[]).body;
    (
        first["sha256"].as_str().expect("sha256").to_string(),
        hex::encode(sha2::Sha256::digest(&body)),
    )
}

/// Ingests a different set of parcels as a new version of `parcels`.
fn ingest_other_parcels(portal: &Portal, seed: &str) {
    let file = portal.file(&format!("parcels-{seed}.fgb"));
    let out = file.to_str().unwrap();
    portal.ok(&[
        "generate", "--kind", "parcels", "--count", "300", "--seed", seed, "--out", out,
    ]);
    portal.ok(&["ingest", out, "--dataset", "parcels", "--kind", "parcels"]);
    portal.ok(&["downloads", "build"]);
}

/// Where two served states differ (the first difference only: they are long).
fn differs(a: &[String], b: &[String]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} vs {} entries", a.len(), b.len()));
    }
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("{x:.300}\n  vs\n{y:.300}"))
}

/// An installation with two datasets, their downloads, an API key and an audited admin action.
fn portal_with_data(name: &str) -> (Portal, String) {
    let mut portal = Portal::start(name);
    portal.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        "parcels",
    );
    portal.ingest("generated/aed_lueneburg_200_25832.geojson", "aed", "aed");
    portal.ok(&["downloads", "build"]);
    let key = portal
        .ok(&["keys", "create", "--name", "Fachdienst GIS"])
        .trim()
        .to_string();
    portal.serve(&["--rate-limit", "0"]);
    (portal, key)
}

fn admin_get(portal: &Portal, path: &str, key: &str) -> u16 {
    http::get(
        &portal.url(path),
        &[("authorization", &format!("Bearer {key}"))],
    )
    .status
}

#[test]
fn a_backup_restores_exactly_what_was_served_after_the_data_directory_is_lost() {
    let (mut portal, key) = portal_with_data("backup");
    assert_eq!(
        admin_get(&portal, "/admin/datasets/parcels/metadata", &key),
        200
    );
    let before = served_state(&portal);
    let (stated, fetched) = download_hash(&portal, "parcels");
    assert_eq!(stated, fetched);

    // Taken while serving.
    let archive = portal.file("kreisgeo.pgdump");
    let said = portal.ok(&["db", "backup", archive.to_str().unwrap()]);
    assert!(
        said.contains("2 datasets") && said.contains("read back and checked"),
        "{said}"
    );
    assert!(archive.with_extension("pgdump.manifest.json").is_file());

    // Another version after the backup, then the disk is lost.
    ingest_other_parcels(&portal, "2");
    assert!(
        differs(&served_state(&portal), &before).is_some(),
        "the new version is served"
    );
    let mut server = portal.server.take().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    portal.ok(&["db", "stop", "--mode", "immediate"]);
    std::fs::remove_dir_all(portal.data_dir()).unwrap();

    let said = portal.ok(&["db", "restore", archive.to_str().unwrap()]);
    assert!(
        said.contains("2 datasets") && said.contains("migrated"),
        "{said}"
    );
    portal.serve_on(portal.port, &["--rate-limit", "0"]);
    assert_eq!(differs(&served_state(&portal), &before), None);
    assert_eq!(download_hash(&portal, "parcels"), (stated.clone(), stated));

    // A restore never goes over data: the running installation is left as it is.
    let refused = portal.run(&["db", "restore", archive.to_str().unwrap()]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("not empty"), "{message}");
    assert_eq!(differs(&served_state(&portal), &before), None);
    // The key still works (its use is audited: after the comparisons).
    assert_eq!(
        admin_get(&portal, "/admin/datasets/parcels/metadata", &key),
        200
    );

    // A damaged archive is refused before anything is loaded.
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let other = portal.file("other-pg");
    let refused = portal
        .cli()
        .env("KREISGEO_DATA_DIR", &other)
        .args(["db", "restore", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("damaged"), "{message}");
    let _ = portal
        .cli()
        .env("KREISGEO_DATA_DIR", &other)
        .args(["db", "stop", "--mode", "fast"])
        .status();
}

#[test]
fn a_backup_killed_midway_leaves_no_backup_and_the_previous_one_restores() {
    let (mut portal, _) = portal_with_data("backup-kill");
    let before = served_state(&portal);
    let good = portal.file("good.pgdump");
    portal.ok(&["db", "backup", good.to_str().unwrap()]);
    ingest_other_parcels(&portal, "2");

    let cut = portal.file("cut.pgdump");
    let mut backup = portal
        .cli()
        .args(["db", "backup", cut.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let partial = portal.file("cut.pgdump.partial");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !partial.exists() {
        assert!(Instant::now() < deadline, "pg_dump never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    backup.kill().unwrap(); // SIGKILL
    backup.wait().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(!cut.exists(), "a killed backup must not look complete");
    assert!(!portal.file("cut.pgdump.manifest.json").exists());

    // The data in use is untouched, and the earlier backup restores into a new directory.
    assert!(differs(&served_state(&portal), &before).is_some());
    let elsewhere = Portal::start_at(portal.file("elsewhere"));
    // start_at started an empty PostgreSQL there: a restore into its empty database works too.
    let said = elsewhere.ok(&["db", "restore", good.to_str().unwrap()]);
    assert!(said.contains("2 datasets"), "{said}");
    let mut elsewhere = elsewhere;
    let mut server = portal.server.take().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    elsewhere.serve_on(portal.port, &["--rate-limit", "0"]);
    assert_eq!(differs(&served_state(&elsewhere), &before), None);
}

#[test]
fn scheduled_backups_are_verified_and_pruned_while_serving() {
    let (mut portal, _) = portal_with_data("backup-schedule");
    let dir = portal.file("backups");
    std::fs::create_dir_all(&dir).unwrap();
    // What a backup killed with its server left behind.
    std::fs::write(
        dir.join("kreisgeo-20260101T000000Z.pgdump.partial"),
        b"PGDMP cut",
    )
    .unwrap();
    let mut server = portal.server.take().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let dir_arg = dir.to_str().unwrap().to_string();
    portal.serve(&[
        "--rate-limit",
        "0",
        "--backup-dir",
        &dir_arg,
        "--backup-every",
        "1s",
        "--backup-keep",
        "2",
    ]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut served_meanwhile = 0;
    while portal.log().matches("scheduled backup verified").count() < 4 {
        assert!(Instant::now() < deadline, "no backups:\n{}", portal.log());
        assert_eq!(
            get(&portal.url("/collections/parcels/items?limit=100")).0,
            200
        );
        served_meanwhile += 1;
    }
    assert!(served_meanwhile > 0);
    std::thread::sleep(Duration::from_millis(500));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".partial"))
        .collect();
    names.sort();
    let archives: Vec<&String> = names.iter().filter(|n| n.ends_with(".pgdump")).collect();
    assert!(
        archives.len() == 2 || archives.len() == 3,
        "keep 2 (a third may be in its check): {names:?}"
    );
    for a in &archives[..2] {
        assert!(names.contains(&format!("{a}.manifest.json")), "{names:?}");
    }
    assert!(
        !dir.join("kreisgeo-20260101T000000Z.pgdump.partial")
            .exists(),
        "the interrupted backup's leftover is removed"
    );
    assert!(
        portal.log().contains("old backup removed"),
        "{}",
        portal.log()
    );
}

/// Stops the server and PostgreSQL as a crash would and removes the data directory.
fn lose_the_disk(portal: &mut Portal) {
    if let Some(mut server) = portal.server.take() {
        server.kill().unwrap();
        server.wait().unwrap();
    }
    portal.ok(&["db", "stop", "--mode", "immediate"]);
    std::fs::remove_dir_all(portal.data_dir()).unwrap();
}

#[test]
fn a_point_in_time_restore_serves_what_was_there_at_that_moment() {
    let scratch = std::env::temp_dir().join(format!("kreisgeo-pitr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let archive = scratch.join("wal-archive");
    // Every command archives (db start turns it on and takes the first base backup).
    let mut portal = Portal::start_with(
        scratch,
        vec![("KREISGEO_WAL_ARCHIVE".into(), archive.display().to_string())],
    );
    // One cluster (named by its system identifier) with its first base backup.
    let clusters: Vec<_> = archive
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0].join("base").read_dir().unwrap().count(), 1);
    portal.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        "parcels",
    );
    portal.ingest("generated/aed_lueneburg_200_25832.geojson", "aed", "aed");
    portal.ok(&["downloads", "build"]);
    portal.serve(&["--rate-limit", "0"]);
    let first = served_state(&portal);

    std::thread::sleep(Duration::from_millis(1500));
    let moment = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    std::thread::sleep(Duration::from_millis(1500));
    ingest_other_parcels(&portal, "2");
    let second = served_state(&portal);
    assert!(differs(&first, &second).is_some());
    // A later base backup (it also closes the WAL segment holding the second version).
    portal.ok(&["db", "base-backup"]);

    lose_the_disk(&mut portal);
    let said = portal.ok(&["db", "restore", "--to", &moment]);
    assert!(said.contains("restored to"), "{said}");
    portal.serve_on(portal.port, &["--rate-limit", "0"]);
    assert_eq!(
        differs(&served_state(&portal), &first),
        None,
        "restored to {moment}"
    );

    // Life goes on from there (a new timeline); the end of the archive is that life's end.
    ingest_other_parcels(&portal, "3");
    let third = served_state(&portal);
    assert!(differs(&third, &first).is_some() && differs(&third, &second).is_some());
    portal.ok(&["db", "base-backup"]);
    lose_the_disk(&mut portal);
    portal.ok(&["db", "restore"]);
    portal.serve_on(portal.port, &["--rate-limit", "0"]);
    assert_eq!(
        differs(&served_state(&portal), &third),
        None,
        "restored to the end of the archive"
    );
}

/// What a client sees of an installation that must survive an upgrade: per dataset its title,
/// the features (id, geometry, properties; hashed), their number and every download's name,
/// size and hash (its bytes fetched and checked); whether the API key works.
fn upgrade_state(base: &str, key: &str) -> Json {
    use sha2::Digest;
    let mut datasets = serde_json::Map::new();
    for id in ["parcels", "aed"] {
        let collection = http::get(&format!("{base}/collections/{id}"), &[]).json();
        let mut features: Vec<Json> = Vec::new();
        let mut next = Some(format!("{base}/collections/{id}/items?limit=1000"));
        while let Some(url) = next.take() {
            let page = http::get(&url, &[]).json();
            for f in page["features"].as_array().expect("features") {
                features.push(serde_json::json!({
                    "id": f["id"], "geometry": f["geometry"], "properties": f["properties"]
                }));
            }
            next = page["links"]
                .as_array()
                .and_then(|links| links.iter().find(|l| l["rel"] == "next"))
                .and_then(|l| l["href"].as_str())
                .map(|h| format!("{base}{}", &h[h.find("/collections").expect("path")..]));
        }
        features.sort_by_key(|f| f["id"].to_string());
        let text = serde_json::to_string(&features).unwrap();
        let mut downloads = Vec::new();
        let list = http::get(&format!("{base}/collections/{id}/downloads"), &[]).json();
        for d in list["downloads"].as_array().expect("downloads") {
            let href = d["href"].as_str().expect("href");
            let body = http::get(
                &format!("{base}{}", &href[href.find("/collections").unwrap()..]),
                &[],
            )
            .body;
            assert_eq!(
                d["sha256"],
                hex::encode(sha2::Sha256::digest(&body)),
                "{href}"
            );
            downloads.push(serde_json::json!([d["name"], d["bytes"], d["sha256"]]));
        }
        datasets.insert(
            id.to_string(),
            serde_json::json!({
                "title": collection["title"],
                "features": features.len(),
                "features_sha256": hex::encode(sha2::Sha256::digest(text.as_bytes())),
                "downloads": downloads,
            }),
        );
    }
    let admin = http::get(
        &format!("{base}/admin/datasets/parcels/metadata"),
        &[("authorization", &format!("Bearer {key}"))],
    )
    .status;
    serde_json::json!({ "datasets": datasets, "key_works": admin == 200 })
}

/// `datasets versions ID` without its header: id, active, loaded, features, source.
fn versions_listed(cli: &mut Command, id: &str) -> Vec<String> {
    let out = cli.args(["datasets", "versions", id]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("source "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Run by scripts/make-upgrade-fixture.sh against an earlier release's server: records what
/// it serves.
#[test]
#[ignore = "records the upgrade fixture; run by scripts/make-upgrade-fixture.sh"]
fn record_the_upgrade_fixture() {
    let base = std::env::var("KREISGEO_UPGRADE_RECORD").expect("KREISGEO_UPGRADE_RECORD");
    let key = std::env::var("KREISGEO_UPGRADE_KEY").expect("KREISGEO_UPGRADE_KEY");
    let mut state = upgrade_state(&base, &key);
    assert_eq!(state["key_works"], true);
    let old = std::env::var("KREISGEO_UPGRADE_CLI").expect("KREISGEO_UPGRADE_CLI");
    for id in ["parcels", "aed"] {
        state["versions"][id] = serde_json::json!(versions_listed(&mut Command::new(&old), id));
    }
    state["key"] = Json::String(key);
    state["rev"] = Json::String(std::env::var("KREISGEO_UPGRADE_REV").unwrap_or_default());
    let out = std::env::var("KREISGEO_UPGRADE_OUT").expect("KREISGEO_UPGRADE_OUT");
    std::fs::write(out, serde_json::to_string_pretty(&state).unwrap() + "\n").unwrap();
}

#[test]
fn a_backup_of_an_earlier_release_is_served_identically_after_migrating() {
    let dir = portal::manifest().join("fixtures/upgrade");
    let mut fixtures: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgdump"))
        .collect();
    fixtures.sort();
    assert!(
        !fixtures.is_empty(),
        "no upgrade fixture in {}",
        dir.display()
    );
    for archive in fixtures {
        let expected: Json = serde_json::from_str(
            &std::fs::read_to_string(archive.with_extension("expected.json")).unwrap(),
        )
        .unwrap();
        let name = archive.file_stem().unwrap().to_string_lossy().into_owned();
        let mut portal = Portal::start(&format!("upgrade-{name}"));
        let said = portal.ok(&["db", "restore", archive.to_str().unwrap()]);
        assert!(said.contains("migrated"), "{said}");
        portal.serve(&["--rate-limit", "0"]);
        let key = expected["key"].as_str().unwrap();
        let mut state = upgrade_state(&portal.url(""), key);
        for id in ["parcels", "aed"] {
            state["versions"][id] = serde_json::json!(versions_listed(&mut portal.cli(), id));
        }
        state["key"] = expected["key"].clone();
        state["rev"] = expected["rev"].clone();
        assert_eq!(
            state, expected,
            "{name}: served differently after the upgrade"
        );
        // The older kept version is there too: rolling back serves it.
        portal.ok(&["datasets", "rollback", "parcels"]);
        let listed = versions_listed(&mut portal.cli(), "parcels");
        let active = listed
            .iter()
            .find(|l| l.split(' ').nth(1) == Some("*"))
            .unwrap();
        let count: u64 = active.split(' ').nth(3).unwrap().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = http::get(&portal.url("/collections/parcels/items?limit=1"), &[]).json();
            if page["numberMatched"] == count {
                break;
            }
            assert!(Instant::now() < deadline, "rollback not served: {page}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Migrations only go forward, each in its own transaction (sqlx's default, unless a file
    // opts out).
    for entry in std::fs::read_dir(portal::manifest().join("migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(".down."),
            "{name}: migrations are forward-only"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("no-transaction"),
            "{name} runs outside a transaction"
        );
    }
}

#[test]
fn a_database_url_server_is_backed_up_and_restored_into_an_empty_database() {
    let (mut portal, _) = portal_with_data("backup-url");
    let before = served_state(&portal);
    // The embedded server stands in for a DATABASE_URL server kreisgeo does not manage.
    let url = portal.ok(&["db", "url"]).trim().to_string();
    let archive = portal.file("url.pgdump");
    let out = portal
        .cli()
        .env("DATABASE_URL", &url)
        .args(["db", "backup", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = format!("{}/restored", &url[..url.rfind('/').unwrap()]);
    let created = Command::new("psql")
        .args([url.as_str(), "-qc", "CREATE DATABASE restored"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let out = portal
        .cli()
        .env("DATABASE_URL", &restored)
        .args(["db", "restore", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same server, now on the restored database.
    let mut server = portal.server.take().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    portal.env.push(("DATABASE_URL".into(), restored.clone()));
    portal.serve_on(portal.port, &["--rate-limit", "0"]);
    assert_eq!(differs(&served_state(&portal), &before), None);
    // Not over data: the restored database is no longer empty.
    let out = portal
        .cli()
        .args(["db", "restore", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
}
