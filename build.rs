//! Embeds MapLibre GL JS (its CSP build) from `web/node_modules`, where `npm ci --prefix web`
//! put it (`scripts/install-deps.sh` does), so that the binary serves its map without a CDN.
//! Without it the binary builds all the same and its map page says how to add it.
//!
//! Embeds DejaVu Sans (Debian's fonts-dejavu-core) for the basemap's glyphs likewise.

use std::path::Path;

const FILES: &[&str] = &[
    "maplibre-gl-csp.js",
    "maplibre-gl-csp-worker.js",
    "maplibre-gl.css",
];

fn main() -> std::io::Result<()> {
    let dist = Path::new("web/node_modules/maplibre-gl/dist");
    let out = std::env::var("OUT_DIR").map_err(std::io::Error::other)?;
    println!("cargo:rustc-check-cfg=cfg(maplibre)");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    // sqlx::migrate! embeds migrations/: a new or changed file must rebuild the binary even when
    // no source file changed (this script's rerun-if-changed lines replace cargo's default).
    println!("cargo:rerun-if-changed=migrations");
    let mut all = true;
    for file in FILES {
        let from = dist.join(file);
        println!("cargo:rerun-if-changed={}", from.display());
        let to = Path::new(&out).join(file);
        if std::fs::copy(&from, &to).is_err() {
            all = false;
            std::fs::write(&to, b"")?;
        }
    }
    fonts(&out);
    if all {
        println!("cargo:rustc-cfg=maplibre");
    } else {
        println!(
            "cargo:warning=MapLibre GL JS is not in web/node_modules: the map page will say so (run npm ci --prefix web)"
        );
    }
    Ok(())
}

/// The basemap's fonts, from the Debian package.
fn fonts(out: &str) {
    println!("cargo:rustc-check-cfg=cfg(basemap_fonts)");
    let dir = Path::new("/usr/share/fonts/truetype/dejavu");
    let mut all = true;
    for (from, to) in [
        ("DejaVuSans.ttf", "basemap-regular.ttf"),
        ("DejaVuSans-Bold.ttf", "basemap-bold.ttf"),
    ] {
        let from = dir.join(from);
        println!("cargo:rerun-if-changed={}", from.display());
        all &= std::fs::copy(&from, Path::new(out).join(to)).is_ok();
    }
    if all {
        println!("cargo:rustc-cfg=basemap_fonts");
    } else {
        println!(
            "cargo:warning=DejaVu Sans is not in /usr/share/fonts/truetype/dejavu: the basemap will have no labels (apt-get install fonts-dejavu-core)"
        );
    }
}
