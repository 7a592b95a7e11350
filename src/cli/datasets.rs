//! `kreisgeo datasets` and `kreisgeo downloads`: the catalog's datasets and versions.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use kreisgeo::opendata::metadata::DatasetMetadata;

use super::{pretty, read_json, with_db};

#[derive(Subcommand)]
pub enum DatasetsAction {
    /// Every dataset with its active version.
    List,
    /// The kept versions of a dataset, newest first, and how its sources last ran.
    Versions { id: String },
    /// Serve an older kept version again (the previous one, or --to VERSION), atomically.
    Rollback {
        id: String,
        #[arg(long)]
        to: Option<i64>,
    },
    /// Delete a dataset: its versions, tables and downloads go at once; the catalog lists it as
    /// deleted for the retention time of `serve --deleted-retention-days`.
    Delete { id: String },
    /// Print a dataset's open-data metadata (JSON), or replace it with --file.
    Metadata {
        id: String,
        /// A JSON document: title, description, keywords, themes, license,
        /// licenseAttributionByText, accrualPeriodicity, temporal, contact (all optional).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// How the dataset's vector tiles are cut; without options, back to the defaults.
    Tiles {
        id: String,
        /// Most features per tile (the largest are kept) [default: 4000].
        #[arg(long)]
        max_features: Option<u32>,
        /// First WebMercatorQuad zoom whose tiles carry attributes [default: 12].
        #[arg(long)]
        attributes_from_zoom: Option<u8>,
        /// Comma-separated attributes tiles carry [default: all].
        #[arg(long, value_delimiter = ',')]
        attributes: Option<Vec<String>>,
    },
    /// Build the Web Mercator copies tiles draw from, now, for every served version that lacks
    /// one (a running server builds them in the background too).
    TileTables,
}

#[derive(Subcommand)]
pub enum DownloadsAction {
    /// Build every missing file (GeoJSON, CSV, FlatGeobuf, GeoPackage) of the served versions.
    Build,
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: DatasetsAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::catalog::repo;
    with_db(url, data_dir, |pool| async move {
        match action {
            DatasetsAction::List => {
                println!(
                    "{:<24} {:<8} {:>7} {:>8}  title",
                    "id", "kind", "active", "versions"
                );
                for d in repo::list_datasets(&pool).await? {
                    let active = d.active_version.map(|v| v.to_string()).unwrap_or_default();
                    println!(
                        "{:<24} {:<8} {:>7} {:>8}  {}",
                        d.id, d.kind, active, d.versions, d.title
                    );
                }
            }
            DatasetsAction::Versions { id } => {
                let versions = repo::list_versions(&pool, &id)
                    .await?
                    .ok_or_else(|| kreisgeo::Error::not_found("dataset", &id))?;
                println!(
                    "{:>8} {:<6} {:<20} {:>10}  source",
                    "version", "active", "loaded", "features"
                );
                for v in versions {
                    let active = if v.active { "*" } else { "" };
                    println!(
                        "{:>8} {:<6} {:<20} {:>10}  {} (sha256 {})",
                        v.id,
                        active,
                        v.created_at,
                        v.feature_count,
                        v.source_name,
                        &v.source_sha256[..12]
                    );
                }
                // A dataset fed from other servers: how each source's last run ended (a failed
                // one leaves the served version as it was).
                for source in kreisgeo::harvest::store::list(&pool, Some(&id)).await? {
                    let url = reqwest::Url::parse(&source.url)
                        .map(|u| kreisgeo::harvest::net::without_credentials(&u))
                        .unwrap_or_default();
                    println!(
                        "source {} ({}, {url}): {} at {}{}{}",
                        source.id,
                        source.kind,
                        source.last_status.as_deref().unwrap_or("not run yet"),
                        source.last_run_at.as_deref().unwrap_or("-"),
                        source
                            .last_error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default(),
                        source
                            .last_ok_at
                            .as_deref()
                            .filter(|_| source.last_status.as_deref() == Some("failed"))
                            .map(|ok| format!(" (last good run {ok})"))
                            .unwrap_or_default()
                    );
                }
            }
            DatasetsAction::Rollback { id, to } => {
                let (from, to) = repo::rollback(&pool, &id, to).await?;
                eprintln!("{id}: now serving version {to} (was {from})");
            }
            DatasetsAction::Delete { id } => {
                if !repo::delete_dataset(&pool, &id).await? {
                    return Err(kreisgeo::Error::not_found("dataset", &id));
                }
                eprintln!("{id}: deleted");
            }
            DatasetsAction::Metadata { id, file: None } => {
                let metadata: DatasetMetadata = repo::metadata(&pool, &id)
                    .await?
                    .ok_or_else(|| kreisgeo::Error::not_found("dataset", &id))?;
                println!("{}", pretty(&metadata));
            }
            DatasetsAction::Metadata {
                id,
                file: Some(file),
            } => {
                let metadata: DatasetMetadata = read_json(&file)?;
                metadata.validate()?;
                if !repo::set_metadata(&pool, &id, &metadata).await? {
                    return Err(kreisgeo::Error::not_found("dataset", &id));
                }
                eprintln!("{id}: metadata replaced");
            }
            DatasetsAction::Tiles {
                id,
                max_features,
                attributes_from_zoom,
                attributes,
            } => {
                if max_features == Some(0) {
                    return Err(kreisgeo::Error::invalid(
                        "max-features",
                        "must be at least 1",
                    ));
                }
                let settings = kreisgeo::catalog::TileSettings {
                    max_features,
                    attributes_from_zoom,
                    attributes,
                };
                if !repo::set_tile_settings(&pool, &id, &settings).await? {
                    return Err(kreisgeo::Error::not_found("dataset", &id));
                }
                eprintln!(
                    "{id}: tiles {}",
                    serde_json::to_string(&settings).unwrap_or_default()
                );
            }
            DatasetsAction::TileTables => {
                let started = std::time::Instant::now();
                let mut builder = kreisgeo::tiles::mercator::Builder::default();
                let built = builder.build_missing(&pool).await?;
                eprintln!(
                    "{built} tile tables built in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                if builder.failed() > 0 {
                    return Err(kreisgeo::Error::Internal(format!(
                        "{} tile tables could not be built (see the warnings above)",
                        builder.failed()
                    )));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// Builds every download file the served versions lack.
pub async fn build_downloads(url: Option<&str>, data_dir: &Path) -> anyhow::Result<ExitCode> {
    with_db(url, data_dir, |pool| async move {
        let started = std::time::Instant::now();
        let built = kreisgeo::downloads::build::build_missing(&pool).await?;
        eprintln!(
            "{built} download files built in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(ExitCode::SUCCESS)
    })
    .await
}
