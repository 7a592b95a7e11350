//! Geometry validation and repair inside the load transaction, in the source CRS.
//!
//! Invalid geometries are repaired with `ST_MakeValid` (structure method), keeping their
//! dimension (a polygon stays polygonal); empty geometries, and geometries that collapse when
//! repaired, are rejected. Whether rejections fail the ingest is the caller's policy.

use serde::Serialize;
use sqlx::PgConnection;

use crate::db::ident::QualifiedTable;
use crate::error::Result;

/// Problems listed in full in a report; the counts are always complete.
pub const MAX_PROBLEMS: usize = 100;

/// One feature that was repaired or rejected.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// 0-based position of the feature in the file.
    pub feature: u64,
    pub field: String,
    pub reason: String,
    /// `repaired` or `rejected`.
    pub action: &'static str,
}

/// The outcome of validation.
#[derive(Debug, Default)]
pub struct Validation {
    pub repaired: u64,
    /// Feature ids (fid) to reject.
    pub rejected: Vec<i64>,
    pub problems: Vec<Problem>,
}

impl Validation {
    fn note(&mut self, fid: i64, reason: String, action: &'static str) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                feature: u64::try_from(fid - 1).unwrap_or_default(),
                field: "geometry".into(),
                reason,
                action,
            });
        }
    }
}

/// `ST_MakeValid` that keeps points, lines and polygons what they were.
const REPAIR: &str = "CASE ST_Dimension(geom) \
     WHEN 2 THEN ST_CollectionExtract(ST_MakeValid(geom, 'method=structure keepcollapsed=false'), 3) \
     WHEN 1 THEN ST_CollectionExtract(ST_MakeValid(geom, 'method=linework keepcollapsed=false'), 2) \
     ELSE ST_MakeValid(geom) END";

/// Repairs what can be repaired and lists what must be rejected, in feature order.
pub async fn validate(conn: &mut PgConnection, table: &QualifiedTable) -> Result<Validation> {
    let mut v = Validation::default();

    let repaired: Vec<(i64, String, bool)> = sqlx::query_as(&format!(
        "UPDATE {table} t SET geom = {repair} \
         FROM (SELECT fid, ST_IsValidReason(geom) AS reason FROM {table} \
               WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) AND NOT ST_IsValid(geom)) bad \
         WHERE t.fid = bad.fid \
         RETURNING t.fid, bad.reason, ST_IsEmpty(t.geom)",
        repair = REPAIR.replace("geom", "t.geom")
    ))
    .fetch_all(&mut *conn)
    .await?;

    let empty: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT fid FROM {table} WHERE geom IS NOT NULL AND ST_IsEmpty(geom) ORDER BY fid"
    ))
    .fetch_all(&mut *conn)
    .await?;

    let mut events: Vec<(i64, String, &'static str)> = Vec::new();
    for (fid, reason, collapsed) in repaired {
        if collapsed {
            events.push((
                fid,
                format!("invalid ({reason}) and empty once repaired"),
                "rejected",
            ));
        } else {
            v.repaired += 1;
            events.push((fid, format!("invalid ({reason}), repaired"), "repaired"));
        }
    }
    let collapsed: Vec<i64> = events
        .iter()
        .filter(|e| e.2 == "rejected")
        .map(|e| e.0)
        .collect();
    for fid in empty {
        if !collapsed.contains(&fid) {
            events.push((fid, "empty geometry".into(), "rejected"));
        }
    }
    events.sort_by_key(|e| e.0);
    for (fid, reason, action) in events {
        if action == "rejected" {
            v.rejected.push(fid);
        }
        v.note(fid, reason, action);
    }
    Ok(v)
}

/// Deletes the rejected features (`--skip-invalid`).
pub async fn drop_rejected(
    conn: &mut PgConnection,
    table: &QualifiedTable,
    fids: &[i64],
) -> Result<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE fid = ANY($1)"))
        .bind(fids)
        .execute(conn)
        .await?;
    Ok(())
}
