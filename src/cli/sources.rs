//! `kreisgeo sources add|list|remove|run`: datasets fed from other servers.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use kreisgeo::db::Database;
use kreisgeo::harvest::{self, fetch, net, store, SourceKind};

#[derive(Subcommand)]
pub enum SourcesAction {
    /// Feed a dataset from a URL: an OGC API Features collection (another kreisgeo, pygeoapi,
    /// ldproxy, GeoServer), a WFS, an Overpass query, a CKAN or DCAT dataset, or a file in any
    /// format `ingest` reads. `serve` runs it every --interval; `sources run` now. A dataset
    /// fed by several sources is their union, duplicate AEDs merged into one.
    Add(AddArgs),
    /// The sources and how their last run ended.
    List {
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Stop feeding a dataset from a source (the dataset keeps its versions).
    Remove { id: i64 },
    /// Run sources now: all of them, a dataset's, or one.
    Run {
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long)]
        source: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// The dataset the source feeds.
    #[arg(long)]
    dataset: String,
    #[arg(long)]
    url: String,
    /// ogcapi, wfs, overpass, ckan, dcat or file [default: ogcapi for a …/collections/{id} URL, wfs for a
    /// GetFeature request, overpass for …/interpreter, ckan for …/dataset/NAME or package_show,
    /// dcat for …/catalog/datasets/ID, else file].
    #[arg(long)]
    kind: Option<String>,
    /// The dataset kind its features are loaded as (aed, parcels, addresses …).
    #[arg(long = "as", default_value = "generic")]
    dataset_kind: String,
    /// The CRS of a file that does not say it (EPSG:N).
    #[arg(long, value_parser = parse_crs)]
    crs: Option<i32>,
    /// How often `serve` runs it (humantime: 15m, 1h, 1d).
    #[arg(long, default_value = "1h")]
    interval: humantime::Duration,
    /// Features per page of an OGC API collection or a WFS.
    #[arg(long, default_value_t = 1000)]
    page_size: i32,
    /// The Overpass QL of an overpass source (`[out:json]` is put first when it names no
    /// output), or @FILE to read it from a file.
    #[arg(long)]
    query: Option<String>,
    /// Where its credentials are read at each run: env:NAME or file:/path, holding
    /// user:password (HTTP Basic) or a token (Bearer). Never stored, never logged.
    #[arg(long)]
    credentials: Option<String>,
    /// Of several sources of one dataset, whose attributes win where they list the same
    /// feature: lower first (0–1000), then the source added first.
    #[arg(long, default_value_t = 100)]
    priority: i32,
    /// Which source column holds a canonical attribute of the --as profile, as `ingest --map`.
    #[arg(long = "map", value_name = "ATTRIBUTE=COLUMN", value_parser = super::ingest::parse_mapping)]
    mappings: Vec<(String, String)>,
    #[command(flatten)]
    client: ClientArgs,
}

/// How the harvest may reach out.
#[derive(clap::Args)]
pub struct ClientArgs {
    /// Hosts that may be fetched although they resolve to loopback or private addresses.
    #[arg(long, env = "KREISGEO_HARVEST_ALLOW_HOSTS", value_delimiter = ',')]
    allow_hosts: Vec<String>,
}

impl ClientArgs {
    fn policy(&self) -> net::Policy {
        net::Policy::allowing(self.allow_hosts.iter().cloned())
    }
}

fn parse_crs(s: &str) -> Result<i32, String> {
    kreisgeo::crs::parse(s).ok_or_else(|| format!("'{s}' is not a CRS such as EPSG:25832"))
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: SourcesAction,
) -> anyhow::Result<ExitCode> {
    let db = Database::open(url, data_dir).await?;
    let result = act(&db, action).await;
    db.close().await?;
    result
}

async fn act(db: &Database, action: SourcesAction) -> anyhow::Result<ExitCode> {
    match action {
        SourcesAction::Add(a) => {
            let kind = match &a.kind {
                Some(k) => k.clone(),
                None => SourceKind::guess(&reqwest::Url::parse(&a.url)?)
                    .as_str()
                    .to_string(),
            };
            let interval = i32::try_from(a.interval.as_secs()).unwrap_or(i32::MAX);
            let query = match a.query.as_deref() {
                Some(q) if q.starts_with('@') => Some(std::fs::read_to_string(&q[1..])?),
                other => other.map(str::to_string),
            };
            let id = harvest::add(
                &db.pool,
                &a.client.policy(),
                &store::NewSource {
                    dataset_id: &a.dataset,
                    kind: &kind,
                    url: &a.url,
                    dataset_kind: &a.dataset_kind,
                    crs: a.crs,
                    interval_s: interval,
                    mapping: &a.mappings,
                    page_size: a.page_size,
                    query: query.as_deref(),
                    credentials: a.credentials.as_deref(),
                    priority: a.priority,
                },
            )
            .await?;
            println!("{id}");
            eprintln!(
                "source {id}: {} ({kind}) feeds {} every {}",
                a.url, a.dataset, a.interval
            );
        }
        SourcesAction::List { dataset, json } => {
            let sources = store::list(&db.pool, dataset.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sources)?);
            } else {
                for s in sources {
                    println!(
                        "{:>4}  {:<20} {:<7} every {:>6}s  {:<12} {}{}",
                        s.id,
                        s.dataset_id,
                        s.kind,
                        s.interval_s,
                        s.last_status.as_deref().unwrap_or("never run"),
                        s.url,
                        s.last_error
                            .as_deref()
                            .map(|e| format!("\n      {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        SourcesAction::Remove { id } => {
            if !harvest::remove(&db.pool, id).await? {
                anyhow::bail!("no source {id}");
            }
            eprintln!("source {id} removed; its dataset keeps its versions");
        }
        SourcesAction::Run {
            dataset,
            source,
            client,
            json,
        } => {
            let all = store::list(&db.pool, dataset.as_deref()).await?;
            let chosen: Vec<_> = all
                .into_iter()
                .filter(|s| source.is_none_or(|id| s.id == id))
                .collect();
            anyhow::ensure!(!chosen.is_empty(), "no such source");
            let http = fetch::Client::new(fetch::Settings {
                policy: client.policy(),
                ..fetch::Settings::default()
            })?;
            let mut failed = false;
            let mut reports = Vec::new();
            for s in &chosen {
                let Some(report) = harvest::run(&db.pool, &http, s).await? else {
                    eprintln!("source {}: running elsewhere, skipped", s.id);
                    continue;
                };
                failed |= report.status == "failed";
                if !json {
                    eprintln!(
                        "source {} → {}: {}{} in {:.1} s",
                        report.source,
                        report.dataset,
                        report.status,
                        match (&report.error, report.version) {
                            (Some(e), _) => format!(": {e}"),
                            (None, Some(v)) => format!(
                                ", version {v} with {} features",
                                report.features.unwrap_or(0)
                            ),
                            _ => String::new(),
                        },
                        report.seconds
                    );
                }
                reports.push(report);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            }
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
