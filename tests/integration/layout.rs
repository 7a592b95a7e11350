//! The code's own rules, kept true: SQL only in the modules that own it (README, "Rules"), and
//! route handlers that do not reach into each other.

use std::path::{Path, PathBuf};

/// The modules that may talk SQL to PostgreSQL.
const SQL_LAYER: &[&str] = &[
    "src/db/",
    "src/catalog/repo.rs",
    "src/catalog/packages.rs",
    "src/ingest/load.rs",
    "src/ingest/validate.rs",
    "src/ingest/extent.rs",
    "src/features/query.rs",
    "src/features/filter.rs",
    "src/tiles/mvt.rs",
    "src/tiles/mercator.rs",
    "src/downloads/store.rs",
    "src/auth.rs",
    "src/jobs.rs",
    "src/audit.rs",
    "src/solar/store.rs",
    "src/osm/store.rs",
    "src/basemap/tiles.rs",
    "src/search/store.rs",
    "src/routing/store.rs",
    "src/routing/coverage_store.rs",
    "src/harvest/store.rs",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            (relative, std::fs::read_to_string(&path).expect("read"))
        })
        .collect()
}

#[test]
fn sql_lives_only_in_the_sql_layer() {
    let markers = [
        "sqlx::query",
        "sqlx::raw_sql",
        "QueryBuilder",
        "query_as(",
        "query_scalar(",
    ];
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| !SQL_LAYER.iter().any(|allowed| path.starts_with(allowed)))
        .filter_map(|(path, text)| {
            let hit = markers.iter().find(|m| text.contains(*m))?;
            Some(format!("{path} ({hit})"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "SQL outside the SQL layer (move it into one of {SQL_LAYER:?}, or widen the rule in \
         README and here): {offenders:?}"
    );
    // The rule is about real modules: every one listed exists.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for allowed in SQL_LAYER {
        assert!(root.join(allowed).exists(), "{allowed} is gone");
    }
}

#[test]
fn no_route_imports_another_route() {
    let routes: Vec<(String, String)> = sources()
        .into_iter()
        .filter(|(path, _)| path.starts_with("src/api/routes/") && !path.ends_with("/mod.rs"))
        .collect();
    let names: Vec<String> = routes
        .iter()
        .map(|(path, _)| {
            path.trim_start_matches("src/api/routes/")
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    let mut offenders = Vec::new();
    for (path, text) in &routes {
        for name in &names {
            for pattern in [
                format!("super::{name}::"),
                format!("routes::{name}::"),
                format!("use super::{name};"),
            ] {
                if text.contains(&pattern) {
                    offenders.push(format!("{path} uses {pattern}"));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}
