//! Keeps the catalog's search index current: the datasets whose rows changed since their entry
//! was written get their resolved title, keywords and CKAN id again before a search reads the
//! index. Usually none or the few just changed; after an upgrade, all of them once.

use sqlx::PgPool;

use super::ckan;
use super::metadata::{Dataset, DatasetMetadata};
use super::publishers::Publishers;
use crate::catalog::packages::{self, IndexEntry};
use crate::catalog::DatasetKind;
use crate::error::Result;

/// Rewrites the stale entries (the publishers are read only when there are any).
pub async fn refresh(pool: &PgPool, base: &str) -> Result<()> {
    let stale = packages::unindexed::<DatasetMetadata>(pool).await?;
    if stale.is_empty() {
        return Ok(());
    }
    let publishers = Publishers::load(pool, base).await?;
    let entries: Vec<IndexEntry> = stale
        .iter()
        .filter_map(|u| {
            let kind = DatasetKind::parse(&u.kind)?;
            let r = u.metadata.resolve(
                Dataset {
                    kind,
                    title: &u.title,
                    description: u.description.as_deref(),
                },
                publishers.of(u.publisher.as_deref()),
            );
            let text = format!(
                "{} {} {} {}",
                u.id,
                r.title.de,
                r.description.de,
                r.keywords.join(" ")
            );
            Some(IndexEntry {
                id: u.id.clone(),
                generation: u.generation,
                ckan_id: ckan::uuid("dataset", &u.id),
                title: r.title.de.clone(),
                tags: if u.deleted {
                    Vec::new()
                } else {
                    r.keywords.clone()
                },
                text,
            })
        })
        .collect();
    tracing::debug!(datasets = entries.len(), "search index refreshed");
    packages::write_index(pool, &entries).await
}
