//! Building download files: the version's rows through the format's [`FeatureEncoder`] into a
//! temporary file (hashed and counted on the way), then into the store in one transaction, so
//! a file is either complete or absent. Memory stays at one chunk whatever the size.

use std::io::{BufWriter, Read, Seek, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{store, FileKind, Format};
use crate::catalog::{repo, Version};
use crate::crs::ApiCrs;
use crate::error::{Error, Result};
use crate::features::encode::csv::CsvEncoder;
use crate::features::encode::fgb::FgbEncoder;
use crate::features::encode::geojson::GeoJsonEncoder;
use crate::features::encode::gpkg::GpkgEncoder;
use crate::features::encode::{FeatureEncoder, PageEnd};
use crate::features::query;

/// How often the background builder looks for versions without their files (a CLI ingest or
/// another node may have added one); an admin ingest on this node wakes it at once.
pub const POLL: Duration = Duration::from_secs(30);

/// A file written through: its SHA-256 and length as it goes.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(format!("writing a download: {e}"))
}

/// Builds every file that an active version lacks; returns how many it built. Files another
/// node is building are left to it.
pub async fn build_missing(pool: &PgPool) -> Result<usize> {
    let mut built = 0;
    for (version_id, kinds) in store::missing(pool).await? {
        let Some(version) = repo::find_version(pool, version_id).await? else {
            continue;
        };
        for kind in kinds {
            let started = Instant::now();
            match build(pool, &version, kind).await {
                Ok(Some((bytes, features))) => {
                    built += 1;
                    tracing::info!(
                        dataset = %version.dataset_id,
                        version = version.id,
                        file = %kind.file_name(&version.dataset_id),
                        bytes,
                        features,
                        seconds = started.elapsed().as_secs_f64(),
                        "download built"
                    );
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    dataset = %version.dataset_id,
                    version = version.id,
                    file = %kind.file_name(&version.dataset_id),
                    error = %e,
                    "download not built"
                ),
            }
        }
    }
    Ok(built)
}

/// Builds one file of a version unless it exists or another node holds its lock; returns its
/// size and feature count when built.
pub async fn build(pool: &PgPool, version: &Version, kind: FileKind) -> Result<Option<(u64, i64)>> {
    let mut tx = pool.begin().await?;
    if !store::lock_build(&mut tx, version.id, kind).await?
        || store::exists(&mut tx, version.id, kind).await?
    {
        return Ok(None);
    }
    let crs = ApiCrs::storage(kind.srid);
    let file = tempfile::tempfile().map_err(io)?;
    let mut sink = Hashing {
        inner: BufWriter::with_capacity(store::CHUNK_BYTES, file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let features = match kind.format {
        Format::GeoJson => {
            encode(pool, version, &crs, GeoJsonEncoder::new(version), &mut sink).await?
        }
        Format::Csv => encode(pool, version, &crs, CsvEncoder::new(version), &mut sink).await?,
        Format::FlatGeobuf => {
            encode(
                pool,
                version,
                &crs,
                FgbEncoder::new(version, &crs)?,
                &mut sink,
            )
            .await?
        }
        Format::GeoPackage => {
            let wkt = crate::db::spatial::srs_wkt(pool, kind.srid).await?;
            let encoder = GpkgEncoder::new(version, kind.srid, &wkt)?;
            encode(pool, version, &crs, encoder, &mut sink).await?
        }
    };
    sink.flush().map_err(io)?;
    let Hashing {
        inner,
        hasher,
        bytes,
    } = sink;
    let sha256 = hex::encode(hasher.finalize());
    let mut file = inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.rewind().map_err(io)?;

    let id = store::insert_file(
        &mut tx,
        version.id,
        kind,
        i64::try_from(bytes).map_err(|_| Error::Internal("download too large".into()))?,
        &sha256,
        features,
    )
    .await?;
    let mut chunk = vec![0u8; store::CHUNK_BYTES];
    let mut seq = 0;
    loop {
        let n = read_full(&mut file, &mut chunk).map_err(io)?;
        if n == 0 {
            break;
        }
        store::insert_chunk(&mut tx, id, seq, &chunk[..n]).await?;
        seq += 1;
    }
    tx.commit().await?;
    Ok(Some((bytes, features)))
}

/// Fills `buf` as far as the file goes.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Streams every feature of `version` in `crs` through `encoder` into `sink`; returns the
/// number of features.
async fn encode<E: FeatureEncoder>(
    pool: &PgPool,
    version: &Version,
    crs: &ApiCrs,
    mut encoder: E,
    sink: &mut dyn Write,
) -> Result<i64> {
    let mut out = Vec::with_capacity(64 * 1024);
    encoder.begin(&mut out);
    let mut rows = query::all(pool.clone(), version.clone(), crs.clone());
    let mut count: i64 = 0;
    while let Some(row) = rows.next().await {
        encoder.feature(&mut out, &row?)?;
        count += 1;
        if out.len() >= 64 * 1024 {
            sink.write_all(&out).map_err(io)?;
            out.clear();
        }
    }
    sink.write_all(&out).map_err(io)?;
    let end = PageEnd {
        number_returned: count as u64,
        number_matched: Some(count),
        links: Vec::new(),
    };
    encoder.end_into(sink, &end)?;
    Ok(count)
}
