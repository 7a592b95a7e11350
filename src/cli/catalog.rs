//! `kreisgeo catalog`: the county as publisher of the open-data catalog.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use kreisgeo::opendata::metadata::Publisher;

use super::{pretty, read_json, with_db};

#[derive(Subcommand)]
pub enum CatalogAction {
    /// Print the publisher (JSON), or enter it with --file: name, uri, districtKey,
    /// contributorId, contact, license, licenseAttributionByText, catalogTitle,
    /// catalogDescription.
    Publisher {
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: CatalogAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::catalog::repo;
    with_db(url, data_dir, |pool| async move {
        match action {
            CatalogAction::Publisher { file: None } => {
                let publisher: Publisher = repo::publisher(&pool).await?.ok_or_else(|| {
                    kreisgeo::Error::invalid(
                        "publisher",
                        "not entered yet: kreisgeo catalog publisher --file county.json",
                    )
                })?;
                println!("{}", pretty(&publisher));
            }
            CatalogAction::Publisher { file: Some(file) } => {
                let publisher: Publisher = read_json(&file)?;
                publisher.validate()?;
                repo::set_publisher(&pool, &publisher).await?;
                eprintln!("publisher: {}", publisher.name);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}
