//! A whole kreisgeo installation for end-to-end tests: its own embedded PostgreSQL in a scratch
//! directory, the CLI run against it, and `kreisgeo serve` as a child process. Everything is
//! stopped and removed however the test ends.

#![allow(dead_code)] // each test binary uses part of it

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The kreisgeo binary, with no DATABASE_URL: the embedded default.
pub fn kreisgeo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kreisgeo"));
    cmd.env_remove("DATABASE_URL").stdin(Stdio::null());
    cmd
}

pub struct Portal {
    /// Scratch directory: the data directory `pg` and any files a test writes.
    pub scratch: PathBuf,
    pub server: Option<Child>,
    pub port: u16,
    /// Environment of every command (e.g. KREISGEO_WAL_ARCHIVE).
    pub env: Vec<(String, String)>,
}

impl Portal {
    /// A fresh installation with its PostgreSQL started. In /tmp, because under root the
    /// `postgres` user (initdb runs as it) must reach the data directory.
    pub fn start(name: &str) -> Self {
        let scratch = std::env::temp_dir().join(format!("kreisgeo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        Self::start_at(scratch)
    }

    /// As [`Portal::start`], in `scratch` (e.g. a small file system mounted for the test).
    pub fn start_at(scratch: PathBuf) -> Self {
        Self::start_with(scratch, Vec::new())
    }

    /// As [`Portal::start_at`], every command with `env` set.
    pub fn start_with(scratch: PathBuf, env: Vec<(String, String)>) -> Self {
        std::fs::create_dir_all(&scratch).expect("scratch directory");
        let portal = Self {
            scratch,
            server: None,
            port: 0,
            env,
        };
        portal.ok(&["db", "start"]);
        portal
    }

    pub fn data_dir(&self) -> PathBuf {
        self.scratch.join("pg")
    }

    /// A CLI command against this installation.
    pub fn cli(&self) -> Command {
        let mut cmd = kreisgeo();
        cmd.env("KREISGEO_DATA_DIR", self.data_dir());
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs the CLI with `args` and returns its output, whatever its exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cli().args(args).output().expect("run kreisgeo")
    }

    /// Runs the CLI with `args`, which must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kreisgeo {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `kreisgeo serve` with `args` on a free port and waits until it accepts
    /// connections. Its log goes to `serve.log` in the scratch directory.
    /// Ingests the fixture `file` as `dataset` of `kind` with the CLI.
    pub fn ingest(&self, file: &str, dataset: &str, kind: &str) -> String {
        self.ok(&[
            "ingest",
            &fixture(file),
            "--dataset",
            dataset,
            "--kind",
            kind,
        ])
    }

    pub fn serve(&mut self, args: &[&str]) {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        self.serve_on(port, args);
    }

    /// As [`Portal::serve`], on `port` (links and ETags name it: a restored installation
    /// compared with what it served before).
    pub fn serve_on(&mut self, port: u16, args: &[&str]) {
        self.port = port;
        let log = std::fs::File::create(self.scratch.join("serve.log")).expect("log file");
        let bind = format!("127.0.0.1:{}", self.port);
        self.server = Some(
            self.cli()
                .args(["serve", "--bind", &bind])
                .args(args)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn serve"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.scratch.join("serve.log")).unwrap_or_default()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = self
            .cli()
            .args(["db", "stop", "--mode", "fast"])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// The path of a file in the repository's `fixtures/`.
pub fn fixture(name: &str) -> String {
    manifest().join("fixtures").join(name).display().to_string()
}

/// The repository's root.
pub fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
