//! Ingest: file → format reader → normalised stream → COPY into a new version table → atomic
//! switch.
//!
//! Two passes over the file: the first learns the schema, the CRS and whether coordinates are 3D;
//! the second streams COPY rows from a blocking reader thread through a bounded channel into the
//! database. Everything from table creation to the version switch happens in one transaction, so
//! a failed or killed ingest leaves the served version untouched and nothing behind.

pub mod copy;
pub mod detect;
pub mod extent;
pub mod formats;
pub mod load;
pub mod normalize;
pub mod profile;
pub mod schema;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;

use crate::catalog::{self, Column, DatasetKind};
use crate::error::{Error, Result};
use detect::Format;
use normalize::{NormalizeOptions, Normalizer};
use schema::SchemaInferrer;

/// How many versions of a dataset are kept by default (the active one always is).
pub const DEFAULT_KEEP_VERSIONS: i64 = 3;

/// Why an ingest failed. The served version is unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: unknown format (expected GeoJSON, GeoJSONSeq, FlatGeobuf or CSV)")]
    UnknownFormat { path: String },

    #[error("{message}")]
    Parse { message: String },

    #[error("feature {index}{}: {message}", field.as_ref().map(|f| format!(", field '{f}'")).unwrap_or_default())]
    Feature {
        /// 0-based position of the feature in the file.
        index: u64,
        field: Option<String>,
        message: String,
    },

    #[error("the file declares no CRS; give one with --crs (e.g. --crs EPSG:25832)")]
    MissingCrs,

    #[error("unknown CRS EPSG:{0} (not in PostGIS's spatial_ref_sys)")]
    UnknownCrs(i32),

    #[error("{0}")]
    InvalidDataset(String),

    #[error("{0}")]
    Profile(String),

    #[error("the file holds no features")]
    Empty,

    #[error("ingest aborted: {0}")]
    Aborted(String),

    #[error("the database rejected the data: {0}")]
    Rejected(String),

    #[error(
        "{rejected} feature(s) rejected, nothing was changed (--skip-invalid loads the rest){}",
        problems.iter().filter(|p| p.action == "rejected").take(5)
            .map(|p| format!("; feature {}: {}", p.feature, p.reason)).collect::<String>()
    )]
    InvalidFeatures {
        rejected: u64,
        problems: Vec<validate::Problem>,
    },
}

impl IngestError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// What to ingest.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub path: PathBuf,
    pub dataset: String,
    pub kind: DatasetKind,
    /// Overrides the CRS the file declares (EPSG code).
    pub crs: Option<i32>,
    pub title: Option<String>,
    pub keep_versions: i64,
    /// Store the valid features and report the rejected ones, instead of failing.
    pub skip_invalid: bool,
    /// Format-specific options (CSV geometry columns, GeoPackage layer …).
    pub read: formats::ReadOptions,
    /// `(canonical attribute, source column)` pairs overriding the profile's name matching.
    pub mappings: Vec<(String, String)>,
}

impl IngestRequest {
    pub fn new(path: impl Into<PathBuf>, dataset: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            dataset: dataset.into(),
            kind: DatasetKind::Generic,
            crs: None,
            title: None,
            keep_versions: DEFAULT_KEEP_VERSIONS,
            skip_invalid: false,
            read: formats::ReadOptions::default(),
            mappings: Vec::new(),
        }
    }
}

/// The outcome of an ingest.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub dataset: String,
    /// The version now served.
    pub version: i64,
    /// True when the file was byte-identical to the active version's and nothing was loaded.
    pub unchanged: bool,
    pub format: String,
    pub source_crs: Option<i32>,
    /// Features stored (read minus rejected).
    pub features: u64,
    /// Features read from the file.
    pub read: u64,
    /// Invalid geometries repaired with ST_MakeValid.
    pub repaired: u64,
    /// Features left out (only with `skip_invalid`; otherwise the ingest fails).
    pub rejected: u64,
    /// The first problems, in file order.
    pub problems: Vec<validate::Problem>,
    pub has_z: bool,
    pub columns: Vec<Column>,
    /// Extent in CRS84.
    pub bbox: Option<[f64; 4]>,
    pub sha256: String,
    pub seconds: f64,
    /// Seconds spent in each phase (survey, load, analyze, validate, index …).
    pub phases: Vec<(String, f64)>,
}

/// Receives progress while an ingest runs (the CLI draws a bar; tests ignore it).
pub trait Progress: Send + Sync {
    fn phase(&self, _name: &str) {}
    fn features(&self, _done: u64) {}
}

/// Times the phases of an ingest, tells the [`Progress`] and logs each phase's duration.
pub struct Phases {
    progress: Arc<dyn Progress>,
    current: Option<(&'static str, Instant)>,
    done: Vec<(String, f64)>,
}

impl Phases {
    pub fn new(progress: Arc<dyn Progress>) -> Self {
        Self {
            progress,
            current: None,
            done: Vec::new(),
        }
    }

    /// Ends the running phase and starts `name`.
    pub fn start(&mut self, name: &'static str) {
        self.finish();
        self.progress.phase(name);
        self.current = Some((name, Instant::now()));
    }

    /// Ends the running phase; returns every phase with its seconds.
    pub fn finish(&mut self) -> Vec<(String, f64)> {
        if let Some((name, started)) = self.current.take() {
            let seconds = started.elapsed().as_secs_f64();
            tracing::debug!(phase = name, seconds, "ingest phase done");
            self.done.push((name.to_string(), seconds));
        }
        self.done.clone()
    }

    pub fn progress(&self) -> Arc<dyn Progress> {
        self.progress.clone()
    }
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What the first pass learns.
struct Survey {
    columns: Vec<Column>,
    crs: Option<i32>,
    has_z: bool,
    features: u64,
}

/// Loads `req.path` as a new version of `req.dataset` and switches to it.
pub async fn ingest(
    pool: &PgPool,
    req: &IngestRequest,
    progress: Arc<dyn Progress>,
) -> Result<IngestReport> {
    let started = Instant::now();
    catalog::validate_dataset_id(&req.dataset).map_err(IngestError::InvalidDataset)?;
    let format = detect::detect(&req.path)?;
    let mut phases = Phases::new(progress);
    // The checksum and the first pass read the file on two cores at once.
    phases.start("survey");
    let (path, survey_path) = (req.path.clone(), req.path.clone());
    let options = req.read.clone();
    let (sha256, surveyed) = tokio::join!(
        blocking(move || sha256_file(&path)),
        blocking(move || survey(format, &survey_path, &options)),
    );
    let sha256 = sha256?;

    if let Some(active) = catalog::repo::find_collection(pool, &req.dataset).await? {
        let v = active.version;
        if v.source_sha256 == sha256 {
            tracing::info!(dataset = %req.dataset, version = v.id, "file identical to the active version; nothing to do");
            return Ok(IngestReport {
                dataset: req.dataset.clone(),
                version: v.id,
                unchanged: true,
                format: format.name().into(),
                source_crs: Some(v.source_crs),
                features: u64::try_from(v.feature_count).unwrap_or_default(),
                read: 0,
                repaired: 0,
                rejected: 0,
                problems: Vec::new(),
                has_z: v.has_z,
                columns: v.columns,
                bbox: v.bbox,
                sha256,
                seconds: started.elapsed().as_secs_f64(),
                phases: phases.finish(),
            });
        }
    }

    let mut survey = surveyed?;
    if survey.features == 0 {
        return Err(IngestError::Empty.into());
    }
    let reader_default = formats::open(format, &req.path, &req.read).default_crs();
    let srid = req
        .crs
        .or(survey.crs)
        .or(reader_default)
        .ok_or(IngestError::MissingCrs)?;

    let checks = profile::apply(req.kind, &mut survey.columns, &req.mappings)?;

    phases.start("load");
    let report = load::load(
        pool,
        load::LoadPlan {
            request: req,
            format,
            srid,
            columns: survey.columns,
            has_z: survey.has_z,
            sha256,
            started,
            checks,
        },
        &mut phases,
    )
    .await?;
    tracing::info!(
        dataset = %report.dataset,
        version = report.version,
        features = report.features,
        repaired = report.repaired,
        rejected = report.rejected,
        srid,
        seconds = report.seconds,
        "ingest complete"
    );
    Ok(report)
}

/// First pass: schema, declared CRS, dimensions, count.
fn survey(
    format: Format,
    path: &Path,
    options: &formats::ReadOptions,
) -> Result<Survey, IngestError> {
    let mut inferrer = SchemaInferrer::default();
    let mut reader = formats::open(format, path, options);
    let (crs, has_z) = {
        let mut normalizer = Normalizer::new(
            &mut inferrer,
            NormalizeOptions {
                build_geometry: false,
                srid: 0,
                with_z: false,
            },
        );
        let crs = reader.read(&mut normalizer)?;
        (crs, normalizer.saw_z())
    };
    Ok(Survey {
        columns: inferrer.columns(),
        crs,
        has_z,
        features: inferrer.features(),
    })
}

fn sha256_file(path: &Path) -> Result<String, IngestError> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| IngestError::io(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("reader thread failed: {e}")))?
        .map_err(Error::from)
}
