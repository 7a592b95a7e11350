//! Geometry validation and repair inside the load transaction, in the CRS of the source.
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

/// `ST_MakeValid` that keeps points, lines and polygons what they were.
const REPAIR: &str = "CASE ST_Dimension(geom) \
     WHEN 2 THEN ST_CollectionExtract(ST_MakeValid(geom, 'method=structure keepcollapsed=false'), 3) \
     WHEN 1 THEN ST_CollectionExtract(ST_MakeValid(geom, 'method=linework keepcollapsed=false'), 2) \
     ELSE ST_MakeValid(geom) END";

/// Whether PostGIS must look for features off the globe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobeTest {
    /// Nothing to test: lon/lat coordinates were range-checked on the stream, and projected
    /// data lie on the globe as a whole (the transformed extent said so).
    Done,
    /// A projected CRS with data off the globe somewhere: each feature is transformed.
    EachFeature,
}

/// The reason given for a feature off the globe.
pub const OFF_GLOBE: &str =
    "coordinates outside longitude -180..180 / latitude -90..90 once transformed (a wrong --crs?)";

/// What the load learnt about the features while streaming them.
#[derive(Debug, Default)]
pub struct Findings {
    /// Features (fid) whose geometry the streaming check could not certify: PostGIS decides.
    pub undecided: Vec<i64>,
    /// Problems found on the stream (profile checks, lon/lat off the globe), in fid order.
    pub problems: Vec<(i64, Problem)>,
    /// Bounds of every coordinate, in the source CRS.
    pub extent: Option<[f64; 4]>,
}

/// One row of the problem scan.
#[derive(sqlx::FromRow)]
struct Flagged {
    fid: i64,
    empty: bool,
    invalid: bool,
    off_globe: bool,
}

/// Repairs what can be repaired and lists what must be rejected (geometry problems and the
/// stream's findings), in feature order. PostGIS only judges the features the stream could not
/// certify, plus every feature when the data may lie off the globe. A repaired geometry's tile
/// size is computed anew when the table has that column (`tile_sizes`).
pub async fn validate(
    conn: &mut PgConnection,
    table: &QualifiedTable,
    globe: GlobeTest,
    findings: Findings,
    tile_sizes: bool,
) -> Result<Validation> {
    let off_globe = match globe {
        GlobeTest::Done => "false",
        GlobeTest::EachFeature => "NOT catalog.on_globe(geom)",
    };
    let rows = if findings.undecided.is_empty() && globe == GlobeTest::Done {
        Vec::new()
    } else {
        // No ORDER BY: the planner would walk the primary key instead of scanning in parallel;
        // the few problem rows are sorted below.
        sqlx::query_as::<_, Flagged>(&format!(
            "SELECT fid, coalesce(ST_IsEmpty(geom), false) AS empty, \
               coalesce(NOT ST_IsEmpty(geom) AND NOT ST_IsValid(geom), false) AS invalid, \
               coalesce(NOT ST_IsEmpty(geom) AND {off_globe}, false) AS off_globe \
             FROM {table} WHERE geom IS NOT NULL AND ( \
               (fid = ANY($1) AND (ST_IsEmpty(geom) OR NOT ST_IsValid(geom))) \
               OR (NOT ST_IsEmpty(geom) AND {off_globe}))"
        ))
        .bind(&findings.undecided)
        .fetch_all(&mut *conn)
        .await?
    };

    let mut events: Vec<(i64, Problem)> = findings.problems;
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
    let mut invalid = Vec::new();
    for flags in rows {
        if flags.empty {
            event(flags.fid, "geometry", "empty geometry".into(), "rejected");
        }
        if flags.invalid {
            invalid.push(flags.fid);
        }
        if flags.off_globe {
            event(flags.fid, "geometry", OFF_GLOBE.into(), "rejected");
        }
    }

    let mut repaired_count = 0;
    if !invalid.is_empty() {
        // The repair can move the bounds (a spike removed): the tile size follows it.
        let size = if tile_sizes {
            format!(
                ", {} = {}",
                crate::tiles::mvt::TILE_SIZE,
                crate::tiles::mvt::size_of("bad.fixed")
            )
        } else {
            String::new()
        };
        let repaired: Vec<(i64, String, bool)> = sqlx::query_as(&format!(
            "UPDATE {table} t SET geom = bad.fixed{size} \
             FROM (SELECT fid, ST_IsValidReason(geom) AS reason, {REPAIR} AS fixed \
                   FROM {table} WHERE fid = ANY($1)) bad \
             WHERE t.fid = bad.fid \
             RETURNING t.fid, bad.reason, ST_IsEmpty(bad.fixed)"
        ))
        .bind(&invalid)
        .fetch_all(&mut *conn)
        .await?;
        for (fid, reason, collapsed) in repaired {
            if collapsed {
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
