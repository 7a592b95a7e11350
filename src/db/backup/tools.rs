//! PostgreSQL's client tools (pg_dump, pg_restore) of a version that can read the server, and
//! the connection handed to them without putting the password on a command line.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::{BackupError, Result};

/// pg_dump and pg_restore of one PostgreSQL major version.
#[derive(Debug, Clone)]
pub struct Tools {
    bindir: PathBuf,
    pub major: u32,
}

impl Tools {
    /// Tools for a server of major version `server_major`: that version's own, else the
    /// oldest newer one (pg_dump reads older servers, never newer ones). `KREISGEO_PG_BINDIR`
    /// is taken first, as for the embedded server.
    pub fn for_server(server_major: u32) -> Result<Self> {
        let mut found = candidates();
        found.sort_by_key(|t| t.major);
        if let Some(pinned) = found.iter().find(|t| t.pinned) {
            return if pinned.major >= server_major {
                Ok(pinned.tools.clone())
            } else {
                Err(too_old(pinned.major, server_major))
            };
        }
        if let Some(same) = found.iter().find(|t| t.major == server_major) {
            return Ok(same.tools.clone());
        }
        match found.iter().find(|t| t.major > server_major) {
            Some(newer) => Ok(newer.tools.clone()),
            None => match found.last() {
                Some(older) => Err(too_old(older.major, server_major)),
                None => Err(BackupError::Tools(format!(
                    "pg_dump and pg_restore were not found; install them with `apt-get install \
                     postgresql-client-{server_major}` (or set KREISGEO_PG_BINDIR)"
                ))),
            },
        }
    }

    /// A command running `tool` of this version at lower CPU priority, so that a backup taken
    /// while serving leaves the requests their share.
    pub fn command(&self, tool: &str, target: Option<&Target>) -> Command {
        let mut cmd = Command::new("nice");
        cmd.arg("-n")
            .arg("10")
            .arg(self.bindir.join(tool))
            .env("LC_ALL", "C.UTF-8")
            .stdin(std::process::Stdio::null())
            // In kreisgeo's process group, so that a Ctrl-C in the terminal also stops
            // pg_restore before its transaction commits; dropped with its future otherwise.
            .kill_on_drop(true);
        if let Some(target) = target {
            cmd.env_remove("PGPASSWORD").env_remove("PGSERVICE");
            if let Some(password) = &target.password {
                cmd.env("PGPASSWORD", password);
            }
        }
        cmd
    }
}

fn too_old(have: u32, server: u32) -> BackupError {
    BackupError::Tools(format!(
        "pg_dump {have} cannot read PostgreSQL {server}; install `postgresql-client-{server}`"
    ))
}

struct Candidate {
    tools: Tools,
    major: u32,
    pinned: bool,
}

/// `KREISGEO_PG_BINDIR`, then Debian's `/usr/lib/postgresql/N/bin`.
fn candidates() -> Vec<Candidate> {
    let complete = |dir: &Path| {
        ["pg_dump", "pg_restore"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let mut found = Vec::new();
    if let Some(dir) = std::env::var_os("KREISGEO_PG_BINDIR").map(PathBuf::from) {
        if complete(&dir) {
            if let Some(major) = major_of(&dir) {
                found.push(Candidate {
                    tools: Tools { bindir: dir, major },
                    major,
                    pinned: true,
                });
            }
        }
    }
    for entry in std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Some(major) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let bindir = entry.path().join("bin");
        if complete(&bindir) {
            found.push(Candidate {
                tools: Tools { bindir, major },
                major,
                pinned: false,
            });
        }
    }
    found
}

/// The major version of the tools in `dir`: its Debian path, else `pg_dump --version`.
fn major_of(dir: &Path) -> Option<u32> {
    let from_path = dir
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok());
    from_path.or_else(|| {
        let out = std::process::Command::new(dir.join("pg_dump"))
            .arg("--version")
            .output()
            .ok()?;
        // "pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.split_whitespace().nth(2)?;
        version.split('.').next()?.parse().ok()
    })
}

/// A database as libpq's tools take it: the URL without its password, which goes into the
/// tool's environment instead (a command line is visible to every user of the machine).
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    password: Option<String>,
}

/// Query parameters of a connection URL that libpq understands; sqlx's own are left out, since
/// libpq refuses what it does not know.
const LIBPQ_PARAMETERS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "connect_timeout",
    "options",
    "application_name",
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "target_session_attrs",
];

impl Target {
    pub fn parse(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url).map_err(|e| BackupError::Url(e.to_string()))?;
        let mut password = parsed.password().map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        });
        if password.is_some() {
            parsed
                .set_password(None)
                .map_err(|()| BackupError::Url("it has no host".into()))?;
        }
        // A password given as a parameter moves to the environment too.
        if let Some((_, p)) = parsed.query_pairs().find(|(k, _)| k == "password") {
            password = Some(p.into_owned());
        }
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| LIBPQ_PARAMETERS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok(Self {
            url: parsed.to_string(),
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_and_sqlx_parameters_are_dropped() {
        let t = Target::parse(
            "postgres://kreisgeo:p%40ss@127.0.0.1:5433/kreisgeo?sslmode=require&statement-cache-capacity=10",
        )
        .unwrap();
        assert_eq!(
            t.url,
            "postgres://kreisgeo@127.0.0.1:5433/kreisgeo?sslmode=require"
        );
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        let t = Target::parse("postgres://u@db/x").unwrap();
        assert_eq!(t.url, "postgres://u@db/x");
        assert_eq!(t.password, None);
        // A Unix socket: no host in the URL, no password to strip.
        let t = Target::parse("postgres:///kreisgeo?host=/run/postgresql&password=pw").unwrap();
        assert!(
            t.url.contains("host=") && !t.url.contains("pw"),
            "{}",
            t.url
        );
        assert_eq!(t.password.as_deref(), Some("pw"));
    }
}
