//! Scaling out (issue 9): throughput of one kreisgeo node and of two, each pinned to one core
//! with one worker, over the same PostgreSQL primary and streaming replica, behind nginx
//! (`scripts/cluster.sh`), on loopback. Also how long a version switch takes to reach every
//! node.
//!
//! Run with `benches/cluster.sh` (builds the release binary first), or
//! `cargo bench --bench cluster -- [--seconds 30] [--clients 16] [--parcels 100000]
//! [--quota 0.25]`. With `--quota F` (root) each node gets F cores by a cgroup: on a machine
//! with few cores, that keeps PostgreSQL, nginx and the clients from being what runs out.
//! Mixed closed-loop traffic: parcel pages in a street-sized box (40 %), nearest AEDs (30 %),
//! vector tiles z 13–15 (30 %, both nodes' tile caches warmed on all of them first, so that
//! the phases compare), every answer checked. Prints req/s, p50/p99, the CPU the nodes
//! and the whole machine used in each phase, the scaling factor, and the switch latency.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

mod common;
use common::{percentile, tile_of, Rng, EAST, NORTH, SOUTH, WEST};
#[path = "../tests/support/cluster.rs"]
mod cluster;
use cluster::Cluster;

struct Options {
    seconds: u64,
    clients: usize,
    parcels: usize,
    /// Cores each node may use (a cgroup; root only); `None`: one whole core.
    quota: Option<f64>,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 30,
        clients: 16,
        parcels: 100_000,
        quota: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.windows(2) {
        let value = || pair[1].parse::<u64>().ok();
        match pair[0].as_str() {
            "--seconds" => o.seconds = value().expect("--seconds N"),
            "--clients" => o.clients = value().expect("--clients N") as usize,
            "--parcels" => o.parcels = value().expect("--parcels N") as usize,
            "--quota" => o.quota = Some(pair[1].parse().expect("--quota CORES, e.g. 0.25")),
            _ => {}
        }
    }
    o
}

/// User + system CPU seconds of node N so far.
fn node_cpu(cluster: &Cluster, n: usize) -> f64 {
    let pid = std::fs::read_to_string(cluster.dir.join(format!("node{n}.pid"))).unwrap_or_default();
    process_cpu(pid.trim())
}

/// CPU seconds so far of a server and its child processes (PostgreSQL's backends, nginx's
/// workers), from the pid file's first line.
fn tier_cpu(cluster: &Cluster, pid_file: &str) -> f64 {
    let text = std::fs::read_to_string(cluster.dir.join(pid_file)).unwrap_or_default();
    let root = text.lines().next().unwrap_or_default().trim().to_string();
    let mut total = process_cpu(&root);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if pid.bytes().all(|b| b.is_ascii_digit()) && parent(&pid) == root {
            total += process_cpu(&pid);
        }
    }
    total
}

/// CPU seconds of the tiers: replica, primary, nginx.
fn tiers(cluster: &Cluster) -> [f64; 3] {
    [
        tier_cpu(cluster, "pg/replica/postmaster.pid"),
        tier_cpu(cluster, "pg/primary/postmaster.pid"),
        tier_cpu(cluster, "nginx/nginx.pid"),
    ]
}
fn parent(pid: &str) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    rest.split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn process_cpu(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Busy and total jiffies of the whole machine.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// One request of the mix; Err when the answer is wrong.
fn request(agent: &ureq::Agent, base: &str, rng: &mut Rng) -> Result<(), String> {
    let (lon, lat) = (rng.between(WEST, EAST), rng.between(SOUTH, NORTH));
    let pick = rng.unit();
    if pick < 0.4 {
        let url = format!(
            "{base}/collections/parcels/items?limit=100&bbox={:.5},{:.5},{:.5},{:.5}",
            lon,
            lat,
            lon + 0.01,
            lat + 0.006
        );
        let mut resp = agent.get(&url).call().map_err(|e| e.to_string())?;
        let page: Json = resp.body_mut().read_json().map_err(|e| e.to_string())?;
        let n = page["features"].as_array().map_or(0, Vec::len);
        if page["numberReturned"].as_u64() != Some(n as u64) {
            return Err(format!(
                "page: {n} features, numberReturned {}",
                page["numberReturned"]
            ));
        }
    } else if pick < 0.7 {
        let url = format!("{base}/collections/aed/nearest?point={lon:.5},{lat:.5}&limit=5");
        let mut resp = agent.get(&url).call().map_err(|e| e.to_string())?;
        let found: Json = resp.body_mut().read_json().map_err(|e| e.to_string())?;
        let d: Vec<f64> = found["features"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|f| f["properties"]["distance_m"].as_f64())
                    .collect()
            })
            .unwrap_or_default();
        if d.len() != 5 || !d.windows(2).all(|w| w[0] <= w[1]) {
            return Err(format!("nearest: {found}"));
        }
    } else {
        let z = 13 + (rng.next() % 3) as u32;
        let (x, y) = tile_of(lon, lat, z);
        let url = format!("{base}/tiles/WebMercatorQuad/{z}/{y}/{x}");
        let mut resp = agent
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .call()
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let _ = resp.body_mut().read_to_vec();
        if status != 200 && status != 204 {
            return Err(format!("tile {z}/{y}/{x}: {status}"));
        }
    }
    Ok(())
}

struct Phase {
    requests: u64,
    errors: Vec<String>,
    rps: f64,
    p50: f64,
    p99: f64,
    node_cpu: Vec<f64>,
    /// Cores used by the replica, the primary, nginx.
    tiers: [f64; 3],
    machine_busy: f64,
}

/// Requests every tile in `paths` from the node at `base` (8 at a time): its cache holds them.
fn warm(base: &str, paths: &[String]) {
    eprintln!("warming {base}: {} tiles", paths.len());
    std::thread::scope(|scope| {
        for i in 0..8 {
            scope.spawn(move || {
                let agent = agent();
                for path in paths.iter().skip(i).step_by(8) {
                    let _ = agent
                        .get(&format!("{base}{path}"))
                        .header("Accept-Encoding", "gzip")
                        .call()
                        .map(|mut r| r.body_mut().read_to_vec());
                }
            });
        }
    });
}

/// Closed-loop clients through nginx for `seconds` after a warm-up.
fn run_phase(cluster: &Cluster, nodes: usize, o: &Options, seed: u64) -> Phase {
    let base = cluster.url("lb", "");
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..o.clients)
        .map(|i| {
            let (base, measuring, stop, latencies, errors) = (
                base.clone(),
                measuring.clone(),
                stop.clone(),
                latencies.clone(),
                errors.clone(),
            );
            std::thread::spawn(move || {
                let agent = agent();
                let mut rng = Rng(seed * 1000 + i as u64);
                let mut own = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let outcome = request(&agent, &base, &mut rng);
                    if measuring.load(Ordering::Relaxed) {
                        own.push(started.elapsed().as_micros() as u64);
                        if let Err(e) = outcome {
                            errors.lock().expect("errors").push(e);
                        }
                    }
                }
                latencies.lock().expect("latencies").extend(own);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(5));
    let cpu_before: Vec<f64> = (1..=nodes).map(|n| node_cpu(cluster, n)).collect();
    let tiers_before = tiers(cluster);
    let machine_before = machine_cpu();
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(o.seconds));
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let node_cpu = (1..=nodes)
        .zip(&cpu_before)
        .map(|(n, before)| (node_cpu(cluster, n) - before) / elapsed)
        .collect();
    let tiers_after = tiers(cluster);
    let tiers = [0, 1, 2].map(|i| (tiers_after[i] - tiers_before[i]) / elapsed);
    let machine_after = machine_cpu();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    let mut all = std::mem::take(&mut *latencies.lock().expect("latencies"));
    all.sort_unstable();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as f64;
    let errors = std::mem::take(&mut *errors.lock().expect("errors"));
    Phase {
        requests: all.len() as u64,
        errors,
        rps: all.len() as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        node_cpu,
        tiers,
        machine_busy: (machine_after.0 - machine_before.0) / (machine_after.1 - machine_before.1)
            * cores,
    }
}

fn main() {
    let o = options();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = manifest.join("target/release/kreisgeo");
    assert!(
        bin.exists(),
        "build the release binary first (benches/cluster.sh does)"
    );
    let limit = match o.quota {
        Some(q) => format!("{q} core each (cgroup), one worker, pinned"),
        None => "one core each, one worker".into(),
    };
    eprintln!("starting primary, replica, two nodes ({limit}) and nginx");
    let mut settings = vec![("CLUSTER_PIN", "1".to_string())];
    if let Some(q) = o.quota {
        settings.push(("CLUSTER_CPU_QUOTA", q.to_string()));
    }
    let cluster = Cluster::up("bench-cluster", &bin, &settings);
    let dir = cluster.dir.clone();

    eprintln!("loading {} parcels and 10,000 AEDs", o.parcels);
    let parcels = dir.join("parcels.fgb").display().to_string();
    let aeds = dir.join("aed.geojson").display().to_string();
    let count = o.parcels.to_string();
    for (kind, count, out) in [
        ("parcels", count.as_str(), parcels.as_str()),
        ("aed", "10000", aeds.as_str()),
    ] {
        cluster.cli(&[
            "generate", "--kind", kind, "--count", count, "--seed", "9", "--out", out,
        ]);
        cluster.cli(&["ingest", out, "--dataset", kind, "--kind", kind]);
    }
    // Both nodes reading from the replica before measuring.
    for node in ["node1", "node2"] {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready: Json = agent()
                .get(&cluster.url(node, "/ready"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json().ok())
                .unwrap_or(Json::Null);
            if ready["replicas"][0]["serving"] == true {
                break;
            }
            assert!(Instant::now() < deadline, "{node}: {ready}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Each node has a tile cache of its own: warmed on every tile of the mix before it is
    // measured (node 2 again after its restart), so that neither phase runs colder.
    let mut tiles = Vec::new();
    for z in 13..=15u32 {
        let (x0, y0) = tile_of(WEST, NORTH, z);
        let (x1, y1) = tile_of(EAST, SOUTH, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                tiles.push(format!("/tiles/WebMercatorQuad/{z}/{y}/{x}"));
            }
        }
    }
    cluster.part("stop", "node2");
    warm(&cluster.url("node1", ""), &tiles);

    eprintln!("phase 1: one node ({} s, {} clients)", o.seconds, o.clients);
    let one = run_phase(&cluster, 1, &o, 1);
    eprintln!("phase 2: two nodes");
    cluster.part("start", "node2");
    warm(&cluster.url("node2", ""), &tiles);
    let two = run_phase(&cluster, 2, &o, 2);

    // How long a version switch takes to reach each node: ingest on the primary, then watch
    // both nodes' /collections/aed until it names the new version.
    let mut switch_ms = Vec::new();
    for round in 0..5u64 {
        let out = dir
            .join(format!("aed-{round}.geojson"))
            .display()
            .to_string();
        let seed = (100 + round).to_string();
        cluster.cli(&[
            "generate", "--kind", "aed", "--count", "2000", "--seed", &seed, "--out", &out,
        ]);
        let before: Json = agent()
            .get(&cluster.url("node2", "/collections/aed"))
            .call()
            .expect("collection")
            .body_mut()
            .read_json()
            .expect("JSON");
        cluster.cli(&["ingest", &out, "--dataset", "aed", "--kind", "aed"]);
        let committed = Instant::now();
        let mut seen = Vec::new();
        for node in ["node1", "node2"] {
            loop {
                let now: Json = agent()
                    .get(&cluster.url(node, "/collections/aed"))
                    .call()
                    .expect("collection")
                    .body_mut()
                    .read_json()
                    .expect("JSON");
                if now["version"] != before["version"] {
                    seen.push(committed.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                assert!(
                    committed.elapsed() < Duration::from_secs(30),
                    "{node} never switched"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        switch_ms.push(seen.into_iter().fold(0.0, f64::max));
    }

    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "\nkreisgeo nodes ({limit}) over a primary and a streaming replica, behind nginx \
         ({cores} cores in all)"
    );
    println!(
        "{} parcels, 10,000 AEDs; {} closed-loop clients; {} s per phase after 5 s warm-up\n",
        o.parcels, o.clients, o.seconds
    );
    println!(
        "| nodes | requests | req/s | p50 ms | p99 ms | cores used: nodes | replica | primary \
         | nginx | machine | wrong |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for (n, p) in [(1, &one), (2, &two)] {
        let cpu: Vec<String> = p.node_cpu.iter().map(|c| format!("{c:.2}")).collect();
        println!(
            "| {n} | {} | {:.0} | {:.1} | {:.1} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            p.requests,
            p.rps,
            p.p50,
            p.p99,
            cpu.join(" + "),
            p.tiers[0],
            p.tiers[1],
            p.tiers[2],
            p.machine_busy,
            p.errors.len()
        );
    }
    // What one request costs in each tier: the basis of the sizing in README.
    let per = |cores: f64| cores / two.rps * 1000.0;
    println!(
        "\nCPU per request (two-node phase): node {:.3} ms, replica {:.3} ms, primary {:.3} ms, \
         nginx {:.3} ms",
        per(two.node_cpu.iter().sum()),
        per(two.tiers[0]),
        per(two.tiers[1]),
        per(two.tiers[2])
    );
    println!(
        "\nscaling factor (two nodes / one node): {:.2}",
        two.rps / one.rps
    );
    switch_ms.sort_by(f64::total_cmp);
    println!(
        "version switch seen by both nodes after: {} ms (5 ingests; slowest node each)",
        switch_ms
            .iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let wrong: Vec<&String> = one.errors.iter().chain(&two.errors).take(5).collect();
    if !wrong.is_empty() {
        eprintln!("wrong answers, first five: {wrong:#?}");
        drop(cluster);
        std::process::exit(1);
    }
}
