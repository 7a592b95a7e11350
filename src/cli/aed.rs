//! `kreisgeo aed coverage`: walking minutes from every address to the nearest public
//! defibrillator, and the county's coverage gaps.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use kreisgeo::db::Database;
use kreisgeo::routing::coverage::{self, Request, AT_FORMAT, DEFAULT_THRESHOLD_MIN};
use kreisgeo::routing::Walking;

use super::ingest::CliProgress;

#[derive(Subcommand)]
pub enum AedAction {
    /// For every address, the walking minutes to the nearest public defibrillator accessible
    /// around the clock and to the nearest one open at --at, and the areas beyond --threshold,
    /// into a new version of a coverage dataset. Recorded: every new version of the
    /// defibrillators, the network or the addresses recomputes it.
    Coverage(CoverageArgs),
}

#[derive(clap::Args)]
pub struct CoverageArgs {
    /// The defibrillators (kind aed).
    #[arg(long)]
    aed: String,
    /// The OpenStreetMap dataset whose walking network is walked (kind osm).
    #[arg(long)]
    network: String,
    /// The addresses (kind addresses, or an OSM dataset's addresses) [default: the network's].
    #[arg(long)]
    addresses: Option<String>,
    /// The coverage dataset to write.
    #[arg(long, default_value = "aed-coverage")]
    dataset: String,
    /// Minutes on foot beyond which an address lies in a gap.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD_MIN)]
    threshold: f64,
    /// The moment of the "open at a given time" minutes, German local time YYYY-MM-DDThh:mm
    /// [default: the moment of each computation].
    #[arg(long, value_parser = parse_at)]
    at: Option<chrono::NaiveDateTime>,
    /// Walking speed, km/h.
    #[arg(long, default_value_t = Walking::default().speed_kmh)]
    speed_kmh: f64,
    /// Addresses and defibrillators farther than this from every way are unreachable, metres.
    #[arg(long, default_value_t = Walking::default().snap_max_m)]
    snap_max_m: f64,
    #[arg(long)]
    title: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_at(s: &str) -> Result<chrono::NaiveDateTime, String> {
    chrono::NaiveDateTime::parse_from_str(s, AT_FORMAT)
        .map_err(|_| format!("'{s}' is not YYYY-MM-DDThh:mm"))
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: AedAction,
) -> anyhow::Result<ExitCode> {
    let AedAction::Coverage(args) = action;
    anyhow::ensure!(
        args.speed_kmh > 0.5 && args.speed_kmh < 30.0 && args.snap_max_m >= 0.0,
        "--speed-kmh must be 0.5 to 30, --snap-max-m not negative"
    );
    let request = Request {
        dataset: args.dataset,
        aed: args.aed,
        network: args.network,
        addresses: args.addresses,
        threshold_min: args.threshold,
        at: args.at,
        walking: Walking {
            speed_kmh: args.speed_kmh,
            snap_max_m: args.snap_max_m,
            ..Walking::default()
        },
        title: args.title,
    };
    let db = Database::open(url, data_dir).await?;
    let progress = Arc::new(CliProgress::new());
    let result = coverage::compute(&db.pool, &request, progress.clone()).await;
    progress.finish();
    db.close().await?;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let t = &report.around_the_clock;
        eprintln!(
            "{}: version {} — {} addresses; around the clock ({} defibrillators): {} within {} \
             min, {} beyond, {} unreachable, {} gap areas; open at {} ({} defibrillators): {} \
             within, {} beyond, {} unreachable",
            report.dataset,
            report.ingest.version,
            report.address_count,
            t.defibrillators,
            t.within_threshold,
            report.threshold_min,
            t.beyond_threshold,
            t.unreachable,
            report.gap_areas,
            report.at,
            report.at_moment.defibrillators,
            report.at_moment.within_threshold,
            report.at_moment.beyond_threshold,
            report.at_moment.unreachable,
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
