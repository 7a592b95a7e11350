//! `kreisgeo keys`: the admin API's keys and its audit log.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::with_db;

#[derive(Subcommand)]
pub enum KeysAction {
    /// Create a key and print it: it is shown this once, only its hash is stored.
    Create {
        /// Who or what uses the key, e.g. "GIS-Fachdienst".
        #[arg(long)]
        name: String,
        /// Comma-separated datasets the key may act on [default: every dataset, and the
        /// catalog-wide publisher].
        #[arg(long, value_delimiter = ',')]
        datasets: Option<Vec<String>>,
        /// Comma-separated actions the key may do: ingest, metadata, rollback, delete
        /// [default: all].
        #[arg(long, value_delimiter = ',', value_parser = parse_action)]
        actions: Option<Vec<kreisgeo::auth::Action>>,
        /// Bind the key to one publisher (`kreisgeo publishers`): it acts only on that
        /// publisher's datasets, and a dataset it creates becomes the publisher's.
        #[arg(long)]
        publisher: Option<String>,
    },
    /// Every key (without secrets).
    List,
    /// Revoke a key; it stops working at once.
    Revoke { id: i64 },
    /// The audit log of admin actions, newest first.
    Audit {
        /// Only this dataset's entries.
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn parse_action(s: &str) -> Result<kreisgeo::auth::Action, String> {
    kreisgeo::auth::Action::parse(s)
        .ok_or_else(|| format!("'{s}' is not one of ingest, metadata, rollback, delete"))
}

/// "ingest, metadata on aed, parcels" or "… on every dataset".
fn describe_scope<'a>(
    datasets: Option<&[String]>,
    actions: impl Iterator<Item = &'a str>,
    publisher: Option<&str>,
) -> String {
    let actions: Vec<&str> = actions.collect();
    let scope = match datasets {
        Some(ids) => format!("{} on {}", actions.join(","), ids.join(",")),
        None => format!("{} on every dataset", actions.join(",")),
    };
    match publisher {
        Some(p) => format!("{scope} of publisher {p}"),
        None => scope,
    }
}

pub async fn run(
    url: Option<&str>,
    data_dir: &Path,
    action: KeysAction,
) -> anyhow::Result<ExitCode> {
    use kreisgeo::auth;
    with_db(url, data_dir, |pool| async move {
        match action {
            KeysAction::Create {
                name,
                datasets,
                actions,
                publisher,
            } => {
                let scope = auth::Scope {
                    datasets,
                    actions: actions.unwrap_or_else(|| auth::Action::ALL.to_vec()),
                    publisher,
                };
                let key = auth::create_key(&pool, &name, &scope).await?;
                eprintln!(
                    "API key {} for {name:?} ({}); store it now, it is not shown again:",
                    key.id,
                    describe_scope(
                        scope.datasets.as_deref(),
                        scope.actions.iter().map(|a| a.as_str()),
                        scope.publisher.as_deref()
                    )
                );
                println!("{}", key.key);
            }
            KeysAction::List => {
                println!(
                    "{:>5} {:<14} {:<20} {:<8} {:<24} scope",
                    "id", "prefix", "created", "state", "name"
                );
                for k in auth::list_keys(&pool).await? {
                    let state = if k.revoked { "revoked" } else { "active" };
                    println!(
                        "{:>5} kg_{:<11} {:<20} {:<8} {:<24} {}",
                        k.id,
                        k.prefix,
                        k.created_at,
                        state,
                        k.name,
                        describe_scope(
                            k.datasets.as_deref(),
                            k.actions.iter().map(String::as_str),
                            k.publisher.as_deref()
                        )
                    );
                }
            }
            KeysAction::Revoke { id } => {
                auth::revoke_key(&pool, id).await?;
                eprintln!("API key {id} revoked");
            }
            KeysAction::Audit { dataset, limit } => {
                for e in kreisgeo::audit::list(&pool, dataset.as_deref(), limit).await? {
                    println!("{}", serde_json::to_string(&e).unwrap_or_default());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}
