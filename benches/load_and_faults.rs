//! Load and faults together, bounded and on loopback only: mixed traffic (parcel pages, vector
//! tiles, nearest-AED, AED pages, a harvester paging through every AED) from closed-loop
//! clients at the highest rate the machine sustains, while PostgreSQL is restarted twice and
//! an ingest replaces the AED dataset. Every answer is checked, not only counted.
//!
//! Run with `benches/load_and_faults.sh` (builds the release binary first), or
//! `cargo bench --bench load_and_faults -- [--seconds 300] [--clients 24] [--parcels 200000]`.
//! It prints requests by status class, p50/p99 per endpoint, the outage and recovery time of
//! each restart, and the wrong answers (pages that mix the two AED versions, pages whose
//! feature count contradicts their own numberReturned or paging, nearest answers out of
//! distance order, 503s without a JSON body or Retry-After, 5xx outside an outage). It exits
//! non-zero if there is any wrong answer or any unexpected 5xx.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

mod common;
use common::{percentile, tile_of, Rng, EAST, NORTH, SOUTH, WEST};

struct Options {
    seconds: u64,
    clients: usize,
    parcels: usize,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 300,
        clients: 24,
        parcels: 200_000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match args[i].as_str() {
            "--seconds" => o.seconds = value().expect("--seconds N"),
            "--clients" => o.clients = value().expect("--clients N") as usize,
            "--parcels" => o.parcels = value().expect("--parcels N") as usize,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Endpoint {
    ParcelPage,
    AedPage,
    Tile,
    Nearest,
    Harvest,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::ParcelPage => "parcel page (limit 100-1000, bbox)",
            Endpoint::AedPage => "AED page (limit 100, bbox)",
            Endpoint::Tile => "vector tile (z12-15)",
            Endpoint::Nearest => "nearest AED (5)",
            Endpoint::Harvest => "AED harvest page (limit 1000, next)",
        }
    }
}

struct Sample {
    endpoint: Endpoint,
    at: Duration,
    micros: u64,
    /// HTTP status, or 0 for a transport error (refused, reset, cut off).
    status: u16,
}

#[derive(Default)]
struct Record {
    samples: Vec<Sample>,
    wrong: Vec<String>,
    /// AED answers by the version (batch) they showed: both must appear.
    batches: BTreeMap<String, u64>,
}

struct Run {
    base: String,
    started: Instant,
    deadline: Instant,
    record: Mutex<Record>,
    stop: AtomicBool,
}

impl Run {
    fn saw(&self, batch: Option<String>) {
        if let Some(b) = batch {
            *self
                .record
                .lock()
                .expect("lock")
                .batches
                .entry(b)
                .or_default() += 1;
        }
    }

    fn wrong(&self, what: String) {
        let mut r = self.record.lock().expect("lock");
        if r.wrong.len() < 1000 {
            r.wrong.push(what);
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Status, Retry-After, body; status 0 when the exchange failed (refused, reset, cut off).
fn fetch(agent: &ureq::Agent, url: &str) -> (u16, Option<String>, Vec<u8>) {
    // Tiles as MapLibre asks for them (their bodies are not parsed here); the rest plain, as
    // this client does not inflate.
    let coding = if url.contains("/tiles/") {
        "gzip"
    } else {
        "identity"
    };
    match agent.get(url).header("Accept-Encoding", coding).call() {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let gzip = resp
                .headers()
                .get("content-encoding")
                .is_some_and(|v| v.as_bytes() == b"gzip");
            match resp.body_mut().with_config().limit(u64::MAX).read_to_vec() {
                // Error bodies are read; a tile's is only counted.
                Ok(body) if gzip && status != 200 => {
                    let mut plain = Vec::new();
                    use std::io::Read;
                    match flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain) {
                        Ok(_) => (status, retry, plain),
                        Err(_) => (0, None, Vec::new()),
                    }
                }
                Ok(body) => (status, retry, body),
                Err(_) => (0, None, Vec::new()),
            }
        }
        Err(_) => (0, None, Vec::new()),
    }
}

/// The batch ("A" or "B": which AED version) of every feature, if they agree.
fn one_batch(features: &[Json]) -> Result<Option<String>, String> {
    let mut batch: Option<&str> = None;
    for f in features {
        let b = f["properties"]["batch"]
            .as_str()
            .ok_or("a feature without batch")?;
        match batch {
            None => batch = Some(b),
            Some(seen) if seen != b => return Err(format!("batches {seen} and {b} in one answer")),
            _ => {}
        }
    }
    Ok(batch.map(str::to_string))
}

/// Checks a feature page: parses, counts agree, a page with `next` is full.
fn check_page(body: &[u8], limit: usize) -> Result<(Json, Vec<Json>), String> {
    let page: Json = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let features = page["features"].as_array().cloned().ok_or("no features")?;
    let returned = page["numberReturned"].as_u64().ok_or("no numberReturned")? as usize;
    if returned != features.len() {
        return Err(format!(
            "numberReturned {returned} but {} features",
            features.len()
        ));
    }
    let next = page["links"]
        .as_array()
        .is_some_and(|l| l.iter().any(|l| l["rel"] == "next"));
    if next && features.len() != limit {
        return Err(format!(
            "a next link after {} of {limit} features",
            features.len()
        ));
    }
    if let Some(matched) = page["numberMatched"].as_u64() {
        if !next && (features.len() as u64) > matched {
            return Err(format!(
                "{} features but numberMatched {matched}",
                features.len()
            ));
        }
    }
    Ok((page, features))
}

fn client(run: Arc<Run>, seed: u64) {
    let agent = agent();
    let mut rng = Rng(seed);
    while Instant::now() < run.deadline && !run.stop.load(Ordering::Relaxed) {
        let pick = rng.unit();
        let (lon, lat) = (rng.between(WEST, EAST), rng.between(SOUTH, NORTH));
        let (endpoint, url, limit) = if pick < 0.45 {
            let z = [12u32, 13, 13, 14, 14, 14, 15, 15][(rng.next() % 8) as usize];
            let (x, y) = tile_of(lon, lat, z);
            (
                Endpoint::Tile,
                format!(
                    "{}/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}",
                    run.base
                ),
                0,
            )
        } else if pick < 0.70 {
            let limit = [100usize, 100, 500, 1000][(rng.next() % 4) as usize];
            let d = rng.between(0.005, 0.05);
            (
                Endpoint::ParcelPage,
                format!(
                    "{}/collections/parcels/items?limit={limit}&bbox={},{},{},{}",
                    run.base,
                    lon - d,
                    lat - d,
                    lon + d,
                    lat + d
                ),
                limit,
            )
        } else if pick < 0.90 {
            (
                Endpoint::Nearest,
                format!(
                    "{}/collections/aed/nearest?point={lon},{lat}&limit=5",
                    run.base
                ),
                5,
            )
        } else {
            let d = rng.between(0.02, 0.2);
            (
                Endpoint::AedPage,
                format!(
                    "{}/collections/aed/items?limit=100&bbox={},{},{},{}",
                    run.base,
                    lon - d,
                    lat - d,
                    lon + d,
                    lat + d
                ),
                100,
            )
        };
        let asked = Instant::now();
        let (status, retry, body) = fetch(&agent, &url);
        let micros = asked.elapsed().as_micros() as u64;
        let at = asked - run.started;
        match status {
            200 => {
                let verdict = match endpoint {
                    Endpoint::Tile => {
                        if body.is_empty() {
                            Err("an empty 200 tile".to_string())
                        } else {
                            Ok(())
                        }
                    }
                    Endpoint::ParcelPage => check_page(&body, limit).map(|_| ()),
                    Endpoint::AedPage => check_page(&body, limit)
                        .and_then(|(_, f)| one_batch(&f))
                        .map(|b| run.saw(b)),
                    Endpoint::Nearest => serde_json::from_slice::<Json>(&body)
                        .map_err(|e| format!("not JSON: {e}"))
                        .and_then(|page| {
                            let features = page["features"].as_array().cloned().unwrap_or_default();
                            let d: Vec<f64> = features
                                .iter()
                                .filter_map(|f| f["properties"]["distance_m"].as_f64())
                                .collect();
                            if d.len() != features.len() || features.is_empty() {
                                return Err(format!(
                                    "{} features, {} distances",
                                    features.len(),
                                    d.len()
                                ));
                            }
                            if d.windows(2).any(|w| w[0] > w[1]) {
                                return Err(format!("out of distance order: {d:?}"));
                            }
                            one_batch(&features).map(|b| run.saw(b))
                        }),
                    Endpoint::Harvest => Ok(()),
                };
                if let Err(e) = verdict {
                    run.wrong(format!("{}: {url}: {e}", endpoint.name()));
                }
            }
            204 if endpoint == Endpoint::Tile => {}
            500..=502 | 504..=599 => {
                let text = String::from_utf8_lossy(&body);
                run.wrong(format!("{url}: {status} {text}"));
            }
            503 => {
                let json: Option<Json> = serde_json::from_slice(&body).ok();
                if retry.is_none() || json.is_none_or(|j| j["code"].is_null()) {
                    run.wrong(format!("{url}: 503 without Retry-After or JSON body"));
                }
            }
            _ => {}
        }
        run.record.lock().expect("lock").samples.push(Sample {
            endpoint,
            at,
            micros,
            status,
        });
        if status == 503 || status == 0 {
            // As a real client would: back off a little, not hammer a failing server.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Pages through every AED again and again by `next`: each harvest must see one version
/// throughout, and as many features as that version has — or end in 410 Gone when its version
/// was pruned, never in a silently shorter list.
fn harvester(run: Arc<Run>) {
    let agent = agent();
    let mut harvests = 0u32;
    'harvests: while Instant::now() < run.deadline && !run.stop.load(Ordering::Relaxed) {
        let mut url = format!("{}/collections/aed/items?limit=1000", run.base);
        let mut batch: Option<String> = None;
        let mut count = 0usize;
        let mut matched: Option<u64> = None;
        loop {
            let asked = Instant::now();
            let (status, _, body) = fetch(&agent, &url);
            run.record.lock().expect("lock").samples.push(Sample {
                endpoint: Endpoint::Harvest,
                at: asked - run.started,
                micros: asked.elapsed().as_micros() as u64,
                status,
            });
            if status != 200 {
                std::thread::sleep(Duration::from_millis(50));
                continue 'harvests;
            }
            let (page, features) = match check_page(&body, 1000) {
                Ok(p) => p,
                Err(e) => {
                    run.wrong(format!("harvest: {url}: {e}"));
                    continue 'harvests;
                }
            };
            matched = matched.or(page["numberMatched"].as_u64());
            match one_batch(&features) {
                Ok(Some(b)) => match &batch {
                    Some(seen) if *seen != b => {
                        run.wrong(format!("harvest mixed versions: {seen} then {b} at {url}"));
                        continue 'harvests;
                    }
                    _ => batch = Some(b),
                },
                Ok(None) => {}
                Err(e) => run.wrong(format!("harvest: {url}: {e}")),
            }
            count += features.len();
            let next = page["links"].as_array().and_then(|l| {
                l.iter()
                    .find(|l| l["rel"] == "next")
                    .and_then(|l| l["href"].as_str())
                    .map(str::to_string)
            });
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        if let Some(m) = matched {
            if count as u64 != m {
                run.wrong(format!("harvest of {count} features, numberMatched {m}"));
            }
        }
        harvests += 1;
    }
    println!("harvester: {harvests} complete harvests of every AED");
}

struct Portal {
    bin: PathBuf,
    data_dir: PathBuf,
    server: Option<Child>,
}

impl Portal {
    fn cli(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new(&self.bin)
            .env("KREISGEO_DATA_DIR", &self.data_dir)
            .env_remove("DATABASE_URL")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run kreisgeo");
        if !out.status.success() {
            eprintln!(
                "kreisgeo {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        self.cli(&["db", "stop", "--mode", "fast"]);
    }
}

/// Writes the generated AEDs of `seed` with a `batch` property naming the version.
fn aed_file(portal: &Portal, dir: &Path, seed: u64, batch: &str) -> PathBuf {
    let raw = dir.join(format!("aed_{seed}.geojson"));
    let raw_s = raw.display().to_string();
    portal.cli(&[
        "generate",
        "--kind",
        "aed",
        "--count",
        "10000",
        "--seed",
        &seed.to_string(),
        "--out",
        &raw_s,
    ]);
    let mut doc: Json =
        serde_json::from_slice(&std::fs::read(&raw).expect("generated AEDs")).expect("GeoJSON");
    for f in doc["features"].as_array_mut().expect("features") {
        f["properties"]["batch"] = Json::String(batch.into());
    }
    let out = dir.join(format!("aed_{batch}.geojson"));
    std::fs::write(&out, serde_json::to_vec(&doc).expect("json")).expect("write");
    out
}

fn main() {
    let o = options();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("KREISGEO_BIN")
        .map_or_else(|| manifest.join("target/release/kreisgeo"), PathBuf::from);
    assert!(
        bin.exists(),
        "build the server first: cargo build --release"
    );
    // /tmp: under root the postgres user must reach the data directory.
    let dir = std::env::temp_dir().join(format!("kreisgeo-load-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut portal = Portal {
        bin,
        data_dir: dir.join("pg"),
        server: None,
    };
    assert!(portal.cli(&["db", "start"]).status.success());
    let parcels = dir.join("parcels.fgb").display().to_string();
    println!("preparing {} parcels and 2 x 10,000 AEDs …", o.parcels);
    portal.cli(&[
        "generate",
        "--kind",
        "parcels",
        "--count",
        &o.parcels.to_string(),
        "--out",
        &parcels,
    ]);
    assert!(portal
        .cli(&[
            "ingest",
            &parcels,
            "--dataset",
            "parcels",
            "--kind",
            "parcels"
        ])
        .status
        .success());
    let aed_a = aed_file(&portal, &dir, 1, "A");
    let aed_b = aed_file(&portal, &dir, 2, "B");
    assert!(portal
        .cli(&[
            "ingest",
            &aed_a.display().to_string(),
            "--dataset",
            "aed",
            "--kind",
            "aed"
        ])
        .status
        .success());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let log = std::fs::File::create(dir.join("serve.log")).expect("log");
    portal.server = Some(
        Command::new(&portal.bin)
            .env("KREISGEO_DATA_DIR", &portal.data_dir)
            .env_remove("DATABASE_URL")
            // One load generator is one client far beyond any per-client limit.
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--rate-limit",
                "0",
                "--requests-per-client",
                "100000",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("serve"),
    );
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    let started = Instant::now();
    let run = Arc::new(Run {
        base: format!("http://127.0.0.1:{port}"),
        started,
        deadline: started + Duration::from_secs(o.seconds),
        record: Mutex::new(Record::default()),
        stop: AtomicBool::new(false),
    });
    println!(
        "{} s of load from {} clients and a harvester; PostgreSQL restarts at 20 % and 70 %, the AED ingest at 45 %",
        o.seconds, o.clients
    );
    let mut threads: Vec<_> = (0..o.clients)
        .map(|i| {
            let run = run.clone();
            std::thread::spawn(move || client(run, 1000 + i as u64))
        })
        .collect();
    {
        let run = run.clone();
        threads.push(std::thread::spawn(move || harvester(run)));
    }

    // The faults, on a schedule.
    let at = |fraction: f64| started + Duration::from_secs_f64(o.seconds as f64 * fraction);
    let sleep_until = |t: Instant| {
        let now = Instant::now();
        if t > now {
            std::thread::sleep(t - now);
        }
    };
    let mut outages = Vec::new();
    for (i, fraction) in [0.2, 0.7].into_iter().enumerate() {
        if i == 1 {
            sleep_until(at(0.45));
            let t = Instant::now();
            let ok = portal
                .cli(&[
                    "ingest",
                    &aed_b.display().to_string(),
                    "--dataset",
                    "aed",
                    "--kind",
                    "aed",
                ])
                .status
                .success();
            println!(
                "ingest of AED version B under load: {} in {:.1} s",
                if ok { "done" } else { "FAILED" },
                t.elapsed().as_secs_f64()
            );
        }
        sleep_until(at(fraction));
        let stopped = started.elapsed();
        portal.cli(&["db", "stop", "--mode", "fast"]);
        std::thread::sleep(Duration::from_secs(5));
        portal.cli(&["db", "start"]);
        let back = started.elapsed();
        outages.push((stopped, back));
        println!(
            "restart {}: PostgreSQL stopped at {:.1} s, accepting again at {:.1} s",
            i + 1,
            stopped.as_secs_f64(),
            back.as_secs_f64()
        );
    }
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let record = run.record.lock().expect("lock");

    // Recovery: from PostgreSQL accepting again to the first 200 of a database-backed answer.
    let mut windows = Vec::new();
    for (i, (stopped, back)) in outages.iter().enumerate() {
        let recovered = record
            .samples
            .iter()
            .filter(|s| s.at >= *back && s.status == 200 && s.endpoint != Endpoint::Tile)
            .map(|s| s.at + Duration::from_micros(s.micros))
            .min();
        let first_503 = record
            .samples
            .iter()
            .filter(|s| s.at >= *stopped && s.status == 503)
            .map(|s| s.at + Duration::from_micros(s.micros))
            .min();
        match recovered {
            Some(r) => println!(
                "restart {}: first 503 {:.0} ms after the stop; serving again {:.0} ms after PostgreSQL was back",
                i + 1,
                first_503.map_or(f64::NAN, |f| (f.as_secs_f64() - stopped.as_secs_f64()) * 1e3),
                (r.as_secs_f64() - back.as_secs_f64()) * 1e3
            ),
            None => println!("restart {}: NO RECOVERY", i + 1),
        }
        windows.push((*stopped, recovered.unwrap_or(Duration::MAX)));
    }
    let in_outage = |s: &Sample| {
        let end = s.at + Duration::from_micros(s.micros);
        windows
            .iter()
            .any(|(from, to)| end >= *from && s.at <= *to + Duration::from_secs(1))
    };

    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    let mut unexpected_5xx = 0u64;
    let mut per_endpoint: BTreeMap<Endpoint, Vec<u64>> = BTreeMap::new();
    for s in &record.samples {
        let class = match s.status {
            0 => "transport error".to_string(),
            503 if in_outage(s) => "503 during an outage".to_string(),
            st => format!("{}xx", st / 100),
        };
        *classes.entry(class).or_default() += 1;
        if (s.status >= 500 || s.status == 0) && !in_outage(s) {
            unexpected_5xx += 1;
        }
        if s.status == 200 || s.status == 204 {
            per_endpoint.entry(s.endpoint).or_default().push(s.micros);
        }
    }
    println!(
        "\n{} requests in {elapsed:.0} s ({:.0} req/s)",
        record.samples.len(),
        record.samples.len() as f64 / elapsed
    );
    for (class, n) in &classes {
        println!("  {class:<22} {n}");
    }
    println!(
        "\n{:<40} {:>9} {:>10} {:>10}",
        "endpoint (answered)", "requests", "p50 ms", "p99 ms"
    );
    for (endpoint, micros) in &mut per_endpoint {
        micros.sort_unstable();
        println!(
            "{:<40} {:>9} {:>10.1} {:>10.1}",
            endpoint.name(),
            micros.len(),
            percentile(micros, 0.5),
            percentile(micros, 0.99)
        );
    }
    println!("\nunexpected 5xx or transport errors outside the outages: {unexpected_5xx}");
    println!(
        "AED answers by version: {}",
        record
            .batches
            .iter()
            .map(|(b, n)| format!("{b}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if record.batches.len() != 2 {
        println!("  the ingest of version B was not seen by the clients");
    }
    println!("wrong answers: {}", record.wrong.len());
    for w in record.wrong.iter().take(20) {
        println!("  {w}");
    }
    drop(record);
    drop(portal);
    let _ = std::fs::remove_dir_all(&dir);
    let record = run.record.lock().expect("lock");
    let failed = unexpected_5xx > 0 || !record.wrong.is_empty() || record.batches.len() != 2;
    std::process::exit(i32::from(failed));
}
