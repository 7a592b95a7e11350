//! Several kreisgeo nodes over a PostgreSQL primary and a streaming replica, behind nginx — the
//! production shape of README's "Many nodes and replicas", on loopback (`scripts/cluster.sh`). An
//! ingest through one node is served by the other and through the balancer; no answer ever
//! mixes two versions or misses a feature; the replica and a node stop under traffic without a
//! single failed request. `scripts/install-deps.sh --test` installs nginx.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/portal.rs"]
mod portal;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::Cluster;
use portal::fixture;
use serde_json::Value as Json;

fn up(name: &str) -> Cluster {
    Cluster::up(name, Path::new(env!("CARGO_BIN_EXE_kreisgeo")), &[])
}

/// Runs SQL on the replica (psql).
fn replica_sql(cluster: &Cluster, sql: &str) {
    let out = Command::new("psql")
        .args([cluster.env("REPLICA_URL"), "-Atc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ready(cluster: &Cluster, at: &str) -> Json {
    get(&cluster.url(at, "/ready")).1
}

/// Reads the replica answered on a node.
fn replica_reads(cluster: &Cluster, at: &str) -> u64 {
    ready(cluster, at)["replicas"][0]["reads"]
        .as_u64()
        .expect("replica status")
}

/// A client that keeps its connections, as a harvester through the load balancer does.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// GET: status and JSON body (Null when not JSON).
fn get(url: &str) -> (u16, Json) {
    get_with(&agent(), url, &[])
}

fn get_with(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> (u16, Json) {
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    match req.call() {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            (status, resp.body_mut().read_json().unwrap_or(Json::Null))
        }
        Err(e) => (0, Json::String(e.to_string())),
    }
}

/// Uploads `file` as a new version of `dataset` through `at`'s admin API and waits for its job;
/// returns the version.
fn upload(cluster: &Cluster, at: &str, key: &str, dataset: &str, kind: &str, file: &str) -> i64 {
    let body = std::fs::read(fixture(file)).expect("fixture");
    let mut resp = agent()
        .post(&cluster.url(
            at,
            &format!("/admin/datasets/{dataset}/versions?kind={kind}&filename={file}"),
        ))
        .header("Authorization", &format!("Bearer {key}"))
        .send(&body[..])
        .expect("upload");
    let accepted: Json = resp.body_mut().read_json().expect("job");
    assert_eq!(resp.status().as_u16(), 202, "{accepted}");
    let job = accepted["job"]["id"].as_i64().expect("job id");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, state) = get_with(
            &agent(),
            &cluster.url(at, &format!("/admin/jobs/{job}")),
            &[("Authorization", &format!("Bearer {key}"))],
        );
        match state["state"].as_str() {
            Some("succeeded") => return state["report"]["version"].as_i64().expect("version"),
            Some("failed") => panic!("job failed: {state}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "job {job} did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Harvests a collection through `next` links from `url`; checks that every page comes from
/// one source (the AED files have disjoint osm_id ranges: the generated ones ≥ 9e9) and that
/// the harvest is complete: numberMatched features, each once. Returns numberMatched, or the
/// reason it is wrong.
fn harvest(agent: &ureq::Agent, first: &str) -> Result<i64, String> {
    let mut url = first.to_string();
    let mut ids = BTreeSet::new();
    let mut matched = None;
    let mut generated = None;
    loop {
        let (status, page) = get_with(agent, &url, &[]);
        if status != 200 {
            return Err(format!("{status} from {url}: {page}"));
        }
        let m = page["numberMatched"].as_i64().ok_or("no numberMatched")?;
        if *matched.get_or_insert(m) != m {
            return Err(format!(
                "numberMatched changed while paging: {matched:?} → {m}"
            ));
        }
        for f in page["features"].as_array().ok_or("no features")? {
            let synthetic = f["properties"]["osm_id"].as_i64().unwrap_or(0) >= 9_000_000_000;
            if *generated.get_or_insert(synthetic) != synthetic {
                return Err(format!("a page mixes two versions: {url}"));
            }
            if !ids.insert(f["id"].as_i64().ok_or("no id")?) {
                return Err(format!("feature {} twice", f["id"]));
            }
        }
        let next = page["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
            .and_then(|l| l["href"].as_str());
        match next {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let matched = matched.unwrap_or(0);
    if ids.len() as i64 != matched {
        return Err(format!("harvested {} of {matched}", ids.len()));
    }
    Ok(matched)
}

#[test]
fn an_ingest_through_one_node_is_served_by_every_node_and_never_mixed() {
    let cluster = up("cluster-versions");
    let key = cluster
        .cli(&["keys", "create", "--name", "cluster test"])
        .trim()
        .to_string();

    // Version A through node1; node2 serves it to a client that names it, at once.
    let a = upload(
        &cluster,
        "node1",
        &key,
        "aed",
        "aed",
        "generated/aed_lueneburg_200_25832.geojson",
    );
    let items = "/collections/aed/items?limit=30";
    let (status, page) = get_with(
        &agent(),
        &cluster.url("node2", items),
        &[("Kreisgeo-Min-Version", &a.to_string())],
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["numberMatched"], 200);
    // A version that is not served is named as such.
    let (status, body) = get_with(
        &agent(),
        &cluster.url("node2", items),
        &[("Kreisgeo-Min-Version", &(a + 100).to_string())],
    );
    assert_eq!(status, 412, "{body}");

    // Harvesters on node2 and through nginx while version B replaces A through node1: each
    // harvest is one whole version.
    let stop = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = ["node2", "lb", "lb"]
        .into_iter()
        .map(|at| {
            let (stop, results, url) = (stop.clone(), results.clone(), cluster.url(at, items));
            std::thread::spawn(move || {
                let agent = agent();
                while !stop.load(Ordering::Relaxed) {
                    let outcome = harvest(&agent, &url);
                    results.lock().expect("results").push((at, outcome));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let b = upload(&cluster, "node1", &key, "aed", "aed", "aed_koeln.geojson");
    let switched = Instant::now();
    // node2 follows without being told (LISTEN/NOTIFY); the time is measured by
    // benches/cluster.sh, here only bounded so a lost announcement cannot pass.
    loop {
        let (_, page) = get(&cluster.url("node2", items));
        if page["numberMatched"] == 121 {
            break;
        }
        assert!(
            switched.elapsed() < Duration::from_secs(5),
            "node2 still serves version {a} after the switch to {b}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "node2 served version {b} {:?} after its job finished",
        switched.elapsed()
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader");
    }
    let results = results.lock().expect("results");
    let wrong: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(wrong.is_empty(), "wrong harvests: {wrong:?}");
    let versions: BTreeSet<i64> = results.iter().filter_map(|(_, r)| r.clone().ok()).collect();
    assert_eq!(
        versions,
        BTreeSet::from([121, 200]),
        "harvests of both versions ({} in all)",
        results.len()
    );

    // The reads went to the replica, on both nodes.
    for node in ["node1", "node2"] {
        assert!(
            replica_reads(&cluster, node) > 0,
            "{}",
            ready(&cluster, node)
        );
    }

    // A replica that has not replayed a version never answers for it: with replay paused,
    // version C is served by the primary (after the bounded wait), complete and right.
    replica_sql(&cluster, "SELECT pg_wal_replay_pause()");
    let primary_before = ready(&cluster, "node2")["primary_reads"]
        .as_u64()
        .expect("primary reads");
    let c = upload(
        &cluster,
        "node1",
        &key,
        "aed",
        "aed",
        "generated/aed_lueneburg_200_25832.geojson",
    );
    let (status, page) = get_with(
        &agent(),
        &cluster.url("node2", items),
        &[("Kreisgeo-Min-Version", &c.to_string())],
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["numberMatched"], 200);
    assert_eq!(harvest(&agent(), &cluster.url("node2", items)), Ok(200));
    let ready = ready(&cluster, "node2");
    assert!(
        ready["primary_reads"].as_u64().expect("primary reads") > primary_before,
        "the primary answered while the replica lagged: {ready}"
    );
    replica_sql(&cluster, "SELECT pg_wal_replay_resume()");
}

#[test]
fn answers_stay_correct_when_the_replica_and_a_node_stop_under_traffic() {
    let cluster = up("cluster-faults");
    for (file, dataset, kind) in [
        ("generated/aed_lueneburg_200_25832.geojson", "aed", "aed"),
        (
            "generated/parcels_lueneburg_1000_25832.fgb",
            "parcels",
            "parcels",
        ),
    ] {
        let path = fixture(file);
        cluster.cli(&["ingest", &path, "--dataset", dataset, "--kind", kind]);
    }
    let lb = |path: &str| cluster.url("lb", path);
    let wait_for_replica = |node: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while ready(&cluster, node)["replicas"][0]["serving"] != true {
            assert!(Instant::now() < deadline, "{node} never used the replica");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for_replica("node1");
    wait_for_replica("node2");

    // Clients through nginx: parcel harvests, nearest AEDs, tiles.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let counts = Arc::new(Mutex::new(HashMap::<&str, u64>::new()));
    let mut clients = Vec::new();
    for worker in 0..4 {
        let (stop, failures, counts) = (stop.clone(), failures.clone(), counts.clone());
        let (harvest_url, nearest_url, tile_url) = (
            lb("/collections/parcels/items?limit=100"),
            lb("/collections/aed/nearest?point=10.41,53.25&limit=5"),
            lb("/tiles/WebMercatorQuad/12/1315/2166"),
        );
        clients.push(std::thread::spawn(move || {
            let agent = agent();
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let (what, outcome) = match (worker + round) % 3 {
                    0 => (
                        "harvest",
                        harvest(&agent, &harvest_url).and_then(|n| match n {
                            1000 => Ok(()),
                            n => Err(format!("{n} parcels")),
                        }),
                    ),
                    1 => {
                        let (status, found) = get_with(&agent, &nearest_url, &[]);
                        let distances: Vec<f64> = found["features"]
                            .as_array()
                            .map(|f| {
                                f.iter()
                                    .filter_map(|f| f["properties"]["distance_m"].as_f64())
                                    .collect()
                            })
                            .unwrap_or_default();
                        let sorted = distances.windows(2).all(|w| w[0] <= w[1]);
                        (
                            "nearest",
                            match (status, distances.len(), sorted) {
                                (200, 5, true) => Ok(()),
                                _ => Err(format!("nearest: {status} {found}")),
                            },
                        )
                    }
                    _ => {
                        let status = match agent.get(&tile_url).call() {
                            Ok(mut r) => {
                                let status = r.status().as_u16();
                                let _ = r.body_mut().read_to_vec();
                                status
                            }
                            Err(_) => 0,
                        };
                        (
                            "tile",
                            match status {
                                200 | 204 => Ok(()),
                                s => Err(format!("tile: {s}")),
                            },
                        )
                    }
                };
                *counts.lock().expect("counts").entry(what).or_default() += 1;
                if let Err(e) = outcome {
                    failures.lock().expect("failures").push(e);
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    let before = replica_reads(&cluster, "node2");
    cluster.part("stop", "replica");
    std::thread::sleep(Duration::from_millis(1500));
    let fallback = ready(&cluster, "node2");
    cluster.part("stop", "node1");
    std::thread::sleep(Duration::from_millis(1500));
    cluster.part("start", "replica");
    wait_for_replica("node2");
    let after_restart = replica_reads(&cluster, "node2");
    std::thread::sleep(Duration::from_millis(1500));
    cluster.part("start", "node1");
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    let failures = failures.lock().expect("failures");
    let counts = counts.lock().expect("counts");
    eprintln!("requests by kind: {counts:?}");
    assert!(failures.is_empty(), "failed answers: {failures:#?}");
    assert!(
        counts.values().all(|n| *n > 3),
        "too little traffic: {counts:?}"
    );
    // The replica served before it stopped, the primary while it was down, the replica again
    // once it was back.
    assert!(before > 0, "no replica reads before the stop");
    assert_eq!(fallback["replicas"][0]["serving"], false, "{fallback}");
    assert!(
        fallback["primary_reads"].as_u64().unwrap_or(0) > 0,
        "{fallback}"
    );
    assert!(
        replica_reads(&cluster, "node2") > after_restart,
        "node2 went back to the replica: {}",
        ready(&cluster, "node2")
    );
    // node1 is back behind the balancer.
    let (status, _) = get(&cluster.url("node1", "/ready"));
    assert_eq!(status, 200);
}
