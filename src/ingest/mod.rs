//! Ingest: file → format reader → normalised stream → COPY into a new version table → atomic
//! switch.
//!
//! A short first pass learns the schema, the CRS and whether coordinates are 3D from the first
//! [`SURVEY_FEATURES`] features; the load streams COPY rows from a blocking reader thread through
//! a bounded channel into the database, and keeps learning: should a later feature change the
//! schema, the load is rolled back and repeated after a survey of the whole file. Either way the
//! table gets exactly the schema a survey of the whole file gives. Everything from table creation to the version switch happens in one transaction, so
//! a failed or killed ingest leaves the served version untouched and nothing behind.

pub mod copy;
pub mod detect;
pub mod extent;
pub mod formats;
pub mod load;
pub mod normalize;
pub mod precheck;
pub mod profile;
pub mod schema;
pub mod scratch;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;

use crate::catalog::{self, Column, DatasetKind};
use crate::error::{Error, Result};
use detect::Format;
use normalize::FeatureSink;
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

    #[error("{path}: unknown format (expected GeoJSON, GeoJSONSeq, FlatGeobuf, CSV, GeoPackage, a Shapefile, Overpass JSON or GML: WFS, ALKIS NAS, CityGML)")]
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

    #[error("the file's CRS \"{0}\" matches no EPSG code; give the code with --crs (e.g. --crs EPSG:25832)")]
    UnmatchedCrs(String),

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

    #[error("the ingest ran longer than its time limit of {seconds} s; nothing was changed")]
    TimeLimit { seconds: u64 },

    #[error("the database rejected the data: {0}")]
    Rejected(String),

    /// A pass stopped on purpose after enough features; never leaves the ingest.
    #[error("stopped after enough features")]
    Enough,

    /// The load met a feature that changes the schema of the first pass; the ingest starts over
    /// with the whole file surveyed, so this never leaves it either.
    #[error("the schema changes after the first features: {0}")]
    SchemaChanged(String),

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
    /// What a format with layers of its own found (OSM: features per layer, the walking
    /// network's edges, relations left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// Datasets computed from this one (the AED coverage), recomputed after it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recomputed: Vec<Recomputed>,
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

/// Features the first pass reads before the load starts. Real files are uniform enough that
/// this prefix almost always gives the whole file's schema; the load checks the rest.
pub const SURVEY_FEATURES: u64 = 20_000;

/// What the first pass learns.
struct Survey {
    inferrer: SchemaInferrer,
    crs: Option<i32>,
    has_z: bool,
    /// Whether the whole file was read, not only its first [`SURVEY_FEATURES`] features.
    complete: bool,
    /// The name of a CRS the file declares that matches no EPSG code.
    unmatched_crs: Option<String>,
}

/// Loads `req.path` as a new version of `req.dataset` and switches to it; then recomputes what
/// is computed from the dataset (the AED coverage), each computation's outcome in the report.
pub async fn ingest(
    pool: &PgPool,
    req: &IngestRequest,
    progress: Arc<dyn Progress>,
) -> Result<IngestReport> {
    let mut report = load_version(pool, req, progress).await?;
    if !report.unchanged {
        // Boxed: the computation loads its result through this function.
        let followed = Box::pin(crate::routing::coverage::after_ingest(
            pool,
            &report.dataset,
        ))
        .await;
        report.recomputed = followed
            .into_iter()
            .map(|(dataset, result)| match result {
                Ok(r) => Recomputed {
                    dataset,
                    version: Some(r.ingest.version),
                    error: None,
                },
                Err(e) => Recomputed {
                    dataset,
                    version: None,
                    error: Some(e.to_string()),
                },
            })
            .collect();
    }
    Ok(report)
}

/// A dataset computed from the ingested one, recomputed after its new version.
#[derive(Debug, Clone, Serialize)]
pub struct Recomputed {
    pub dataset: String,
    /// Its new version; `None` when the computation failed and the last one stays served.
    pub version: Option<i64>,
    pub error: Option<String>,
}

pub(crate) async fn load_version(
    pool: &PgPool,
    req: &IngestRequest,
    progress: Arc<dyn Progress>,
) -> Result<IngestReport> {
    let started = Instant::now();
    catalog::validate_dataset_id(&req.dataset).map_err(IngestError::InvalidDataset)?;
    // The readers learn the kind from their options (NAS parcels, CityGML roofs).
    let mut whole = tile_set(req)?.unwrap_or_else(|| req.clone());
    whole.read.kind = Some(req.kind);
    // A zipped GeoJSON, CSV … is read as the file it holds.
    let path = whole.path.clone();
    let single = blocking(move || formats::archive::unpack_single(&path)).await?;
    if let Some(single) = &single {
        whole.path = single.file.clone();
    }
    let req = &whole;
    let format = detect::detect(&req.path)?;
    if format == Format::OsmChange {
        return Box::pin(crate::osm::change::ingest(pool, req, progress)).await;
    }
    if format == Format::OsmPbf || req.kind == DatasetKind::Osm {
        if format != Format::OsmPbf {
            return Err(IngestError::Profile(format!(
                "kind osm reads OpenStreetMap PBF extracts (.osm.pbf); {} is {}",
                req.path.display(),
                format.name()
            ))
            .into());
        }
        return Box::pin(crate::osm::ingest(pool, req, progress)).await;
    }
    for more in &req.read.more_files {
        if format != Format::Gml || detect::detect(more)? != format {
            return Err(IngestError::Parse {
                message: format!(
                    "{}: only GML files (CityGML tiles, WFS pages) are loaded several at once, \
                     each of them GML",
                    more.display()
                ),
            }
            .into());
        }
    }
    let mut phases = Phases::new(progress);
    // The checksum and the first pass read the file on two cores at once.
    phases.start("survey");
    // The checksum is of what was given: a zip as it is.
    let (path, more) = (req.path.clone(), req.read.more_files.clone());
    // A zipped Shapefile is unpacked (bounded) once; every pass reads the unpacked files.
    let unpacked = match format {
        Format::Shapefile => {
            let zip = req.path.clone();
            blocking(move || formats::unpack_once(&zip)).await?
        }
        _ => None,
    };
    // A zip of GML tiles likewise, its tiles read as one set.
    let tiles = match format {
        Format::Gml if formats::archive::is_zip(&req.path)? => {
            let zip = req.path.clone();
            Some(blocking(move || formats::archive::unpack_tiles(&zip)).await?)
        }
        _ => None,
    };
    let unpacked_request;
    let req = match (&unpacked, &tiles) {
        (Some(u), _) => {
            unpacked_request = IngestRequest {
                path: u.shp.clone(),
                ..req.clone()
            };
            &unpacked_request
        }
        (None, Some(t)) => {
            let mut more = t.files[1..].to_vec();
            more.extend(req.read.more_files.iter().cloned());
            unpacked_request = IngestRequest {
                path: t.files[0].clone(),
                read: formats::ReadOptions {
                    more_files: more,
                    ..req.read.clone()
                },
                ..req.clone()
            };
            &unpacked_request
        }
        (None, None) => req,
    };
    let survey_path = req.path.clone();
    let options = req.read.clone();
    let (sha256, surveyed) = tokio::join!(
        blocking(move || sha256_files(&path, &more)),
        blocking(move || survey(format, &survey_path, &options, Some(SURVEY_FEATURES))),
    );
    let sha256 = sha256?;

    if let Some(report) = unchanged(
        pool,
        &req.dataset,
        Some(&sha256),
        format,
        started,
        &mut phases,
    )
    .await?
    {
        return Ok(report);
    }

    let prefix = surveyed?;
    let (report, srid) = match load_surveyed(
        pool,
        req,
        format,
        prefix,
        &sha256,
        started,
        &mut phases,
    )
    .await
    {
        Err(Error::Ingest(IngestError::SchemaChanged(change))) => {
            tracing::info!(
                dataset = %req.dataset,
                %change,
                first = SURVEY_FEATURES,
                "schema changes after the first features; surveying the whole file and loading again"
            );
            phases.start("survey");
            let (path, options) = (req.path.clone(), req.read.clone());
            let whole = blocking(move || survey(format, &path, &options, None)).await?;
            load_surveyed(pool, req, format, whole, &sha256, started, &mut phases).await?
        }
        other => other?,
    };
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

/// The report of an ingest that finds the file identical to the active version's (or, without
/// a checksum, nothing to change): nothing is loaded.
pub(crate) async fn unchanged(
    pool: &PgPool,
    dataset: &str,
    sha256: Option<&str>,
    format: Format,
    started: Instant,
    phases: &mut Phases,
) -> Result<Option<IngestReport>> {
    let Some(active) = catalog::repo::find_collection(pool, dataset).await? else {
        return Ok(None);
    };
    let v = active.version;
    if sha256.is_some_and(|sha| v.source_sha256 != sha) {
        return Ok(None);
    }
    tracing::info!(
        dataset,
        version = v.id,
        "nothing new for the active version; nothing to do"
    );
    Ok(Some(IngestReport {
        dataset: dataset.to_string(),
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
        sha256: v.source_sha256.clone(),
        seconds: started.elapsed().as_secs_f64(),
        phases: phases.finish(),
        details: None,
        recomputed: Vec::new(),
    }))
}

/// Loads with the schema of `survey`; the load checks the features the survey did not see.
async fn load_surveyed(
    pool: &PgPool,
    req: &IngestRequest,
    format: Format,
    survey: Survey,
    sha256: &str,
    started: Instant,
    phases: &mut Phases,
) -> Result<(IngestReport, i32)> {
    if survey.inferrer.features() == 0 {
        return Err(IngestError::Empty.into());
    }
    let reader_default = formats::open(format, &req.path, &req.read).default_crs();
    let srid = req.crs.or(survey.crs).or(reader_default).ok_or_else(|| {
        match survey.unmatched_crs.clone() {
            Some(name) => IngestError::UnmatchedCrs(name),
            None => IngestError::MissingCrs,
        }
    })?;
    let mut columns = survey.inferrer.columns();
    let checks = profile::apply(req.kind, &mut columns, &req.mappings)?;
    let watch = (!survey.complete).then(|| {
        let mut inferrer = survey.inferrer;
        inferrer.watch();
        load::Watch {
            inferrer,
            crs: survey.crs,
        }
    });

    phases.start("load");
    let report = load::load(
        pool,
        load::LoadPlan {
            request: req,
            format,
            srid,
            columns,
            has_z: survey.has_z,
            sha256: sha256.to_string(),
            started,
            checks,
            watch,
        },
        phases,
    )
    .await?;
    Ok((report, srid))
}

/// First pass: schema, declared CRS, dimensions; of the first `limit` features or all.
fn survey(
    format: Format,
    path: &Path,
    options: &formats::ReadOptions,
    limit: Option<u64>,
) -> Result<Survey, IngestError> {
    let mut inferrer = SchemaInferrer::default();
    let mut reader = formats::open(format, path, options);
    let mut sink = Limited {
        inner: &mut inferrer,
        limit: limit.unwrap_or(u64::MAX),
    };
    let mut normalizer = Normalizer::new(
        &mut sink,
        NormalizeOptions {
            build_geometry: false,
            srid: 0,
            with_z: false,
        },
    );
    let (crs, complete) = match reader.read(&mut normalizer) {
        Ok(crs) => (crs, true),
        Err(IngestError::Enough) => (normalizer.declared_crs(), false),
        Err(e) => return Err(e),
    };
    let has_z = normalizer.saw_z();
    let unmatched_crs = normalizer.unmatched_crs().map(str::to_string);
    drop(normalizer);
    Ok(Survey {
        inferrer,
        crs,
        has_z,
        complete,
        unmatched_crs,
    })
}

/// Passes the first `limit` features on, then stops the reader.
struct Limited<'a> {
    inner: &'a mut SchemaInferrer,
    limit: u64,
}

impl FeatureSink for Limited<'_> {
    fn declare_columns(&mut self, names: &[String]) {
        self.inner.declare_columns(names);
    }

    fn feature(&mut self, feature: &normalize::NormalizedFeature) -> Result<(), IngestError> {
        if self.inner.features() >= self.limit {
            return Err(IngestError::Enough);
        }
        self.inner.feature(feature)
    }
}

/// The request for a directory of GML tiles: its `.gml` and `.xml` files in name order, the
/// first as the path, the others (and any given besides) as further files; `None` for a file.
fn tile_set(req: &IngestRequest) -> Result<Option<IngestRequest>, IngestError> {
    if !req.path.is_dir() {
        return Ok(None);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&req.path)
        .map_err(|e| IngestError::io(&req.path, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("gml") || e.eq_ignore_ascii_case("xml"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(IngestError::Parse {
            message: format!(
                "{}: a directory without .gml or .xml files",
                req.path.display()
            ),
        });
    }
    let first = files.remove(0);
    files.extend(req.read.more_files.iter().cloned());
    Ok(Some(IngestRequest {
        path: first,
        read: formats::ReadOptions {
            more_files: files,
            ..req.read.clone()
        },
        ..req.clone()
    }))
}

/// The checksum of a file, or of a set of files (of their checksums in order).
fn sha256_files(path: &Path, more: &[PathBuf]) -> Result<String, IngestError> {
    use sha2::Digest;
    let first = sha256_file(path)?;
    if more.is_empty() {
        return Ok(first);
    }
    let mut hasher = sha2::Sha256::new();
    hasher.update(first.as_bytes());
    for p in more {
        hasher.update(sha256_file(p)?.as_bytes());
    }
    Ok(hex::encode(hasher.finalize()))
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, IngestError> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut hasher = sha2::Sha256::new();
    // Large reads: with 8 KiB ones (io::copy) the syscalls cost as much as the hashing.
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Runs blocking file work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("reader thread failed: {e}")))?
        .map_err(Error::from)
}
