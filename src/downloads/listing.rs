//! The built download files as clients see them listed: the collection's downloads, the
//! catalog's distributions, CKAN's resources.

use sqlx::PgPool;

use super::store::{self, StoredFile};
use super::Download;
use crate::error::Result;

/// The built files of a dataset version as listed to clients.
pub fn listing(base: &str, dataset: &str, files: &[StoredFile]) -> Vec<Download> {
    files
        .iter()
        .map(|f| {
            let name = f.kind.file_name(dataset);
            Download {
                kind: f.kind,
                href: format!("{base}/collections/{dataset}/downloads/{name}"),
                name,
                media_type: f.kind.format.media_type(),
                crs: crate::crs::ApiCrs::storage(f.kind.srid).uri,
                version: f.version_id,
                bytes: f.bytes,
                sha256: f.sha256.clone(),
                features: f.features,
                created: f.created_at.clone(),
            }
        })
        .collect()
}

/// The built downloads of the rows' versions (the catalog and the CKAN API list them).
pub async fn of_rows<M>(
    pool: &PgPool,
    base: &str,
    rows: &[crate::catalog::repo::CatalogRow<M>],
) -> Result<Vec<Download>> {
    let versions: Vec<i64> = rows.iter().map(|r| r.collection.version.id).collect();
    let files = store::files_of(pool, &versions).await?;
    Ok(rows
        .iter()
        .flat_map(|r| {
            let own: Vec<_> = files
                .iter()
                .filter(|f| f.version_id == r.collection.version.id)
                .cloned()
                .collect();
            listing(base, &r.collection.id, &own)
        })
        .collect())
}
