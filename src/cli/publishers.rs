//! `kreisgeo publishers`: the further publishers of the portal (the municipalities a county
//! runs it for) and which publisher a dataset belongs to.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use kreisgeo::opendata::metadata::Publisher;

use super::{pretty, read_json, with_db};

#[derive(Subcommand)]
pub enum PublishersAction {
    /// Every further publisher (the portal's own: `kreisgeo catalog publisher`).
    List,
    /// Enter or replace publisher ID (its CKAN organization name) from a JSON file of the
    /// same shape as the portal's publisher: name, uri, contact, license,
    /// licenseAttributionByText, municipalityKey (Gemeindeschlüssel) ….
    Set {
        id: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Remove a publisher that no dataset and no key is bound to.
    Remove { id: String },
    /// Give DATASET to PUBLISHER; without PUBLISHER, back to the portal's own.
    Assign {
        dataset: String,
        publisher: Option<String>,
    },
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: PublishersAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::catalog::repo;
    with_db(url, data_dir, |pool| async move {
        match action {
            PublishersAction::List => {
                for (id, p) in repo::publishers::<Publisher>(&pool).await? {
                    println!("{id:<32} {}  <{}>", p.name, p.uri);
                }
            }
            PublishersAction::Set { id, file } => {
                let base = "http://localhost";
                kreisgeo::opendata::publishers::Publishers::load(&pool, base)
                    .await?
                    .check_id(&id)?;
                let publisher: Publisher = read_json(&file)?;
                publisher.validate()?;
                let new = repo::put_publisher(&pool, &id, &publisher).await?;
                eprintln!(
                    "publisher {id} {}: {}",
                    if new { "entered" } else { "replaced" },
                    publisher.name
                );
                println!("{}", pretty(&publisher));
            }
            PublishersAction::Remove { id } => {
                if !repo::delete_publisher(&pool, &id).await? {
                    return Err(kreisgeo::Error::not_found("publisher", id));
                }
                eprintln!("publisher {id} removed");
            }
            PublishersAction::Assign { dataset, publisher } => {
                if !repo::set_dataset_publisher(&pool, &dataset, publisher.as_deref()).await? {
                    return Err(kreisgeo::Error::not_found("dataset", dataset));
                }
                eprintln!(
                    "dataset {dataset}: publisher {}",
                    publisher.as_deref().unwrap_or("of the portal")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}
