//! The SQL of walking routes, on pgRouting: snapping points onto the walking network, the
//! walking distances from one point to many (`pgr_withPointsCost`, undirected), and the
//! routes as lines (`pgr_withPoints`). The graph a query sees is the network inside a window
//! around the point: a path of length L from the point never leaves the circle of radius L,
//! so every distance up to the window's radius is exact.
//!
//! pgRouting's SQL arguments are texts; they are built here from the catalog's table names
//! and numbers only, never from a request's text.

use std::collections::HashMap;
use std::fmt::Write as _;

use sqlx::{PgPool, Row};

use crate::db::ident::QualifiedTable;
use crate::error::Result;

/// Creates the pgRouting extension where the server has it and the role may (the embedded
/// PostgreSQL); says whether the functions are there.
pub async fn enable(pool: &PgPool) -> bool {
    if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pgrouting")
        .execute(pool)
        .await
    {
        tracing::info!(error = %e, "pgRouting is not available: walking routes are off");
    }
    available(pool).await.unwrap_or(false)
}

/// Whether pgRouting's functions exist in this database.
pub async fn available(pool: &PgPool) -> Result<bool> {
    Ok(
        // Not to_regproc: it answers NULL for an overloaded name, as pgRouting's are.
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'pgr_withpointscost')",
        )
        .fetch_one(pool)
        .await?,
    )
}

/// A point's lon/lat (WGS 84).
pub async fn lon_lat(pool: &PgPool, p: crate::crs::Point) -> Result<(f64, f64)> {
    if p.srid == 4326 {
        return Ok((p.x, p.y));
    }
    Ok(sqlx::query_as(
        "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), $3), 4326) g",
    )
    .bind(p.x)
    .bind(p.y)
    .bind(p.srid)
    .fetch_one(pool)
    .await?)
}

/// A database without pgRouting answers walking questions with this, not a 500.
fn without_pgrouting(e: sqlx::Error) -> crate::Error {
    let missing = e
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|c| c == "42883");
    if missing {
        crate::Error::invalid(
            "mode",
            "walking routes need pgRouting, which this database server lacks \
             (Debian: apt-get install postgresql-15-pgrouting; then CREATE EXTENSION pgrouting)",
        )
    } else {
        e.into()
    }
}

/// A point on the network: on edge `edge` at `fraction` of its length, `snap_m` from where it
/// was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The start is 1; a feature is its fid + 1.
    pub pid: i64,
    pub edge: i64,
    pub fraction: f64,
    pub snap_m: f64,
}

/// A window in lon/lat: `[west, south, east, north]`.
pub type Window = [f64; 4];

fn envelope(w: Window) -> String {
    format!(
        "ST_MakeEnvelope({:.7}, {:.7}, {:.7}, {:.7}, 4326)",
        w[0], w[1], w[2], w[3]
    )
}

/// Points snap onto pieces of the network with at least this many edges: a courtyard's path
/// or a private road's stub, cut off from the streets, leads nowhere (OSM's walking network of
/// a town is one piece of thousands of edges and a scatter of small ones).
const MIN_PIECE_EDGES: i64 = 50;

/// The nearest edge of `walk` to each point of `points` (pid, lon/lat SQL), by the index
/// (in degrees) and then in metres. The fraction along the edge is measured in Web Mercator,
/// which keeps length ratios over an edge's few hundred metres (in degrees an east-west metre
/// is shorter than a north-south one, and the fraction of a bending edge would be off by
/// percent).
fn snap_sql(walk: &QualifiedTable, points: &str) -> String {
    format!(
        "WITH pts(pid, pt) AS ({points}) \
         SELECT p.pid, e.fid, greatest(1e-9, least(1 - 1e-9, \
             ST_LineLocatePoint(ST_Transform(e.geom, 3857), ST_Transform(p.pt, 3857)))), e.d \
         FROM pts p CROSS JOIN LATERAL ( \
           SELECT fid, geom, ST_Distance(geom::geography, p.pt::geography) AS d FROM ( \
             SELECT fid, geom FROM {walk} WHERE piece_edges >= {MIN_PIECE_EDGES} \
             ORDER BY geom <-> p.pt LIMIT 8) near \
           ORDER BY d, fid LIMIT 1) e"
    )
}

fn snaps(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<Snap>> {
    rows.iter()
        .map(|r| {
            Ok(Snap {
                pid: r.try_get(0)?,
                edge: r.try_get(1)?,
                fraction: r.try_get(2)?,
                snap_m: r.try_get(3)?,
            })
        })
        .collect()
}

/// The start (lon, lat) on the network (pid 1), with the edge it lies on; `None` for a
/// network without edges.
pub async fn snap_start(
    pool: &PgPool,
    walk: &QualifiedTable,
    start: (f64, f64),
) -> Result<Option<(Snap, Edge)>> {
    let sql = format!(
        "SELECT s.*, w.source, w.target, w.length_m FROM ({}) s JOIN {walk} w ON w.fid = s.fid",
        snap_sql(
            walk,
            "SELECT 1::bigint, ST_SetSRID(ST_MakePoint($1, $2), 4326)",
        )
    );
    let rows = sqlx::query(&sql)
        .bind(start.0)
        .bind(start.1)
        .fetch_all(pool)
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let snap = snaps(std::slice::from_ref(row))?.remove(0);
    Ok(Some((
        snap,
        Edge {
            source: row.try_get(4)?,
            target: row.try_get(5)?,
            length_m: row.try_get(6)?,
        },
    )))
}

/// Every feature of `features` on the network (pid = fid + 1), only those of `layer` when
/// given (an OSM table's addresses): done once per pair of versions and kept, since neither
/// moves.
pub async fn snap_all(
    pool: &PgPool,
    walk: &QualifiedTable,
    features: &QualifiedTable,
    layer: Option<&'static str>,
) -> Result<Vec<Snap>> {
    let only = if layer.is_some() {
        " AND layer = $1"
    } else {
        ""
    };
    let sql = snap_sql(
        walk,
        &format!(
            "SELECT fid + 1, ST_Transform(ST_PointOnSurface(geom), 4326) FROM {features} \
             WHERE geom IS NOT NULL{only}"
        ),
    );
    let mut query = sqlx::query(&sql);
    if let Some(layer) = layer {
        query = query.bind(layer);
    }
    snaps(&query.fetch_all(pool).await?)
}

/// An edge of the walking network: its ends and its length in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub source: i64,
    pub target: i64,
    pub length_m: f64,
}

/// The edges `ids` of `walk`, by id.
pub async fn edges(
    pool: &PgPool,
    walk: &QualifiedTable,
    ids: &[i64],
) -> Result<HashMap<i64, Edge>> {
    let rows: Vec<(i64, i64, i64, f64)> = sqlx::query_as(&format!(
        "SELECT fid, source, target, length_m FROM {walk} WHERE fid = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(fid, source, target, length_m)| {
            (
                fid,
                Edge {
                    source,
                    target,
                    length_m,
                },
            )
        })
        .collect())
}

/// For every source (pid, placed on the network), the walking metres to every node within
/// `limit_m` of it, its leg to the network included: one `pgr_drivingDistance` from all of them
/// at once, each a virtual vertex linked to both ends of its edge. Rows (pid, node, metres).
pub async fn reach_pairs(
    pool: &PgPool,
    walk: &QualifiedTable,
    sources: &[Snap],
    limit_m: f64,
) -> Result<Vec<(i64, i64, f64)>> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let mut values = String::new();
    for (i, s) in sources.iter().enumerate() {
        let _ = write!(
            values,
            "{}({}::bigint, {}::bigint, {:.12}::float8, {:.6}::float8)",
            if i > 0 { ", " } else { "" },
            s.pid,
            s.edge,
            s.fraction,
            s.snap_m
        );
    }
    // Node ids are OSM node ids, never negative: a source's vertex is -pid, its links
    // -2·pid and -2·pid - 1 (pids start at 1, network edge ids at 0).
    let edges = format!(
        "SELECT fid AS id, source, target, length_m AS cost FROM {walk} \
           WHERE piece_edges >= {MIN_PIECE_EDGES} \
         UNION ALL SELECT -2 * s.pid, -s.pid, e.source, s.snap_m + s.f * e.length_m \
           FROM (VALUES {values}) AS s(pid, edge, f, snap_m) JOIN {walk} e ON e.fid = s.edge \
         UNION ALL SELECT -2 * s.pid - 1, -s.pid, e.target, s.snap_m + (1 - s.f) * e.length_m \
           FROM (VALUES {values}) AS s(pid, edge, f, snap_m) JOIN {walk} e ON e.fid = s.edge"
    );
    let starts: Vec<i64> = sources.iter().map(|s| -s.pid).collect();
    let rows: Vec<(i64, i64, f64)> = sqlx::query_as(
        "SELECT -from_v, node, agg_cost FROM \
           pgr_drivingDistance($1, $2::bigint[], $3, directed => false, equicost => false) \
         WHERE node >= 0",
    )
    .bind(edges)
    .bind(&starts)
    .bind(limit_m)
    .fetch_all(pool)
    .await
    .map_err(without_pgrouting)?;
    Ok(rows)
}

/// The walking metres from the nearest of `sources` to every node of the network they reach:
/// one Dijkstra (`pgr_drivingDistance`) from a virtual vertex linked to both ends of each
/// source's edge, each link costing the source's leg to the network and along its edge to
/// that end. Exact, unlike a search from each source, and one graph build for all of them.
pub async fn reach(
    pool: &PgPool,
    walk: &QualifiedTable,
    sources: &[Snap],
) -> Result<HashMap<i64, f64>> {
    if sources.is_empty() {
        return Ok(HashMap::new());
    }
    let mut values = String::new();
    for (i, s) in sources.iter().enumerate() {
        let _ = write!(
            values,
            "{}({}::bigint, {}::bigint, {:.12}::float8, {:.6}::float8)",
            if i > 0 { ", " } else { "" },
            i,
            s.edge,
            s.fraction,
            s.snap_m
        );
    }
    // Node ids are OSM node ids, never negative: -1 is free for the virtual vertex and
    // negative ids for its links.
    let edges = format!(
        "SELECT fid AS id, source, target, length_m AS cost FROM {walk} \
           WHERE piece_edges >= {MIN_PIECE_EDGES} \
         UNION ALL SELECT -2 * s.i - 2, -1, e.source, s.snap_m + s.f * e.length_m \
           FROM (VALUES {values}) AS s(i, edge, f, snap_m) JOIN {walk} e ON e.fid = s.edge \
         UNION ALL SELECT -2 * s.i - 3, -1, e.target, s.snap_m + (1 - s.f) * e.length_m \
           FROM (VALUES {values}) AS s(i, edge, f, snap_m) JOIN {walk} e ON e.fid = s.edge"
    );
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT node, agg_cost FROM pgr_drivingDistance($1, -1, 1e12, directed => false) \
         WHERE node <> -1",
    )
    .bind(edges)
    .fetch_all(pool)
    .await
    .map_err(without_pgrouting)?;
    Ok(rows.into_iter().collect())
}

fn edges_sql(walk: &QualifiedTable, window: Window) -> String {
    format!(
        "SELECT fid AS id, source, target, length_m AS cost FROM {walk} WHERE geom && {}",
        envelope(window)
    )
}

fn points_sql(points: &[Snap]) -> String {
    let mut sql = String::from("SELECT * FROM (VALUES ");
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            sql,
            "{}({}::bigint, {}::bigint, {:.12}::float8)",
            if i > 0 { ", " } else { "" },
            p.pid,
            p.edge,
            p.fraction
        );
    }
    sql.push_str(") AS p(pid, edge_id, fraction)");
    sql
}

/// Walking metres from the start (pid 1) to each other point, over the network in `window`;
/// points not connected to the start there are missing.
pub async fn costs(
    pool: &PgPool,
    walk: &QualifiedTable,
    window: Window,
    points: &[Snap],
) -> Result<Vec<(i64, f64)>> {
    let ends: Vec<i64> = points
        .iter()
        .filter(|p| p.pid != 1)
        .map(|p| -p.pid)
        .collect();
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT -end_pid, agg_cost FROM pgr_withPointsCost($1, $2, -1, $3::bigint[], directed => false)",
    )
    .bind(edges_sql(walk, window))
    .bind(points_sql(points))
    .bind(&ends)
    .fetch_all(pool)
    .await
    .map_err(without_pgrouting)?;
    Ok(rows)
}

/// The walking routes from the start to `to` (pids), as GeoJSON LineStrings.
pub async fn routes(
    pool: &PgPool,
    walk: &QualifiedTable,
    window: Window,
    points: &[Snap],
    to: &[i64],
) -> Result<Vec<(i64, String)>> {
    if to.is_empty() {
        return Ok(Vec::new());
    }
    let ends: Vec<i64> = to.iter().map(|p| -p).collect();
    // A step's ends as fractions of its edge: 0 at the source, 1 at the target, the point's
    // own fraction where the step starts or ends at a point.
    let sql = format!(
        "WITH pts AS ({points}), \
         steps AS (SELECT w.end_pid, w.path_seq, w.node, w.edge, \
             lead(w.node) OVER (PARTITION BY w.end_pid ORDER BY w.path_seq) AS next_node \
           FROM pgr_withPoints($1, $2, -1, $3::bigint[], directed => false) w), \
         pieces AS (SELECT s.end_pid, s.path_seq, ST_Transform(e.geom, 3857) AS geom, \
             CASE WHEN s.node = e.source THEN 0 WHEN s.node = e.target THEN 1 \
                  ELSE (SELECT p.fraction FROM pts p WHERE p.pid = -s.node) END AS f1, \
             CASE WHEN s.next_node = e.source THEN 0 WHEN s.next_node = e.target THEN 1 \
                  ELSE (SELECT p.fraction FROM pts p WHERE p.pid = -s.next_node) END AS f2 \
           FROM steps s JOIN {walk} e ON e.fid = s.edge) \
         SELECT -end_pid, ST_AsGeoJSON(ST_Transform(ST_LineMerge(ST_MakeLine( \
             CASE WHEN f1 <= f2 THEN ST_LineSubstring(geom, f1, f2) \
                  ELSE ST_Reverse(ST_LineSubstring(geom, f2, f1)) END ORDER BY path_seq)), 4326), 7) \
         FROM pieces GROUP BY end_pid",
        points = points_sql(points),
    );
    sqlx::query_as(&sql)
        .bind(edges_sql(walk, window))
        .bind(points_sql(points))
        .bind(&ends)
        .fetch_all(pool)
        .await
        .map_err(without_pgrouting)
}

/// The network's edges.
pub async fn edge_count(pool: &PgPool, walk: &QualifiedTable) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM {walk}"))
        .fetch_one(pool)
        .await?)
}
