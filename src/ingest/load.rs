//! The database side of an ingest: one transaction from `CREATE TABLE` to the version switch.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sqlx::{PgConnection, PgPool};

use super::copy::CopyEncoder;
use super::detect::Format;
use super::normalize::{NormalizeOptions, Normalizer};
use super::profile::RowCheck;
use super::validate::{Findings, Problem, OFF_GLOBE};
use super::{extent, validate};
use super::{formats, IngestError, IngestReport, IngestRequest, Progress};
use crate::catalog::{self, Column};
use crate::db::ident::{Ident, QualifiedTable};
use crate::error::{Error, Result};

/// Everything the load needs to know from the survey.
pub struct LoadPlan<'a> {
    pub request: &'a IngestRequest,
    pub format: Format,
    pub srid: i32,
    pub columns: Vec<Column>,
    pub has_z: bool,
    pub sha256: String,
    pub started: Instant,
    /// Row checks of the dataset's profile.
    pub checks: Vec<super::profile::RowCheck>,
    /// Set when the survey saw only the first features: what it learnt, to check the rest by.
    pub watch: Option<Watch>,
}

/// What a partial survey learnt. The load keeps inferring from it and stops with
/// [`IngestError::SchemaChanged`] at the first feature that would change the table, before that
/// feature reaches the database.
#[derive(Debug)]
pub struct Watch {
    pub inferrer: super::schema::SchemaInferrer,
    /// The CRS the file declared before its features.
    pub crs: Option<i32>,
}

/// Bounded so the reader thread waits for the database instead of filling memory.
const CHANNEL_CHUNKS: usize = 8;

/// Loads, validates and switches in one transaction; returns the report that was stored.
pub async fn load(
    pool: &PgPool,
    plan: LoadPlan<'_>,
    phases: &mut super::Phases,
) -> Result<IngestReport> {
    let req = plan.request;
    let mut tx = pool.begin().await?;
    // Index builds of a million features want more than the default 64 MB.
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut *tx)
        .await?;
    check_srid(&mut tx, plan.srid).await?;
    catalog::repo::upsert_dataset(&mut tx, &req.dataset, req.kind, req.title.as_deref()).await?;
    let version = catalog::repo::next_version_id(&mut tx).await?;
    let table_name = format!("{}_v{version}", req.dataset.replace('-', "_"));
    let table = QualifiedTable::data(&table_name);

    // The table keeps the source CRS: serving in it returns the coordinates exactly as read,
    // and the load needs no transformation pass (features are transformed when served in
    // another CRS, as pg_featureserv and Martin do).
    sqlx::query(&create_table_sql(
        &table,
        &plan.columns,
        plan.srid,
        plan.has_z,
    ))
    .execute(&mut *tx)
    .await?;
    let (read, findings) = copy_rows(&mut tx, &table, &plan, phases.progress()).await?;

    // Statistics first, so that a validation scan is planned in parallel and the first queries
    // are planned well. A small sample is enough for that; autovacuum analyses the new table
    // with the full one shortly after (it counts the inserted rows).
    phases.start("analyze");
    sqlx::query("SET LOCAL default_statistics_target = 10")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("ANALYZE {table}"))
        .execute(&mut *tx)
        .await?;

    phases.start("validate");
    let mut source_extent = findings.extent;
    let globe = extent::globe_test(&mut tx, plan.srid, source_extent).await?;
    let validation = validate::validate(&mut tx, &table, globe, findings, true)
        .await
        .map_err(|e| match e {
            Error::Database(db) => rejected(db),
            other => other,
        })?;
    let rejected_count = validation.rejected.len() as u64;
    if rejected_count > 0 {
        if !req.skip_invalid {
            return Err(IngestError::InvalidFeatures {
                rejected: rejected_count,
                problems: validation.problems,
            }
            .into());
        }
        validate::drop_rejected(&mut tx, &table, &validation.rejected).await?;
        source_extent = extent::of_table(&mut tx, &table).await?;
    }
    let features = read - rejected_count;

    phases.start("index");
    let index = Ident::new(format!("{table_name}_geom_idx"));
    for statement in [
        format!("ALTER TABLE {table} ADD PRIMARY KEY (fid)"),
        format!("CREATE INDEX {index} ON {table} USING gist (geom)"),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    let bbox = extent::to_crs84(&mut tx, plan.srid, source_extent).await?;

    let report = IngestReport {
        dataset: req.dataset.clone(),
        version,
        unchanged: false,
        format: plan.format.name().into(),
        source_crs: Some(plan.srid),
        features,
        read,
        repaired: validation.repaired,
        rejected: rejected_count,
        problems: validation.problems,
        has_z: plan.has_z,
        columns: plan.columns.clone(),
        bbox,
        sha256: plan.sha256.clone(),
        seconds: plan.started.elapsed().as_secs_f64(),
        phases: phases.finish(),
        details: None,
        recomputed: Vec::new(),
    };
    catalog::repo::insert_and_activate(
        &mut tx,
        &catalog::repo::NewVersion {
            id: version,
            dataset_id: &req.dataset,
            table_name: &table_name,
            companions: &[],
            source_name: &req
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source_format: plan.format.name(),
            source_sha256: &plan.sha256,
            source_crs: plan.srid,
            columns: &plan.columns,
            has_z: plan.has_z,
            tile_sizes: true,
            feature_count: i64::try_from(features).unwrap_or(i64::MAX),
            bbox,
            report: &serde_json::to_value(&report).unwrap_or_default(),
        },
    )
    .await?;
    catalog::repo::prune_and_drop(&mut tx, &req.dataset, req.keep_versions.max(1)).await?;
    // An OSM extract's kept file goes with its last version (a dataset that was an extract).
    crate::osm::store::drop_unused_extracts(&mut tx).await?;
    tx.commit().await?;
    Ok(report)
}

async fn check_srid(conn: &mut PgConnection, srid: i32) -> Result<()> {
    let known: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1)")
            .bind(srid)
            .fetch_one(conn)
            .await?;
    if known {
        Ok(())
    } else {
        Err(IngestError::UnknownCrs(srid).into())
    }
}

fn geometry_type(srid: i32, has_z: bool) -> String {
    let kind = if has_z { "GeometryZ" } else { "Geometry" };
    format!("geometry({kind}, {srid})")
}

fn create_table_sql(table: &QualifiedTable, columns: &[Column], srid: i32, has_z: bool) -> String {
    let mut sql = format!("CREATE TABLE {table} (fid bigint NOT NULL");
    for c in columns {
        let _ = write!(sql, ", {} {}", c.ident(), c.ty.sql_type());
    }
    let _ = write!(
        sql,
        ", geom {}, {} double precision)",
        geometry_type(srid, has_z),
        crate::tiles::mvt::TILE_SIZE
    );
    sql
}

/// Streams the file into `COPY … FROM STDIN`: a blocking reader thread checks and encodes
/// rows, the async side forwards them. Returns the number of rows and what the checks found.
async fn copy_rows(
    conn: &mut PgConnection,
    table: &QualifiedTable,
    plan: &LoadPlan<'_>,
    progress: Arc<dyn Progress>,
) -> Result<(u64, Findings)> {
    let mut target = format!("COPY {table} (fid");
    for c in &plan.columns {
        let _ = write!(target, ", {}", c.ident());
    }
    let _ = write!(
        target,
        ", geom, {}) FROM STDIN {}",
        crate::tiles::mvt::TILE_SIZE,
        super::copy::COPY_OPTIONS
    );

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let path = plan.request.path.clone();
    let format = plan.format;
    let columns = plan.columns.clone();
    let read_options = plan.request.read.clone();
    let options = NormalizeOptions {
        build_geometry: true,
        srid: plan.srid,
        with_z: plan.has_z,
    };
    let surveyed_crs = plan.watch.as_ref().map(|w| w.crs);
    let mut watch = plan.watch.as_ref().map(|w| w.inferrer.clone());
    let has_z = plan.has_z;
    let checks = plan.checks.clone();
    let lon_lat = extent::is_lon_lat(plan.srid);
    let producer = tokio::task::spawn_blocking(move || -> Result<(u64, Findings), IngestError> {
        let mut encoder = CopyEncoder::new(&columns, tx).with_tile_size();
        let mut sink = Streaming {
            inner: &mut encoder,
            progress: progress.as_ref(),
            watch: watch.as_mut(),
            checks: &checks,
            lon_lat,
            findings: Findings::default(),
        };
        let mut normalizer = Normalizer::new(&mut sink, options);
        let crs = formats::open(format, &path, &read_options).read(&mut normalizer)?;
        if let Some(surveyed_crs) = surveyed_crs {
            if normalizer.saw_z() && !has_z {
                return Err(IngestError::SchemaChanged("3D coordinates".into()));
            }
            if crs != surveyed_crs {
                return Err(IngestError::SchemaChanged(
                    "a crs member after the features".into(),
                ));
            }
        }
        drop(normalizer);
        let findings = std::mem::take(&mut sink.findings);
        encoder.finish()?;
        Ok((encoder.rows(), findings))
    });

    let mut copy = conn.copy_in_raw(&target).await?;
    let mut send_error = None;
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = copy.send(chunk).await {
            send_error = Some(e);
            break;
        }
    }
    drop(rx);
    let produced = producer
        .await
        .map_err(|e| Error::Internal(format!("reader thread failed: {e}")))?;
    match (produced, send_error) {
        (Ok(done), None) => {
            copy.finish().await.map_err(rejected)?;
            Ok(done)
        }
        (_, Some(e)) => {
            let _ = copy.abort("kreisgeo: database rejected a row").await;
            Err(rejected(e))
        }
        (Err(e), None) => {
            let _ = copy.abort("kreisgeo: input rejected").await;
            Err(e.into())
        }
    }
}

/// A database error caused by the data (bad geometry, CRS without a transformation) is the
/// input's fault: it becomes an ingest error with PostgreSQL's message and context.
fn rejected(e: sqlx::Error) -> Error {
    match e.as_database_error() {
        Some(db) => {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let context = pg
                .and_then(|p| p.r#where())
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            IngestError::Rejected(format!("{}{context}", db.message())).into()
        }
        None => e.into(),
    }
}

/// The reader thread's sink: checks each feature, then encodes it. Reports progress every
/// 10,000 features; after a partial survey, checks each feature against the schema first.
struct Streaming<'a> {
    inner: &'a mut CopyEncoder,
    progress: &'a dyn Progress,
    watch: Option<&'a mut super::schema::SchemaInferrer>,
    checks: &'a [RowCheck],
    lon_lat: bool,
    findings: Findings,
}

impl Streaming<'_> {
    fn problem(&mut self, fid: i64, field: &str, reason: String) {
        self.findings.problems.push((
            fid,
            Problem {
                feature: u64::try_from(fid - 1).unwrap_or_default(),
                field: field.to_string(),
                reason,
                action: "rejected",
            },
        ));
    }
}

impl super::normalize::FeatureSink for Streaming<'_> {
    fn feature(
        &mut self,
        feature: &super::normalize::NormalizedFeature,
    ) -> Result<(), IngestError> {
        if let Some(inferrer) = self.watch.as_deref_mut() {
            inferrer.feature(feature)?;
            if let Some(change) = inferrer.change() {
                return Err(IngestError::SchemaChanged(format!(
                    "{change} at feature {}",
                    feature.index
                )));
            }
        }
        self.inner.feature(feature)?;
        let rows = self.inner.rows();
        let fid = i64::try_from(rows).unwrap_or(i64::MAX);
        if let Some(verdict) = feature.verdict {
            if !verdict.certified {
                self.findings.undecided.push(fid);
            }
            if let Some(b) = verdict.bbox {
                let e = self.findings.extent.get_or_insert(b);
                *e = [
                    e[0].min(b[0]),
                    e[1].min(b[1]),
                    e[2].max(b[2]),
                    e[3].max(b[3]),
                ];
                let on_globe = b[0] >= -180.0 && b[2] <= 180.0 && b[1] >= -90.0 && b[3] <= 90.0;
                if self.lon_lat && !on_globe {
                    self.problem(fid, "geometry", OFF_GLOBE.into());
                }
            }
        }
        for check in self.checks {
            let value = feature
                .props()
                .iter()
                .find(|(name, _)| *name == check.field)
                .and_then(|(_, v)| v.as_ref());
            if let Some(shown) = check.violation(value) {
                let reason = format!("{}: {shown}", check.reason);
                self.problem(fid, &check.field, reason);
            }
        }
        if rows.is_multiple_of(10_000) {
            self.progress.features(rows);
        }
        Ok(())
    }
}
