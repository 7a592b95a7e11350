//! A running `scripts/cluster.sh` set-up (PostgreSQL primary, streaming replica, kreisgeo
//! nodes, nginx) for the multi-node tests and the scaling benchmark: started in a scratch
//! directory, taken down and removed however the caller ends.

#![allow(dead_code)] // the test and the benchmark use different parts

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    pub dir: PathBuf,
    /// The kreisgeo binary the nodes run.
    bin: PathBuf,
    /// Variables for scripts/cluster.sh (CLUSTER_PIN, CLUSTER_CPU_QUOTA, …).
    settings: Vec<(String, String)>,
    /// DIR/cluster.env: ports and URLs.
    env: HashMap<String, String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.script(&["down"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    /// Starts primary, replica, two nodes and nginx in `/tmp/kreisgeo-{name}-{pid}` (under
    /// root the `postgres` user must reach the data directories), on ports the system gives.
    pub fn up(name: &str, bin: &Path, settings: &[(&str, String)]) -> Self {
        let dir = std::env::temp_dir().join(format!("kreisgeo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cluster = Self {
            dir,
            bin: bin.to_path_buf(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            env: HashMap::new(),
        };
        // Ports from the system, all held at once so that no two are the same.
        let held: Vec<std::net::TcpListener> = (0..5)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("port"))
            .collect();
        let ports: Vec<String> = held
            .iter()
            .map(|l| l.local_addr().expect("addr").port().to_string())
            .collect();
        drop(held);
        let out = cluster
            .script(&["up"])
            .env("CLUSTER_PORTS", ports.join(","))
            .output()
            .expect("scripts/cluster.sh");
        assert!(
            out.status.success(),
            "cluster up: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(cluster.dir.join("cluster.env")).expect("cluster.env");
        cluster.env = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        cluster
    }

    /// `scripts/cluster.sh ARGS… DIR`.
    fn script(&self, args: &[&str]) -> Command {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut cmd = Command::new(manifest.join("scripts/cluster.sh"));
        cmd.args(args)
            .arg(&self.dir)
            .env("KREISGEO", &self.bin)
            .envs(self.settings.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Stops or starts a part: primary, replica, node1, node2, lb.
    pub fn part(&self, action: &str, name: &str) {
        let out = self.script(&[action, name]).output().expect("cluster.sh");
        assert!(
            out.status.success(),
            "{action} {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `http://127.0.0.1:PORT{path}` of node1, node2 or lb.
    pub fn url(&self, at: &str, path: &str) -> String {
        let port = &self.env[&format!("{}_PORT", at.to_uppercase())];
        format!("http://127.0.0.1:{port}{path}")
    }

    /// A value of cluster.env, e.g. PRIMARY_URL, REPLICA_URL.
    pub fn env(&self, name: &str) -> &str {
        &self.env[name]
    }

    /// The CLI against the primary; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(args)
            .env("DATABASE_URL", self.env("PRIMARY_URL"))
            .output()
            .expect("kreisgeo");
        assert!(
            out.status.success(),
            "kreisgeo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
