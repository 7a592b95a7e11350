//! The audit log: every admin action with the key that asked for it, when, on which dataset,
//! and how it ended. Kept in the database, so that every node writes to one log and it is
//! backed up with the data it describes.

use serde::Serialize;
use sqlx::PgPool;

use crate::auth::Action;
use crate::error::Result;

/// How an admin action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Taken on to be done in the background (an upload's ingest job).
    Accepted,
    Succeeded,
    Failed,
    /// The key's scope did not cover it.
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
        }
    }
}

/// One line to write.
#[derive(Debug)]
pub struct Record<'a> {
    pub key_id: i64,
    pub action: Action,
    pub dataset: Option<&'a str>,
    pub outcome: Outcome,
    /// The HTTP status answered, if any (a job's end has none).
    pub status: Option<u16>,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// Writes `record`. An action whose audit line cannot be written has happened all the same:
/// the failure is logged loudly rather than undoing it.
pub async fn write(pool: &PgPool, record: Record<'_>) {
    let written = sqlx::query(
        "INSERT INTO catalog.audit_log (key_id, action, dataset_id, outcome, status, detail, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(record.key_id)
    .bind(record.action.as_str())
    .bind(record.dataset)
    .bind(record.outcome.as_str())
    .bind(record.status.map(|s| s as i16))
    .bind(&record.detail)
    .bind(&record.request_id)
    .execute(pool)
    .await;
    if let Err(e) = written {
        tracing::error!(
            error = %e,
            key = record.key_id,
            action = record.action.as_str(),
            dataset = record.dataset,
            outcome = record.outcome.as_str(),
            "cannot write the audit log"
        );
    }
}

/// A line of the log as listed.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub key_id: Option<i64>,
    pub action: String,
    pub dataset_id: Option<String>,
    pub outcome: String,
    pub status: Option<i16>,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// The newest `limit` entries, of one dataset if given, newest first.
pub async fn list(pool: &PgPool, dataset: Option<&str>, limit: i64) -> Result<Vec<Entry>> {
    Ok(sqlx::query_as(
        "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, \
           key_id, action, dataset_id, outcome, status, detail, request_id \
         FROM catalog.audit_log WHERE $1::text IS NULL OR dataset_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(dataset)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
