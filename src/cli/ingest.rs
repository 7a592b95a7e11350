//! `kreisgeo ingest`: a file into a new version of a dataset, with a progress bar.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use kreisgeo::catalog::DatasetKind;
use kreisgeo::db::Database;
use kreisgeo::ingest::formats::ReadOptions;
use kreisgeo::ingest::{self, IngestRequest, Progress};

/// `kreisgeo ingest FILE --dataset ID [--kind K] [--crs EPSG:N] …`
#[derive(clap::Args)]
pub struct IngestArgs {
    /// The file to load (the format is detected from its content and name). CityGML and
    /// other GML: several tiles, or a directory of them, are loaded as one dataset.
    #[arg(required = true, num_args = 1..)]
    pub file: Vec<PathBuf>,
    /// Dataset id: a-z, 0-9, '_' and '-'; it becomes the collection id.
    #[arg(long)]
    pub dataset: String,
    /// What the dataset holds.
    #[arg(long, value_enum, default_value = "generic")]
    pub kind: DatasetKind,
    /// CRS of the coordinates (e.g. EPSG:25832); overrides what the file declares.
    #[arg(long)]
    pub crs: Option<String>,
    /// Human-readable title of the dataset.
    #[arg(long)]
    pub title: Option<String>,
    /// How many versions to keep (the served one included).
    #[arg(long, default_value_t = ingest::DEFAULT_KEEP_VERSIONS)]
    pub keep_versions: i64,
    /// Store the valid features and report the rejected ones, instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// CSV: column with longitude/easting [detected: lon, longitude, x, rechtswert …].
    #[arg(long)]
    pub x_field: Option<String>,
    /// CSV: column with latitude/northing [detected: lat, latitude, y, hochwert …].
    #[arg(long)]
    pub y_field: Option<String>,
    /// CSV: column with WKT geometries [detected: wkt, geometry, geom …].
    #[arg(long)]
    pub wkt_field: Option<String>,
    /// CSV: field delimiter [detected from the header line].
    #[arg(long)]
    pub delimiter: Option<char>,
    /// GeoPackage: the feature table to read [the first]. GML: the feature type, e.g.
    /// AX_Gebaeude, or types by their start, 'AX_Lagebezeichnung*' [from NAS: AX_Flurstueck
    /// for parcels, AX_Gebaeude for buildings, AX_Lagebezeichnung* for addresses; else the
    /// file's only type].
    #[arg(long)]
    pub layer: Option<String>,
    /// Which source column holds a canonical attribute of the --kind profile, e.g.
    /// --map flurstueckskennzeichen=KENNZ (repeatable).
    #[arg(long = "map", value_name = "ATTRIBUTE=COLUMN", value_parser = parse_mapping)]
    pub mappings: Vec<(String, String)>,
    /// Print the ingest report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The publisher (`kreisgeo publishers`) the dataset belongs to [default: as it is; a new
    /// dataset: the portal's own].
    #[arg(long)]
    pub publisher: Option<String>,
}

impl IngestArgs {
    fn into_request(self) -> anyhow::Result<IngestRequest> {
        let delimiter = self
            .delimiter
            .map(|d| u8::try_from(d).context("--delimiter must be a single ASCII character"))
            .transpose()?;
        let crs = self
            .crs
            .map(|c| {
                kreisgeo::crs::parse(&c)
                    .with_context(|| format!("--crs '{c}' is not a CRS such as EPSG:25832"))
            })
            .transpose()?;
        Ok(IngestRequest {
            path: self.file[0].clone(),
            dataset: self.dataset,
            kind: self.kind,
            crs,
            title: self.title,
            keep_versions: self.keep_versions,
            skip_invalid: self.skip_invalid,
            read: ReadOptions {
                x: self.x_field,
                y: self.y_field,
                wkt: self.wkt_field,
                delimiter,
                layer: self.layer,
                more_files: self.file[1..].to_vec(),
                ..ReadOptions::default()
            },
            mappings: self.mappings,
        })
    }
}

pub(crate) fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, c)) if !a.is_empty() && !c.is_empty() => Ok((a.to_string(), c.to_string())),
        _ => Err(format!("'{s}' is not ATTRIBUTE=COLUMN")),
    }
}

/// Loads the file and prints what happened; Ctrl-C leaves everything as it was.
pub async fn run(url: Option<&str>, data_dir: &Path, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    let publisher = args.publisher.clone();
    let request = args.into_request()?;
    let db = Database::open(url, data_dir).await?;
    if let Some(p) = &publisher {
        let known = kreisgeo::catalog::repo::publishers::<serde_json::Value>(&db.pool)
            .await?
            .iter()
            .any(|(id, _)| id == p);
        if !known {
            db.close().await?;
            anyhow::bail!("--publisher {p}: there is no such publisher (kreisgeo publishers list)");
        }
    }
    let progress = Arc::new(CliProgress::new());
    let outcome = tokio::select! {
        r = ingest::ingest(&db.pool, &request, progress.clone()) => Some(r),
        () = kreisgeo::server::shutdown_signal() => None,
    };
    if let (Some(Ok(report)), Some(p)) = (&outcome, &publisher) {
        kreisgeo::catalog::repo::set_dataset_publisher(&db.pool, &report.dataset, Some(p)).await?;
    }
    progress.finish();
    db.close().await?;
    match outcome {
        None => {
            eprintln!("interrupted: nothing was changed");
            Ok(ExitCode::from(130))
        }
        Some(Err(e)) => Err(e.into()),
        Some(Ok(report)) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.unchanged {
                eprintln!(
                    "{}: file unchanged, still serving version {}",
                    report.dataset, report.version
                );
            } else {
                eprintln!(
                    "{}: version {} serves {} features ({}, EPSG:{}) in {:.1} s ({:.0} features/s)",
                    report.dataset,
                    report.version,
                    report.features,
                    report.format,
                    report.source_crs.unwrap_or_default(),
                    report.seconds,
                    report.features as f64 / report.seconds.max(1e-9)
                );
                if report.repaired + report.rejected > 0 {
                    eprintln!(
                        "{} geometries repaired, {} features rejected:",
                        report.repaired, report.rejected
                    );
                    for p in &report.problems {
                        eprintln!("  feature {}: {} ({})", p.feature, p.reason, p.action);
                    }
                }
            }
            for r in &report.recomputed {
                match (r.version, &r.error) {
                    (Some(v), _) => eprintln!("{}: recomputed from it as version {v}", r.dataset),
                    (None, e) => eprintln!(
                        "{}: not recomputed, its last version stays served: {}",
                        r.dataset,
                        e.as_deref().unwrap_or("")
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A progress bar on a terminal, log lines otherwise.
pub(crate) struct CliProgress {
    bar: Option<ProgressBar>,
}

impl CliProgress {
    pub(crate) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} {pos} features ({per_sec}, {elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn phase(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_string());
        } else {
            tracing::info!(phase = name, "ingest");
        }
    }

    fn features(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if done.is_multiple_of(100_000) => {
                tracing::info!(features = done, "ingest progress");
            }
            None => {}
        }
    }
}
