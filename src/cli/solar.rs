//! `kreisgeo solar compute`: the solar cadastre from a roofs dataset and a typical year.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use kreisgeo::db::Database;
use kreisgeo::solar::compute::{self, Request};
use kreisgeo::solar::roof::Settings;

use super::ingest::CliProgress;

#[derive(Subcommand)]
pub enum SolarAction {
    /// Compute the potential of every roof polygon of a roofs dataset (`ingest TILES --kind
    /// roofs`) under a PVGIS TMY (CSV or JSON) or DWD TRY, shaded by all the buildings, into a
    /// new version of a solar dataset.
    Compute(Box<ComputeArgs>),
}

#[derive(clap::Args)]
pub struct ComputeArgs {
    /// The roofs dataset.
    #[arg(long)]
    roofs: String,
    /// The typical meteorological year: PVGIS TMY (.csv, .json) or DWD TRY (.dat).
    #[arg(long)]
    weather: PathBuf,
    /// The solar dataset to write (a new version of it).
    #[arg(long)]
    dataset: String,
    #[arg(long)]
    title: Option<String>,
    /// A file of building ids (or, with --parcels, Flurstückskennzeichen), one per line, whose
    /// owners objected: their buildings are left out everywhere.
    #[arg(long)]
    opt_out: Option<PathBuf>,
    /// The parcels dataset the Flurstückskennzeichen of --opt-out refer to.
    #[arg(long)]
    parcels: Option<String>,
    /// Modules keep this far from the roof outline, metres [default: 0.5].
    #[arg(long, default_value_t = 0.5)]
    setback: f64,
    /// Least module area worth a system, m² [default: 10].
    #[arg(long, default_value_t = 10.0)]
    min_area: f64,
    /// System losses, percent [default: 14].
    #[arg(long, default_value_t = 14.0)]
    losses: f64,
    /// Ground reflectance [default: 0.2].
    #[arg(long, default_value_t = 0.2)]
    albedo: f64,
    /// Peak power per m² of module, kWp [default: 0.2].
    #[arg(long, default_value_t = 0.2)]
    kwp_per_m2: f64,
    /// Spacing of the points tested for shade, metres [default: 1].
    #[arg(long, default_value_t = 1.0)]
    grid: f64,
    /// How far around obstacles count, metres [default: 300].
    #[arg(long, default_value_t = 300.0)]
    radius: f64,
    /// kg CO₂ per kWh of the electricity mix a kWh of PV replaces [default: 0.380, UBA 2023].
    #[arg(long, default_value_t = 0.380)]
    co2_kg_per_kwh: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl ComputeArgs {
    fn request(self) -> anyhow::Result<(Request, bool)> {
        let opt_out: HashSet<String> = match &self.opt_out {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
            None => HashSet::new(),
        };
        let defaults = Settings::default();
        let settings = Settings {
            setback: self.setback,
            min_area: self.min_area,
            kwp_per_m2: self.kwp_per_m2,
            grid: self.grid,
            radius: self.radius,
            co2_kg_per_kwh: self.co2_kg_per_kwh,
            model: kreisgeo::solar::model::Params {
                albedo: self.albedo,
                losses: self.losses / 100.0,
                ..defaults.model
            },
            ..defaults
        };
        anyhow::ensure!(
            settings.grid > 0.05 && settings.radius >= 0.0 && (0.0..100.0).contains(&self.losses),
            "--grid must be above 0.05 m, --radius not negative, --losses 0 to 100"
        );
        Ok((
            Request {
                roofs: self.roofs,
                weather: self.weather,
                dataset: self.dataset,
                title: self.title,
                opt_out,
                parcels: self.parcels,
                settings,
            },
            self.json,
        ))
    }
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: SolarAction,
) -> anyhow::Result<ExitCode> {
    let SolarAction::Compute(args) = action;
    let (request, json) = args.request()?;
    let db = Database::open(url, data_dir).await?;
    let progress = Arc::new(CliProgress::new());
    let result = compute::compute(&db.pool, &request, progress.clone()).await;
    progress.finish();
    db.close().await?;
    let report = result?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprintln!(
            "{}: version {} with {} roofs ({} suitable, {} left out by objection) from {} \
             version {} and {} ({})",
            request.dataset,
            report.ingest.version,
            report.roofs,
            report.suitable,
            report.left_out_by_objection,
            report.roofs_dataset,
            report.roofs_version,
            report.weather_source,
            report.weather_attribution
        );
        let phases: Vec<String> = report
            .phases
            .iter()
            .map(|(p, s)| format!("{p} {s:.1} s"))
            .collect();
        eprintln!("  {}", phases.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
