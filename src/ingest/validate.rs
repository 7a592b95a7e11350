//! Geometry validation and repair inside the load transaction, in the storage CRS.
//!
//! Invalid geometries are repaired with `ST_MakeValid` (structure method), keeping their
//! dimension (a polygon stays polygonal); empty geometries, and geometries that collapse when
//! repaired, are rejected. Whether rejections fail the ingest is the caller's policy.

use serde::Serialize;
use sqlx::PgConnection;

use super::profile::RowCheck;
use crate::db::ident::{Ident, QualifiedTable};
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

/// `ST_MakeValid` that keeps points, lines and polygons what they were.
const REPAIR: &str = "CASE ST_Dimension(geom) \
     WHEN 2 THEN ST_CollectionExtract(ST_MakeValid(geom, 'method=structure keepcollapsed=false'), 3) \
     WHEN 1 THEN ST_CollectionExtract(ST_MakeValid(geom, 'method=linework keepcollapsed=false'), 2) \
     ELSE ST_MakeValid(geom) END";

/// Repairs what can be repaired and lists what must be rejected (geometry problems and the
/// profile's row checks), in feature order.
pub async fn validate(
    conn: &mut PgConnection,
    table: &QualifiedTable,
    checks: &[RowCheck],
) -> Result<Validation> {
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
    // Empty from the start (repairs that collapsed are listed above already).
    let empty: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT fid FROM {table} WHERE geom IS NOT NULL AND ST_IsEmpty(geom) ORDER BY fid"
    ))
    .fetch_all(&mut *conn)
    .await?;

    let mut events: Vec<(i64, Problem)> = Vec::new();
    let mut event = |fid: i64, field: &str, reason: String, action: &'static str| {
        events.push((
            fid,
            Problem {
                feature: u64::try_from(fid - 1).unwrap_or_default(),
                field: field.to_string(),
                reason,
                action,
            },
        ));
    };
    let mut collapsed = Vec::new();
    let mut repaired_count = 0;
    for (fid, reason, is_empty) in repaired {
        if is_empty {
            collapsed.push(fid);
            event(
                fid,
                "geometry",
                format!("invalid ({reason}) and empty once repaired"),
                "rejected",
            );
        } else {
            repaired_count += 1;
            event(
                fid,
                "geometry",
                format!("invalid ({reason}), repaired"),
                "repaired",
            );
        }
    }
    for fid in empty.into_iter().filter(|f| !collapsed.contains(f)) {
        event(fid, "geometry", "empty geometry".into(), "rejected");
    }
    let out_of_range: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT fid FROM {table} WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) \
           AND (ST_XMin(geom) < -180 OR ST_XMax(geom) > 180 OR ST_YMin(geom) < -90 OR ST_YMax(geom) > 90) \
         ORDER BY fid"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for fid in out_of_range {
        event(
            fid,
            "geometry",
            "coordinates outside longitude -180..180 / latitude -90..90 once transformed (a wrong --crs?)".into(),
            "rejected",
        );
    }
    for check in checks {
        let failing: Vec<(i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT fid, {col}::text FROM {table} WHERE {predicate} ORDER BY fid",
            col = Ident::new(&check.column),
            predicate = check.predicate
        ))
        .fetch_all(&mut *conn)
        .await?;
        for (fid, value) in failing {
            let shown = value.map_or_else(|| "missing".to_string(), |v| format!("'{v}'"));
            event(
                fid,
                &check.field,
                format!("{}: {shown}", check.reason),
                "rejected",
            );
        }
    }

    events.sort_by_key(|(fid, _)| *fid);
    let mut v = Validation {
        repaired: repaired_count,
        ..Validation::default()
    };
    for (fid, problem) in events {
        if problem.action == "rejected" && v.rejected.last() != Some(&fid) {
            v.rejected.push(fid);
        }
        if v.problems.len() < MAX_PROBLEMS {
            v.problems.push(problem);
        }
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
