//! The dependency policy (deny.toml): allowed licences, banned crates, crates.io as the only
//! source — checked with cargo-deny, which `scripts/install-deps.sh --test` builds into
//! target/tools.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cargo_deny() -> PathBuf {
    let path = std::env::var_os("KREISGEO_CARGO_DENY").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/cargo-deny"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "cargo-deny is not at {}: run scripts/install-deps.sh --test (make test does)",
        path.display()
    );
    path
}

fn check(config: &Path) -> std::process::Output {
    Command::new(cargo_deny())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--offline", "--config"])
        .arg(config)
        .args(["check", "licenses", "bans", "sources"])
        .output()
        .expect("run cargo-deny")
}

#[test]
fn dependencies_follow_the_policy() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = check(&manifest.join("deny.toml"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("bans ok, licenses ok, sources ok"),
        "{report}"
    );

    // The check bites: the same policy with a crate kreisgeo uses banned fails.
    let dir = crate::common::scratch_root().join(format!("deny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let policy = std::fs::read_to_string(manifest.join("deny.toml")).expect("deny.toml");
    let banned = policy.replace(
        "deny = [{ name = \"openssl-sys\" }",
        "deny = [{ name = \"tokio\" }, { name = \"openssl-sys\" }",
    );
    assert_ne!(banned, policy, "deny.toml changed shape; adapt this test");
    std::fs::write(dir.join("deny.toml"), banned).expect("write");
    let out = check(&dir.join("deny.toml"));
    assert!(!out.status.success(), "a banned crate went unnoticed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("tokio"));
    let _ = std::fs::remove_dir_all(&dir);
}
