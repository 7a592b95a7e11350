//! The Debian package on this machine (issue 24): built by scripts/build-deb.sh (with the
//! test build's binary, so that the suite compiles nothing twice), installed with dpkg, its
//! unit checked by systemd-analyze, the packaged binary run as the package's user with the
//! packaged settings (ingest, serve), then purged — and /var/lib/kreisgeo is still there.
//! Needs root; `make test` runs it as root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The packaged binary as the package's user, with the environment its unit sets.
fn as_service(args: &[&str]) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .args(["-u", "kreisgeo", "--", "env"])
        .args([
            "KREISGEO_CONFIG=/etc/kreisgeo/kreisgeo.toml",
            "KREISGEO_DATA_DIR=/var/lib/kreisgeo",
            "/usr/bin/kreisgeo",
        ])
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null());
    cmd
}

fn service_ok(args: &[&str]) -> String {
    let out = as_service(args).output().unwrap();
    assert!(
        out.status.success(),
        "kreisgeo {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs root: installs the package with dpkg; make test runs it as root"]
fn the_debian_package_installs_serves_and_purges_keeping_the_data() {
    let state = Path::new("/var/lib/kreisgeo");
    assert!(
        !state.exists(),
        "/var/lib/kreisgeo exists already: this test installs the package on this machine and \
         must not run over a real installation's data (move it aside)"
    );
    let manifest = env!("CARGO_MANIFEST_DIR");
    let out_dir = format!("{manifest}/target/deb-test");
    let deb = ok(
        &format!("{manifest}/scripts/build-deb.sh"),
        &[
            "--binary",
            env!("CARGO_BIN_EXE_kreisgeo"),
            "--out",
            &out_dir,
        ],
    );
    let deb = deb.trim();
    assert!(
        Path::new(deb).extension().is_some_and(|e| e == "deb"),
        "{deb}"
    );
    let info = ok("dpkg-deb", &["--info", deb]);
    for needed in [
        "Package: kreisgeo",
        "postgresql-15-postgis-3",
        "postgresql-15-pgrouting",
        "conffiles",
        "postinst",
    ] {
        assert!(info.contains(needed), "{needed} not in:\n{info}");
    }

    let _ = run("dpkg", &["--purge", "kreisgeo"]);
    ok("dpkg", &["--install", deb]);
    let result = std::panic::catch_unwind(installed_package_works);
    // Purging keeps the county's data.
    ok("dpkg", &["--purge", "kreisgeo"]);
    assert!(!Path::new("/usr/bin/kreisgeo").exists());
    assert!(
        !Path::new("/etc/kreisgeo/kreisgeo.toml").exists(),
        "purge removes the settings"
    );
    let kept = state.join("pgdata/PG_VERSION").exists();
    let _ = std::fs::remove_dir_all(state);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert!(kept, "purging the package deleted /var/lib/kreisgeo");
}

fn installed_package_works() {
    // The unit is valid (systemd's own check of every directive and of ExecStart's binary).
    let verify = run(
        "systemd-analyze",
        &["verify", "/lib/systemd/system/kreisgeo.service"],
    );
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{said}");
    assert!(
        !said.contains("kreisgeo.service:"),
        "systemd-analyze complains: {said}"
    );
    let unit = std::fs::read_to_string("/lib/systemd/system/kreisgeo.service").unwrap();
    for line in [
        "User=kreisgeo",
        "StateDirectory=kreisgeo",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(line), "{line:?}");
    }

    // The user exists, owns the state directory, and reads the settings file others cannot.
    let user = ok("getent", &["passwd", "kreisgeo"]);
    assert!(user.starts_with("kreisgeo:"), "{user}");
    let owner = ok(
        "stat",
        &[
            "-c",
            "%U %a",
            "/var/lib/kreisgeo",
            "/etc/kreisgeo/kreisgeo.toml",
        ],
    );
    assert_eq!(owner, "kreisgeo 750\nroot 640\n");
    let check = service_ok(&["config", "check"]);
    assert!(
        check.contains("# configuration file: /etc/kreisgeo/kreisgeo.toml"),
        "{check}"
    );

    // Ingest and serve as the service would.
    let fixture =
        std::env::temp_dir().join(format!("kreisgeo-deb-aed-{}.geojson", std::process::id()));
    std::fs::copy(
        format!(
            "{}/fixtures/generated/aed_lueneburg_200_25832.geojson",
            env!("CARGO_MANIFEST_DIR")
        ),
        &fixture,
    )
    .unwrap();
    ok("chmod", &["644", fixture.to_str().unwrap()]);
    service_ok(&[
        "ingest",
        fixture.to_str().unwrap(),
        "--dataset",
        "aed",
        "--kind",
        "aed",
    ]);
    let _ = std::fs::remove_file(&fixture);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = as_service(&["serve", "--bind", &bind])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let answer = ureq::get(&format!("http://{bind}/collections/aed/items?limit=5")).call();
        if let Ok(mut answer) = answer {
            break answer.body_mut().read_to_string().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the packaged server did not answer"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let items: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(items["numberMatched"], 200, "{body}");
    // A service stop: SIGTERM to kreisgeo, which stops its PostgreSQL.
    ok("pkill", &["-TERM", "-u", "kreisgeo", "-x", "kreisgeo"]);
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    let pid_file = Path::new("/var/lib/kreisgeo/pgdata/postmaster.pid");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pid_file.exists() {
        assert!(
            Instant::now() < deadline,
            "PostgreSQL still runs after the service stopped"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
