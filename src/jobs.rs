//! Ingest jobs of the admin API: an upload becomes a job that runs in the background and
//! records its state and report in `catalog.ingest_jobs`.

use std::sync::Arc;

use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::ingest::{self, IngestError, IngestRequest, NoProgress};

/// What a job does with its uploaded file.
pub enum Work {
    /// Loads the file as a new version of its dataset.
    Ingest(IngestRequest),
    /// Computes a solar dataset with the file as its weather year.
    Solar(crate::solar::compute::Request),
}

/// What a finished job leaves: its report, the version it made, whether anything changed.
struct Done {
    report: Option<serde_json::Value>,
    version: i64,
    unchanged: bool,
}

impl Work {
    fn dataset(&self) -> &str {
        match self {
            Self::Ingest(r) => &r.dataset,
            Self::Solar(r) => &r.dataset,
        }
    }

    fn file(&self) -> &std::path::Path {
        match self {
            Self::Ingest(r) => &r.path,
            Self::Solar(r) => &r.weather,
        }
    }

    async fn run(&self, pool: &PgPool) -> Result<Done> {
        match self {
            Self::Ingest(request) => {
                let report = ingest::ingest(pool, request, Arc::new(NoProgress)).await?;
                Ok(Done {
                    version: report.version,
                    unchanged: report.unchanged,
                    report: serde_json::to_value(&report).ok(),
                })
            }
            Self::Solar(request) => {
                let report =
                    crate::solar::compute::compute(pool, request, Arc::new(NoProgress)).await?;
                Ok(Done {
                    version: report.ingest.version,
                    unchanged: report.ingest.unchanged,
                    report: serde_json::to_value(&report).ok(),
                })
            }
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Job {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "aed")]
    pub dataset_id: String,
    /// queued, running, succeeded or failed.
    #[schema(example = "succeeded")]
    pub state: String,
    pub source_name: String,
    /// Size of the upload.
    pub bytes: i64,
    /// The ingest report, once succeeded.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    /// What went wrong, once failed: `description`, and `problems` for rejected features.
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

const JOB_COLUMNS: &str = "id, dataset_id, state, source_name, bytes, report, error, \
     to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, \
     to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS finished_at";

/// Records a queued job.
pub async fn create(
    pool: &PgPool,
    dataset: &str,
    key_id: i64,
    source_name: &str,
    bytes: u64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO catalog.ingest_jobs (dataset_id, key_id, state, source_name, bytes) \
         VALUES ($1, $2, 'queued', $3, $4) RETURNING id",
    )
    .bind(dataset)
    .bind(key_id)
    .bind(source_name)
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await?)
}

/// One job, or `None`.
pub async fn get(pool: &PgPool, id: i64) -> Result<Option<Job>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM catalog.ingest_jobs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Jobs that a stopped server left queued or running can never finish: mark them failed.
pub async fn fail_interrupted(pool: &PgPool) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE catalog.ingest_jobs SET state = 'failed', finished_at = now(), \
           error = jsonb_build_object('description', 'interrupted: the server stopped while the job ran; nothing was changed') \
         WHERE state IN ('queued', 'running')",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The job's error for its client: the upload named as such, never by the server's temporary
/// path.
fn error_json(e: &Error, upload: &std::path::Path) -> serde_json::Value {
    let description = e
        .to_string()
        .replace(&upload.display().to_string(), "the uploaded file");
    let mut body = serde_json::json!({ "description": description });
    if let Error::Ingest(IngestError::InvalidFeatures { problems, .. }) = e {
        body["problems"] = serde_json::to_value(problems).unwrap_or_default();
    }
    body
}

/// Uploads received or waiting for an ingest slot, bounded in number and bytes: each holds a
/// file on disk until its ingest runs, and nothing else would stop a key from filling the disk.
#[derive(Debug)]
pub struct Queue {
    jobs: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicU64,
    max_jobs: usize,
    max_bytes: u64,
}

/// One upload's place in the [`Queue`], given back when dropped (its ingest started, or the
/// upload failed).
#[derive(Debug)]
pub struct Ticket {
    queue: Arc<Queue>,
    bytes: u64,
}

impl Queue {
    pub fn new(max_jobs: usize, max_bytes: u64) -> Arc<Self> {
        Arc::new(Self {
            jobs: Default::default(),
            bytes: Default::default(),
            max_jobs: max_jobs.max(1),
            max_bytes,
        })
    }

    /// A place for one more upload, or 503 when the queue is full.
    pub fn enter(self: &Arc<Self>) -> Result<Ticket> {
        use std::sync::atomic::Ordering;
        let taken = self.jobs.fetch_add(1, Ordering::AcqRel);
        let ticket = Ticket {
            queue: self.clone(),
            bytes: 0,
        };
        if taken >= self.max_jobs {
            return Err(Error::Busy(format!(
                "{taken} uploads are already waiting for their ingest (at most {}); retry when \
                 one has started",
                self.max_jobs
            )));
        }
        Ok(ticket)
    }
}

impl Ticket {
    /// Counts `n` more bytes of the upload; 503 when the queue would hold more than it may.
    pub fn grow(&mut self, n: u64) -> Result<()> {
        use std::sync::atomic::Ordering;
        let before = self.queue.bytes.fetch_add(n, Ordering::AcqRel);
        self.bytes += n;
        if before + n > self.queue.max_bytes {
            return Err(Error::Busy(format!(
                "the uploads waiting for their ingest hold more than {} bytes; retry when one \
                 has started",
                self.queue.max_bytes
            )));
        }
        Ok(())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        self.queue.jobs.fetch_sub(1, Ordering::AcqRel);
        self.queue.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// What a job runs with besides its request.
pub struct Run {
    pub pool: PgPool,
    /// The job's id.
    pub id: i64,
    /// The key that uploaded; its audit line records the job's end.
    pub key_id: i64,
    pub request_id: Option<String>,
    /// Bounds how many ingests run at once; the others stay queued.
    pub slots: Arc<tokio::sync::Semaphore>,
    /// An ingest running longer is stopped (its transaction rolled back).
    pub time_limit: std::time::Duration,
    /// The upload's place in the queue, given back when its ingest starts.
    pub ticket: Ticket,
    /// The publisher the uploading key is bound to: a dataset it creates becomes its.
    pub publisher: Option<String>,
}

/// `Forbidden` when `dataset` exists and is not `publisher`'s.
async fn owned_elsewhere(pool: &sqlx::PgPool, dataset: &str, publisher: &str) -> crate::Result<()> {
    match crate::catalog::repo::dataset_publisher(pool, dataset).await? {
        None => Ok(()),
        Some(Some(owner)) if owner == publisher => Ok(()),
        Some(_) => Err(crate::Error::Forbidden(format!(
            "dataset '{dataset}' became another publisher's while the upload waited"
        ))),
    }
}

/// Runs the work on `upload` in the background once a slot is free; the temporary file goes
/// when it ends. `after` runs once the new version is served (downloads, tile seeding).
pub fn spawn(
    run: Run,
    work: Work,
    upload: tempfile::TempPath,
    after: Option<Box<dyn FnOnce() + Send>>,
) {
    tokio::spawn(async move {
        let Run {
            pool,
            id,
            key_id,
            request_id,
            slots,
            time_limit,
            ticket,
            publisher,
        } = run;
        let Ok(_slot) = slots.acquire_owned().await else {
            return;
        };
        drop(ticket);
        let _ = sqlx::query("UPDATE catalog.ingest_jobs SET state = 'running' WHERE id = $1")
            .bind(id)
            .execute(&pool)
            .await;
        let started = std::time::Instant::now();
        // The dataset may have become another publisher's while the upload waited.
        let owner = match &publisher {
            Some(p) => owned_elsewhere(&pool, work.dataset(), p).await,
            None => Ok(()),
        };
        let outcome = match owner {
            Err(e) => Err(e),
            Ok(()) => tokio::time::timeout(time_limit, work.run(&pool))
                .await
                .unwrap_or_else(|_| {
                    Err(IngestError::TimeLimit {
                        seconds: time_limit.as_secs(),
                    }
                    .into())
                }),
        };
        // A new dataset is the uploading publisher's before the job says it succeeded.
        let outcome = match (outcome, &publisher) {
            (Ok(done), Some(p)) => crate::catalog::repo::claim_dataset(&pool, work.dataset(), p)
                .await
                .map(|()| done),
            (outcome, _) => outcome,
        };
        crate::metrics::record_ingest(outcome.is_ok(), started.elapsed());
        let (state, report, error) = match &outcome {
            Ok(done) => ("succeeded", done.report.clone(), None),
            Err(e) => ("failed", None, Some(error_json(e, work.file()))),
        };
        if let Err(e) = &outcome {
            tracing::warn!(job = id, dataset = %work.dataset(), error = %e, "job failed");
        }
        let recorded = sqlx::query(
            "UPDATE catalog.ingest_jobs SET state = $2, report = $3, error = $4, finished_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(report)
        .bind(error)
        .execute(&pool)
        .await;
        if let Err(e) = recorded {
            tracing::error!(job = id, error = %e, "could not record the job's outcome");
        }
        crate::audit::write(
            &pool,
            crate::audit::Record {
                key_id,
                action: crate::auth::Action::Ingest,
                dataset: Some(work.dataset()),
                outcome: match &outcome {
                    Ok(_) => crate::audit::Outcome::Succeeded,
                    Err(_) => crate::audit::Outcome::Failed,
                },
                status: None,
                detail: Some(match &outcome {
                    Ok(done) => format!("job {id}: version {}", done.version),
                    Err(e) => format!("job {id}: {e}"),
                }),
                request_id,
            },
        )
        .await;
        drop(upload);
        if let (Ok(done), Some(after)) = (&outcome, after) {
            if !done.unchanged {
                after();
            }
        }
    });
}
