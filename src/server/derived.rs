//! What the server derives from each new version in the background, on a thread of its own
//! (seconds of CPU per county-sized version must not hold up a request worker): first the Web
//! Mercator copy its tiles draw from (every tile waits for it), then its download files.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::downloads::build::POLL;

/// Runs the builders at start, every [`POLL`] (a CLI ingest or another node may have added a
/// version), and when `wake` is notified (an admin ingest on this node).
pub fn spawn(pool: PgPool, wake: Arc<Notify>, tile_tables: bool) {
    let spawned = std::thread::Builder::new()
        .name("kreisgeo-derived".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!(error = %e, "builder of tile tables and downloads cannot start");
                    return;
                }
            };
            runtime.block_on(async move {
                let mut tiles = crate::tiles::mercator::Builder::default();
                loop {
                    if tile_tables {
                        if let Err(e) = tiles.build_missing(&pool).await {
                            tracing::warn!(error = %e, "tile table builder: cannot read the catalog");
                        }
                    }
                    // Also with --no-tile-tables: the copies built before go with time.
                    if let Err(e) = tiles.drop_idle(&pool).await {
                        tracing::warn!(error = %e, "tile table builder: cannot read the catalog");
                    }
                    if let Err(e) = crate::downloads::build::build_missing(&pool).await {
                        tracing::warn!(error = %e, "download builder: cannot read the catalog");
                    }
                    let _ = tokio::time::timeout(POLL, wake.notified()).await;
                }
            });
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "builder of tile tables and downloads cannot start");
    }
}
