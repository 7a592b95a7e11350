//! The embedded default: a PostgreSQL + PostGIS instance that kreisgeo creates and runs itself.
//!
//! Layout of a data directory `D`:
//! - `D/pgdata/`      the cluster (owned by the `postgres` system user when kreisgeo runs as root,
//!   because initdb and postgres refuse to run as root)
//! - `D/credentials`  the generated superuser password (mode 0600, owned by the caller)
//! - `D/kreisgeo.lock` serialises start-up between kreisgeo processes
//!
//! A second kreisgeo process on the same directory finds the running postmaster through
//! `postmaster.pid` and reuses it; only the process that started the server stops it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::{Gid, Uid, User};
use sqlx::{Connection, PgConnection};
use tokio::process::Command;

/// Superuser and database names inside the embedded cluster.
pub const SUPERUSER: &str = "kreisgeo";
pub const DATABASE: &str = "kreisgeo";

/// Why the embedded instance could not be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them with \
         `apt-get install postgresql-15 postgresql-15-postgis-3`, set KREISGEO_PG_BINDIR to their \
         directory, or set DATABASE_URL to use an existing server"
    )]
    BinariesMissing,

    #[error(
        "PostGIS is not installed for PostgreSQL {major} (no {control}). Install it with \
         `apt-get install postgresql-{major}-postgis-3`, or set DATABASE_URL to a server with PostGIS"
    )]
    PostgisMissing { major: String, control: String },

    #[error(
        "kreisgeo runs as root, so PostgreSQL must run as the system user 'postgres', which does \
         not exist. Install postgresql-15 (it creates that user) or run kreisgeo as a normal user"
    )]
    NoPostgresUser,

    #[error(
        "the data directory {path} is not reachable by the 'postgres' system user ({reason}); \
         choose another --data-dir, e.g. /var/lib/kreisgeo"
    )]
    DataDirNotReachable { path: String, reason: String },

    #[error("{command} failed: {detail}")]
    Command { command: String, detail: String },

    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("the embedded PostgreSQL did not accept connections: {0}")]
    Connect(String),
}

type Result<T> = std::result::Result<T, EmbeddedError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A running embedded instance. Dropping it does not stop the server; call [`Self::stop`].
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bindir: PathBuf,
    pgdata: PathBuf,
    port: u16,
    password: String,
    run_as: Option<(Uid, Gid)>,
    started_here: bool,
}

/// Where the port of the last start is kept, in the data directory.
const LAST_PORT_FILE: &str = "last-port";

impl EmbeddedPostgres {
    /// Default data directory: `/var/lib/kreisgeo` for root (the `postgres` user must reach it),
    /// otherwise `$XDG_DATA_HOME/kreisgeo` or `~/.local/share/kreisgeo`.
    pub fn default_data_dir() -> PathBuf {
        if Uid::effective().is_root() {
            return PathBuf::from("/var/lib/kreisgeo");
        }
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(xdg).join("kreisgeo");
        }
        match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".local/share/kreisgeo"),
            None => PathBuf::from(".kreisgeo"),
        }
    }

    /// Starts the instance in `data_dir` (creating the cluster on first use), or attaches to the
    /// one another kreisgeo process already runs there.
    pub async fn ensure_running(data_dir: &Path) -> Result<Self> {
        let bindir = find_bindir()?;
        check_postgis(&bindir)?;
        let run_as = postgres_identity()?;
        fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let data_dir = data_dir.canonicalize().map_err(io_err(data_dir))?;
        if let Some((uid, _)) = run_as {
            check_reachable(&data_dir, uid)?;
        }

        let lock = lock_dir(&data_dir).await?;
        let pgdata = data_dir.join("pgdata");
        let password = if pgdata.join("PG_VERSION").exists() {
            read_password(&data_dir)?
        } else {
            init_cluster(&bindir, &data_dir, &pgdata, run_as).await?
        };
        let mut this = Self {
            bindir,
            pgdata,
            port: 0,
            password,
            run_as,
            started_here: false,
        };
        if let Some(port) = this.running_port() {
            this.port = port;
            if this.wait_ready(Duration::from_secs(10)).await.is_ok() {
                tracing::info!(port, data_dir = %data_dir.display(), "reusing running embedded PostgreSQL");
                drop(lock);
                this.ensure_database().await?;
                this.ensure_archiving().await?;
                return Ok(this);
            }
        }
        // The port of the last run first: a server still holding a pool to it (kreisgeo serve
        // while the database restarts) reconnects by itself. A free port can be taken between
        // our probe and postgres binding it; then try another.
        let last_port = data_dir.join(LAST_PORT_FILE);
        let mut preferred = fs::read_to_string(&last_port)
            .ok()
            .and_then(|t| t.trim().parse::<u16>().ok())
            .filter(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        let mut attempt = 0;
        loop {
            this.port = match preferred.take() {
                Some(port) => port,
                None => free_port()?,
            };
            match this.start().await {
                Ok(()) => break,
                Err(e) if attempt < 2 && this.running_port().is_none() => {
                    attempt += 1;
                    tracing::warn!(error = %e, "PostgreSQL did not start; retrying on another port");
                }
                Err(e) => return Err(e),
            }
        }
        this.started_here = true;
        if let Err(e) = fs::write(&last_port, this.port.to_string()) {
            tracing::warn!(error = %e, "cannot remember the embedded PostgreSQL's port");
        }
        drop(lock);
        this.wait_ready(Duration::from_secs(30)).await?;
        this.ensure_database().await?;
        tracing::info!(port = this.port, data_dir = %data_dir.display(), "embedded PostgreSQL started");
        this.ensure_archiving().await?;
        Ok(this)
    }

    /// Attaches to the instance running in `data_dir`, without starting one.
    pub async fn attach(data_dir: &Path) -> Result<Option<Self>> {
        let Ok(data_dir) = data_dir.canonicalize() else {
            return Ok(None);
        };
        let pgdata = data_dir.join("pgdata");
        if !pgdata.join("PG_VERSION").exists() {
            return Ok(None);
        }
        let mut this = Self {
            bindir: find_bindir()?,
            pgdata,
            port: 0,
            password: read_password(&data_dir)?,
            run_as: postgres_identity()?,
            started_here: false,
        };
        match this.running_port() {
            Some(port) => {
                this.port = port;
                Ok(Some(this))
            }
            None => Ok(None),
        }
    }

    /// Connection URL for `database` in this instance.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Stops the server if this process started it. Waits up to 15 s for other clients (another
    /// kreisgeo process still ingesting) before forcing them off.
    pub async fn stop(self) -> Result<()> {
        if !self.started_here {
            return Ok(());
        }
        self.force_stop().await
    }

    /// Stops the server whoever started it (`kreisgeo db stop`).
    pub async fn force_stop(&self) -> Result<()> {
        let smart = self
            .pg_ctl(&["stop", "-m", "smart", "-t", "15"])
            .await
            .is_ok();
        if !smart {
            tracing::warn!("PostgreSQL still had clients after 15 s; stopping it in fast mode");
            self.pg_ctl(&["stop", "-m", "fast", "-t", "60"]).await?;
        }
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    /// Stops the server at once: clients are disconnected (fast), or the server quits without
    /// a checkpoint as in a crash (immediate).
    pub async fn stop_now(&self, immediate: bool) -> Result<()> {
        let mode = if immediate { "immediate" } else { "fast" };
        self.pg_ctl(&["stop", "-m", mode, "-t", "60"]).await?;
        tracing::info!(mode, "embedded PostgreSQL stopped");
        Ok(())
    }

    /// With `--wal-archive`, the cluster archives its WAL there (not while it recovers: a
    /// point-in-time restore sets that up once it is done).
    async fn ensure_archiving(&self) -> Result<()> {
        match super::archive::wal_archive() {
            Some(dir) if !self.pgdata.join("recovery.signal").exists() => {
                super::archive::ensure_archiving(self, dir).await
            }
            _ => Ok(()),
        }
    }

    /// Whether this process started the server (and may therefore restart or stop it).
    pub(crate) fn started_here(&self) -> bool {
        self.started_here
    }

    /// Restarts the server (settings that need it, such as `archive_mode`).
    pub(crate) async fn restart(&self) -> Result<()> {
        // With its log file, as at the start: the server must not hold our output pipes.
        let log = self
            .pgdata
            .join("kreisgeo-postgres.log")
            .display()
            .to_string();
        self.pg_ctl(&["restart", "-m", "fast", "-w", "-t", "60", "-l", &log])
            .await?;
        self.wait_ready(Duration::from_secs(30)).await
    }

    /// Hands a directory the server writes to (the WAL archive) to the user it runs as.
    pub(crate) fn give_to_postgres(&self, dir: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.run_as {
            nix::unistd::chown(dir, Some(uid), Some(gid)).map_err(|e| EmbeddedError::Io {
                path: dir.display().to_string(),
                source: e.into(),
            })?;
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
    }

    /// The file holding the superuser's password, beside the cluster.
    pub(crate) fn credentials_file(&self) -> PathBuf {
        self.pgdata
            .parent()
            .unwrap_or(Path::new("."))
            .join("credentials")
    }

    /// pg_basebackup of this server into `dir` as one compressed tar, without WAL (the archive
    /// holds it), at once (fast checkpoint).
    pub(crate) async fn pg_basebackup(&self, dir: &Path) -> Result<()> {
        let out = dir.display().to_string();
        let conn = format!(
            "host=127.0.0.1 port={} user={SUPERUSER} dbname=postgres",
            self.port
        );
        let mut cmd = Command::new(self.bindir.join("pg_basebackup"));
        cmd.args([
            "-D", &out, "-F", "tar", "-z", "-X", "none", "-c", "fast", "-w", "-d", &conn,
        ])
        .env("PGPASSWORD", &self.password);
        run_command(cmd, "pg_basebackup", self.run_as, dir).await
    }

    /// Unpacks a base backup as the cluster of `data_dir` (which has none).
    pub(crate) async fn unpack_base_backup(data_dir: &Path, tarball: &Path) -> Result<()> {
        let run_as = postgres_identity()?;
        let data_dir = data_dir.canonicalize().map_err(io_err(data_dir))?;
        if let Some((uid, _)) = run_as {
            check_reachable(&data_dir, uid)?;
        }
        let pgdata = data_dir.join("pgdata");
        fs::create_dir_all(&pgdata).map_err(io_err(&pgdata))?;
        fs::set_permissions(&pgdata, fs::Permissions::from_mode(0o700)).map_err(io_err(&pgdata))?;
        if let Some((uid, gid)) = run_as {
            nix::unistd::chown(&pgdata, Some(uid), Some(gid)).map_err(|e| EmbeddedError::Io {
                path: pgdata.display().to_string(),
                source: e.into(),
            })?;
        }
        let mut cmd = Command::new("tar");
        cmd.arg("-xzf").arg(tarball).arg("-C").arg(&pgdata);
        run_command(cmd, "tar", run_as, &data_dir).await
    }

    /// Port of a live postmaster on this cluster, read from `postmaster.pid`.
    fn running_port(&self) -> Option<u16> {
        let text = fs::read_to_string(self.pgdata.join("postmaster.pid")).ok()?;
        let mut lines = text.lines();
        let pid: i32 = lines.next()?.trim().parse().ok()?;
        let port: u16 = lines.nth(2)?.trim().parse().ok()?;
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        alive.then_some(port)
    }

    async fn start(&self) -> Result<()> {
        let log = self.pgdata.join("kreisgeo-postgres.log");
        let opts = format!("-p {}", self.port);
        let log_arg = log.display().to_string();
        let result = self
            .pg_ctl(&["start", "-w", "-t", "60", "-l", &log_arg, "-o", &opts])
            .await;
        if let Err(EmbeddedError::Command { command, detail }) = result {
            let tail = fs::read_to_string(&log)
                .map(|t| t.lines().rev().take(10).collect::<Vec<_>>().join(" | "))
                .unwrap_or_default();
            return Err(EmbeddedError::Command {
                command,
                detail: format!("{detail}; server log (latest first): {tail}"),
            });
        }
        result
    }

    async fn pg_ctl(&self, args: &[&str]) -> Result<()> {
        let pgdata = self.pgdata.display().to_string();
        let mut all = vec!["-D", pgdata.as_str()];
        all.extend_from_slice(args);
        run(&self.bindir.join("pg_ctl"), &all, self.run_as, &self.pgdata).await
    }

    async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match PgConnection::connect(&self.url("postgres")).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(EmbeddedError::Connect(e.to_string()))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn ensure_database(&self) -> Result<()> {
        let connect_err = |e: sqlx::Error| EmbeddedError::Connect(e.to_string());
        let mut conn = PgConnection::connect(&self.url("postgres"))
            .await
            .map_err(connect_err)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await
                .map_err(connect_err)?;
        if !exists {
            // Two processes may race here; the loser's duplicate error is harmless.
            if let Err(e) = sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await
            {
                let duplicate = e
                    .as_database_error()
                    .and_then(sqlx::error::DatabaseError::code)
                    .is_some_and(|c| c == "42P04");
                if !duplicate {
                    return Err(connect_err(e));
                }
            }
        }
        let _ = conn.close().await;
        Ok(())
    }
}

/// Finds initdb/pg_ctl/postgres: `KREISGEO_PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`
/// (Debian keeps them off PATH), else the directory of `pg_ctl` on PATH.
fn find_bindir() -> Result<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("KREISGEO_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return if has_all(&dir) {
            Ok(dir)
        } else {
            Err(EmbeddedError::BinariesMissing)
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((major, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| has_all(dir))
        .ok_or(EmbeddedError::BinariesMissing)
}

/// PostGIS must be installed for the same major version as the server binaries.
fn check_postgis(bindir: &Path) -> Result<()> {
    // Debian: /usr/lib/postgresql/15/bin → /usr/share/postgresql/15/extension
    let major = bindir
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or("15")
        .to_string();
    let candidates = [
        PathBuf::from(format!(
            "/usr/share/postgresql/{major}/extension/postgis.control"
        )),
        bindir.join("../share/postgresql/extension/postgis.control"),
        bindir.join("../share/extension/postgis.control"),
    ];
    if candidates.iter().any(|p| p.is_file()) {
        Ok(())
    } else {
        Err(EmbeddedError::PostgisMissing {
            control: candidates[0].display().to_string(),
            major,
        })
    }
}

/// As root, PostgreSQL runs as the `postgres` system user; otherwise as the caller.
fn postgres_identity() -> Result<Option<(Uid, Gid)>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some((user.uid, user.gid))),
        _ => Err(EmbeddedError::NoPostgresUser),
    }
}

/// Every ancestor of `dir` must be searchable by the `postgres` user.
fn check_reachable(dir: &Path, uid: Uid) -> Result<()> {
    for ancestor in dir.ancestors() {
        let meta = fs::metadata(ancestor).map_err(io_err(ancestor))?;
        let mode = meta.permissions().mode();
        let owner_ok =
            std::os::unix::fs::MetadataExt::uid(&meta) == uid.as_raw() && mode & 0o100 != 0;
        if !(owner_ok || mode & 0o001 != 0) {
            if ancestor == dir {
                // Our own directory: open it up for traversal (contents keep their own modes).
                fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o711))
                    .map_err(io_err(dir))?;
                continue;
            }
            return Err(EmbeddedError::DataDirNotReachable {
                path: dir.display().to_string(),
                reason: format!("{} has mode {:o}", ancestor.display(), mode & 0o777),
            });
        }
    }
    Ok(())
}

/// An exclusive lock on `D/kreisgeo.lock`, taken without blocking the async runtime.
async fn lock_dir(data_dir: &Path) -> Result<nix::fcntl::Flock<fs::File>> {
    let path = data_dir.join("kreisgeo.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    tokio::task::spawn_blocking(move || {
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, errno)| {
            EmbeddedError::Io {
                path: path.display().to_string(),
                source: errno.into(),
            }
        })
    })
    .await
    .map_err(|e| EmbeddedError::Connect(e.to_string()))?
}

fn read_password(data_dir: &Path) -> Result<String> {
    let path = data_dir.join("credentials");
    fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(io_err(&path))
}

/// Creates the cluster with a generated password and a 127.0.0.1-only configuration.
async fn init_cluster(
    bindir: &Path,
    data_dir: &Path,
    pgdata: &Path,
    run_as: Option<(Uid, Gid)>,
) -> Result<String> {
    let password = crate::auth::random_hex(24);
    let cred = data_dir.join("credentials");
    write_private(&cred, &password)?;

    // A leftover of an interrupted initdb would make the next one fail.
    if pgdata.exists() {
        fs::remove_dir_all(pgdata).map_err(io_err(pgdata))?;
    }
    fs::create_dir_all(pgdata).map_err(io_err(pgdata))?;
    fs::set_permissions(pgdata, fs::Permissions::from_mode(0o700)).map_err(io_err(pgdata))?;
    let pwfile = data_dir.join("initdb.pw");
    write_private(&pwfile, &password)?;
    if let Some((uid, gid)) = run_as {
        for p in [pgdata, pwfile.as_path()] {
            nix::unistd::chown(p, Some(uid), Some(gid)).map_err(|e| EmbeddedError::Io {
                path: p.display().to_string(),
                source: e.into(),
            })?;
        }
    }
    let pgdata_arg = pgdata.display().to_string();
    let pw_arg = format!("--pwfile={}", pwfile.display());
    let result = run(
        &bindir.join("initdb"),
        &[
            "-D",
            &pgdata_arg,
            "-U",
            SUPERUSER,
            &pw_arg,
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ],
        run_as,
        data_dir,
    )
    .await;
    let _ = fs::remove_file(&pwfile);
    result?;

    let conf = pgdata.join("postgresql.conf");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .map_err(io_err(&conf))?;
    // wal_level=minimal lets COPY into a table created in the same transaction skip WAL.
    file.write_all(
        b"\n# kreisgeo embedded defaults\n\
          listen_addresses = '127.0.0.1'\n\
          unix_socket_directories = ''\n\
          wal_level = minimal\n\
          max_wal_senders = 0\n\
          max_wal_size = '2GB'\n\
          shared_buffers = '256MB'\n\
          maintenance_work_mem = '256MB'\n\
          max_connections = 200\n",
    )
    .map_err(io_err(&conf))?;
    tracing::info!(pgdata = %pgdata.display(), "created embedded PostgreSQL cluster");
    Ok(password)
}

fn write_private(path: &Path, content: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(content.as_bytes()).map_err(io_err(path))
}

fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err(Path::new("127.0.0.1:0")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io_err(Path::new("127.0.0.1:0")))
}

async fn run(bin: &Path, args: &[&str], run_as: Option<(Uid, Gid)>, cwd: &Path) -> Result<()> {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    let name = format!(
        "{} {}",
        bin.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
        args.first().copied().unwrap_or_default()
    );
    run_command(cmd, &name, run_as, cwd).await
}

/// Runs a prepared command as `run_as` in `cwd`; its stderr becomes the error.
async fn run_command(
    mut cmd: Command,
    command: &str,
    run_as: Option<(Uid, Gid)>,
    cwd: &Path,
) -> Result<()> {
    cmd.current_dir(cwd)
        .env("LC_ALL", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        // Own process group: a Ctrl-C in the terminal reaches kreisgeo, which then stops the
        // server in order, instead of reaching postgres directly.
        .process_group(0);
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid.as_raw()).gid(gid.as_raw());
    }
    let command = command.to_string();
    let out = cmd.output().await.map_err(|e| EmbeddedError::Command {
        command: command.clone(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Command {
            command,
            detail: format!(
                "{}; {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}
