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
