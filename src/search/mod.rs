//! Address, place, street and parcel search (`GET /search`): an in-memory [`index::Index`] of
//! every searchable dataset's served version (addresses, OSM extracts, parcels), built on the
//! first search after a version changes and shared by all requests until the next change.
//!
//! Why not PostgreSQL full text or pg_trgm: ranking an address needs the house number and the
//! place weighed against edit distance, per street; over 100,000 addresses the index answers
//! in microseconds where a trigram scan of the table takes milliseconds (benches/search.sh).

pub mod index;
pub mod normalize;
pub mod query;
pub mod store;

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::catalog::{Collection, DatasetKind};
use crate::error::Result;
use index::Index;

/// Whether a dataset's features are searched.
pub fn searchable(c: &Collection) -> bool {
    matches!(
        c.kind,
        DatasetKind::Addresses | DatasetKind::Osm | DatasetKind::Parcels
    )
}

/// The served versions an index was built from.
type Versions = Vec<(String, i64)>;

/// An index and the versions it was built from.
type Built = Option<(Versions, Arc<Index>)>;

/// The current index, rebuilt when the searchable versions change.
#[derive(Debug, Default, Clone)]
pub struct Search {
    current: Arc<Mutex<Built>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (streets, places) = self.len();
        write!(f, "Index({streets} streets, {places} places)")
    }
}

impl Search {
    /// The index of `collections`' searchable versions, built with `pool` if they changed.
    /// One build at a time: requests arriving meanwhile wait for it instead of building too.
    pub async fn index(
        &self,
        pool: &sqlx::PgPool,
        collections: &[Collection],
    ) -> Result<Arc<Index>> {
        let wanted: Vec<&Collection> = collections.iter().filter(|c| searchable(c)).collect();
        let versions: Versions = wanted
            .iter()
            .map(|c| (c.id.clone(), c.version.id))
            .collect();
        let mut current = self.current.lock().await;
        if let Some((built, index)) = current.as_ref() {
            if *built == versions {
                return Ok(index.clone());
            }
        }
        let started = std::time::Instant::now();
        let rows = store::rows(pool, &wanted).await?;
        let index = Arc::new(
            tokio::task::spawn_blocking(move || Index::build(rows))
                .await
                .map_err(|e| crate::Error::Internal(format!("search index build failed: {e}")))?,
        );
        let (streets, places) = index.len();
        tracing::info!(
            datasets = versions.len(),
            streets,
            places,
            seconds = started.elapsed().as_secs_f64(),
            "search index built"
        );
        *current = Some((versions, index.clone()));
        Ok(index)
    }
}
