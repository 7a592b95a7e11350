//! `kreisgeo aed coverage`: for every address, the walking minutes to the nearest public
//! defibrillator accessible around the clock and to the nearest one open at a given moment,
//! and the areas where addresses lie beyond a threshold (the county's coverage gaps), as a new
//! version of a `coverage` dataset (through the ingest, so it is validated, versioned and
//! switched to atomically like any other). A recorded computation is repeated after every new
//! version of its defibrillators, its network or its addresses.
//!
//! Each of the two answers is one Dijkstra over the whole network from a virtual vertex linked
//! to every defibrillator ([`store::reach`]): exact, and a second for a county's addresses.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::PgPool;

use super::coverage_store::{self as cstore, Address, Recorded};
use super::store::{self, Edge, Snap};
use super::Walking;
use crate::catalog::{repo, Collection, DatasetKind};
use crate::db::ident::QualifiedTable;
use crate::error::{Error, Result};
use crate::hours::{self, Land, Moment, OpenState};
use crate::ingest::{self, IngestReport, IngestRequest, Progress};
use crate::opendata::metadata::{DatasetMetadata, Publisher, Text};

/// Minutes on foot beyond which an address lies in a gap, by default: the first minutes of a
/// cardiac arrest decide (the German Resuscitation Council's 3–5 minutes to the first shock).
pub const DEFAULT_THRESHOLD_MIN: f64 = 4.0;
/// The gap areas are the union of circles of this radius around the addresses beyond the
/// threshold: a block's depth, so that neighbouring houses join into one area.
pub const GAP_RADIUS_M: f64 = 50.0;

/// How a moment is written: local German time, as the nearest endpoint's `at`.
pub const AT_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// What to compute.
#[derive(Debug, Clone)]
pub struct Request {
    /// The coverage dataset to write (a new version of it).
    pub dataset: String,
    /// The defibrillators (kind `aed`).
    pub aed: String,
    /// The OpenStreetMap dataset whose walking network is walked (kind `osm`).
    pub network: String,
    /// The addresses (kind `addresses`, or an OSM dataset's address layer); the network's own
    /// addresses when `None`.
    pub addresses: Option<String>,
    pub threshold_min: f64,
    /// The moment of the "open at a given time" answer, German local time; now when `None`.
    pub at: Option<NaiveDateTime>,
    pub walking: Walking,
    pub title: Option<String>,
}

impl Request {
    fn recorded(&self) -> Recorded {
        Recorded {
            dataset_id: self.dataset.clone(),
            aed: self.aed.clone(),
            network: self.network.clone(),
            addresses: self
                .addresses
                .clone()
                .unwrap_or_else(|| self.network.clone()),
            threshold_min: self.threshold_min,
            speed_kmh: self.walking.speed_kmh,
            snap_max_m: self.walking.snap_max_m,
            at: self.at.map(|t| t.format(AT_FORMAT).to_string()),
        }
    }

    fn of(r: Recorded) -> Self {
        Self {
            addresses: (r.addresses != r.network).then_some(r.addresses),
            dataset: r.dataset_id,
            aed: r.aed,
            network: r.network,
            threshold_min: r.threshold_min,
            at: r
                .at
                .and_then(|t| NaiveDateTime::parse_from_str(&t, AT_FORMAT).ok()),
            walking: Walking {
                speed_kmh: r.speed_kmh,
                snap_max_m: r.snap_max_m,
                ..Walking::default()
            },
            title: None,
        }
    }
}

/// The figures of one answer (around the clock, or at the moment).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Tally {
    /// Defibrillators counted (public, and open as the answer asks), placed on the network.
    pub defibrillators: usize,
    pub reachable: usize,
    pub within_threshold: usize,
    pub beyond_threshold: usize,
    /// Addresses no walk reaches from any of them (or farther than the snap distance from
    /// every way).
    pub unreachable: usize,
    pub median_minutes: Option<f64>,
}

/// What was computed from what, and how long each part took.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub dataset: String,
    pub aed: String,
    pub aed_version: i64,
    pub network: String,
    pub network_version: i64,
    pub network_edges: i64,
    pub addresses: String,
    pub addresses_version: i64,
    pub address_count: usize,
    pub threshold_min: f64,
    pub speed_kmh: f64,
    /// German local time of the `at` answer.
    pub at: String,
    /// Defibrillators the public may not use (`access=private/no`), left out of both answers.
    pub not_public: usize,
    /// Defibrillators farther than the snap distance from every way.
    pub unplaced: usize,
    pub around_the_clock: Tally,
    pub at_moment: Tally,
    pub gap_areas: usize,
    /// Seconds per phase: read, snap, route, gaps, load.
    pub phases: Vec<(String, f64)>,
    pub ingest: IngestReport,
}

fn lap(phases: &mut Vec<(String, f64)>, name: &str, clock: &mut Instant) {
    phases.push((name.to_string(), clock.elapsed().as_secs_f64()));
    *clock = Instant::now();
}

async fn collection(pool: &PgPool, id: &str, role: &str) -> Result<Collection> {
    repo::find_collection(pool, id)
        .await?
        .ok_or_else(|| Error::invalid(role, format!("no dataset '{id}'")))
}

fn must_be(c: &Collection, kind: DatasetKind, role: &str, hint: &str) -> Result<()> {
    if c.kind == kind {
        return Ok(());
    }
    Err(Error::invalid(
        role,
        format!(
            "dataset '{}' is of kind {}, not {}: {hint}",
            c.id,
            c.kind.as_str(),
            kind.as_str()
        ),
    ))
}

/// A placed defibrillator: where it meets the network.
type Placed = Snap;

/// The walking metres from an address placed at `at` (on edge `edge`) to the nearest source:
/// through either end of its edge ([`store::reach`] gives the nodes'), or along the edge to a
/// source on the same edge. `None` when no source reaches it.
fn walk_from(at: &Snap, edge: &Edge, reach: &HashMap<i64, f64>, on_edge: &[Placed]) -> Option<f64> {
    let via = |node: i64, along: f64| reach.get(&node).map(|d| d + along);
    let direct = on_edge
        .iter()
        .map(|s| (at.fraction - s.fraction).abs() * edge.length_m + s.snap_m);
    [
        via(edge.source, at.fraction * edge.length_m),
        via(edge.target, (1.0 - at.fraction) * edge.length_m),
    ]
    .into_iter()
    .flatten()
    .chain(direct)
    .min_by(f64::total_cmp)
    .map(|m| m + at.snap_m)
}

fn minutes(m: f64, w: Walking) -> f64 {
    ((m / (w.speed_kmh * 1000.0 / 60.0)) * 10.0).round() / 10.0
}

/// One answer for every address: walking metres (`None`: not reachable).
struct Answer {
    walks: Vec<Option<f64>>,
    tally: Tally,
}

fn answer(
    addresses: &[(Address, Option<Snap>)],
    edges: &HashMap<i64, Edge>,
    reach: &HashMap<i64, f64>,
    sources: &[Placed],
    req: &Request,
) -> Answer {
    let mut on_edge: HashMap<i64, Vec<Placed>> = HashMap::new();
    for s in sources {
        on_edge.entry(s.edge).or_default().push(*s);
    }
    let walks: Vec<Option<f64>> = addresses
        .iter()
        .map(|(_, snap)| {
            let snap = snap.filter(|s| s.snap_m <= req.walking.snap_max_m)?;
            let edge = edges.get(&snap.edge)?;
            let here = on_edge.get(&snap.edge).map_or(&[][..], Vec::as_slice);
            walk_from(&snap, edge, reach, here)
        })
        .collect();
    let mut sorted: Vec<f64> = walks.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let threshold_m = req.threshold_min * req.walking.speed_kmh * 1000.0 / 60.0;
    let within = sorted.iter().filter(|m| **m <= threshold_m).count();
    let tally = Tally {
        defibrillators: sources.len(),
        reachable: sorted.len(),
        within_threshold: within,
        beyond_threshold: sorted.len() - within,
        unreachable: walks.len() - sorted.len(),
        median_minutes: sorted
            .get(sorted.len() / 2)
            .map(|m| minutes(*m, req.walking)),
    };
    Answer { walks, tally }
}

/// The land whose public holidays count: the publisher's.
async fn land(pool: &PgPool) -> Option<Land> {
    repo::publisher::<Publisher>(pool)
        .await
        .ok()
        .flatten()
        .and_then(|p| p.district_key)
        .and_then(|k| Land::of_key(&k))
}

/// Computes the coverage and loads it as a new version of `req.dataset`; records the
/// computation so that new versions of its inputs repeat it.
pub async fn compute(pool: &PgPool, req: &Request, progress: Arc<dyn Progress>) -> Result<Report> {
    if !(req.threshold_min > 0.0 && req.threshold_min <= 120.0) {
        return Err(Error::invalid(
            "threshold",
            "the threshold is 0 to 120 minutes",
        ));
    }
    let mut phases = Vec::new();
    let mut clock = Instant::now();
    progress.phase("read");
    let aed = collection(pool, &req.aed, "aed").await?;
    must_be(
        &aed,
        DatasetKind::Aed,
        "aed",
        "load defibrillators with --kind aed",
    )?;
    let network = collection(pool, &req.network, "network").await?;
    must_be(
        &network,
        DatasetKind::Osm,
        "network",
        "load an OpenStreetMap extract with --kind osm",
    )?;
    let addresses_id = req.addresses.as_deref().unwrap_or(&req.network);
    let addresses = collection(pool, addresses_id, "addresses").await?;
    if !store::enable(pool).await {
        return Err(Error::invalid(
            "network",
            "the coverage is walked with pgRouting, which this database server lacks \
             (Debian: apt-get install postgresql-15-pgrouting; then CREATE EXTENSION pgrouting)",
        ));
    }
    let walk = QualifiedTable::data(crate::osm::walk_table_name(&network.version.table_name));
    let at = req.at.unwrap_or_else(hours::now_in_germany);
    let moment = Moment::new(at, land(pool).await);
    let rules = cstore::aed_rules(pool, &aed.version).await?;
    let address_rows = cstore::addresses(pool, &addresses.version, addresses.kind).await?;
    if address_rows.is_empty() {
        return Err(Error::invalid(
            "addresses",
            format!("dataset '{addresses_id}' holds no addresses"),
        ));
    }
    lap(&mut phases, "read", &mut clock);

    progress.phase("snap");
    let aed_snaps: HashMap<i64, Snap> = store::snap_all(pool, &walk, &aed.version.table(), None)
        .await?
        .into_iter()
        .map(|s| (s.pid - 1, s))
        .collect();
    let layer = (addresses.kind == DatasetKind::Osm).then_some(cstore::OSM_ADDRESSES);
    let address_snaps: HashMap<i64, Snap> =
        store::snap_all(pool, &walk, &addresses.version.table(), layer)
            .await?
            .into_iter()
            .map(|s| (s.pid - 1, s))
            .collect();
    let placed: Vec<(Address, Option<Snap>)> = address_rows
        .into_iter()
        .map(|a| {
            let snap = address_snaps.get(&a.fid).copied();
            (a, snap)
        })
        .collect();
    let mut ids: Vec<i64> = placed
        .iter()
        .filter_map(|(_, s)| s.map(|s| s.edge))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let edges = store::edges(pool, &walk, &ids).await?;
    lap(&mut phases, "snap", &mut clock);

    progress.phase("route");
    let mut not_public = 0;
    let mut unplaced = 0;
    let (mut always, mut open) = (Vec::new(), Vec::new());
    let mut judged: HashMap<Option<String>, (bool, bool)> = HashMap::new();
    for (fid, access, hours) in &rules {
        if access
            .as_deref()
            .is_some_and(|a| crate::aed::NOT_PUBLIC.contains(&a))
        {
            not_public += 1;
            continue;
        }
        let Some(snap) = aed_snaps
            .get(fid)
            .filter(|s| s.snap_m <= req.walking.snap_max_m)
        else {
            unplaced += 1;
            continue;
        };
        let (is_always, is_open) = *judged.entry(hours.clone()).or_insert_with(|| {
            (
                moment.always_open(hours.as_deref()),
                moment.state(hours.as_deref()) == OpenState::Open,
            )
        });
        if is_always {
            always.push(*snap);
        }
        if is_open {
            open.push(*snap);
        }
    }
    let reach_always = store::reach(pool, &walk, &always).await?;
    let reach_open = store::reach(pool, &walk, &open).await?;
    let day_and_night = answer(&placed, &edges, &reach_always, &always, req);
    let at_moment = answer(&placed, &edges, &reach_open, &open, req);
    lap(&mut phases, "route", &mut clock);

    progress.phase("gaps");
    let threshold_m = req.threshold_min * req.walking.speed_kmh * 1000.0 / 60.0;
    let beyond: Vec<(f64, f64, Option<f64>)> = placed
        .iter()
        .zip(&day_and_night.walks)
        .filter(|(_, w)| w.is_none_or(|m| m > threshold_m))
        .map(|((a, _), w)| (a.lon, a.lat, w.map(|m| minutes(m, req.walking))))
        .collect();
    let gaps = cstore::gaps(pool, &beyond, GAP_RADIUS_M).await?;
    lap(&mut phases, "gaps", &mut clock);

    progress.phase("load");
    let file = write(&placed, &day_and_night, &at_moment, &gaps, req)?;
    let ingest = ingest::ingest(
        pool,
        &IngestRequest {
            kind: DatasetKind::Coverage,
            title: Some(req.title.clone().unwrap_or_else(|| {
                format!(
                    "Erreichbarkeit öffentlicher Defibrillatoren zu Fuß (Versorgungslücken über {} min)",
                    format_minutes(req.threshold_min)
                )
            })),
            ..IngestRequest::new(file.path(), &req.dataset)
        },
        progress.clone(),
    )
    .await?;
    let mut metadata: DatasetMetadata = repo::metadata(pool, &req.dataset)
        .await?
        .unwrap_or_default();
    metadata.provenance = Some(provenance(req, &aed, &network, &addresses, at));
    repo::set_metadata(pool, &req.dataset, &metadata).await?;
    cstore::record(pool, &req.recorded()).await?;
    lap(&mut phases, "load", &mut clock);
    let network_edges = store::edge_count(pool, &walk).await?;
    Ok(Report {
        dataset: req.dataset.clone(),
        aed: aed.id.clone(),
        aed_version: aed.version.id,
        network: network.id.clone(),
        network_version: network.version.id,
        network_edges,
        addresses: addresses.id.clone(),
        addresses_version: addresses.version.id,
        address_count: placed.len(),
        threshold_min: req.threshold_min,
        speed_kmh: req.walking.speed_kmh,
        at: at.format(AT_FORMAT).to_string(),
        not_public,
        unplaced,
        around_the_clock: day_and_night.tally,
        at_moment: at_moment.tally,
        gap_areas: gaps.len(),
        phases,
        ingest,
    })
}

/// Repeats every recorded computation that reads `dataset_id`, after a new version of it.
/// A computation that fails is logged and left at its last version.
pub async fn after_ingest(pool: &PgPool, dataset_id: &str) -> Vec<(String, Result<Report>)> {
    let recorded = match cstore::reading(pool, dataset_id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "reading the recorded coverage computations");
            return Vec::new();
        }
    };
    let mut done = Vec::new();
    for r in recorded {
        let req = Request::of(r);
        let result = compute(pool, &req, Arc::new(ingest::NoProgress)).await;
        match &result {
            Ok(report) => tracing::info!(
                dataset = %req.dataset,
                input = dataset_id,
                version = report.ingest.version,
                beyond = report.around_the_clock.beyond_threshold,
                "coverage recomputed after a new version of its input"
            ),
            Err(e) => tracing::warn!(
                dataset = %req.dataset,
                input = dataset_id,
                error = %e,
                "coverage not recomputed; its last version stays served"
            ),
        }
        done.push((req.dataset, result));
    }
    done
}

fn format_minutes(m: f64) -> String {
    if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m}").replace('.', ",")
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The gap areas (first, so that a client reading one page sees them) and the addresses with
/// their minutes, as a GeoJSON file in lon/lat.
fn write(
    placed: &[(Address, Option<Snap>)],
    always: &Answer,
    open: &Answer,
    gaps: &[cstore::Gap],
    req: &Request,
) -> Result<tempfile::NamedTempFile> {
    let file = tempfile::Builder::new()
        .suffix(".geojson")
        .tempfile()
        .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
    let mut out = std::io::BufWriter::new(file.as_file());
    let io = |e: std::io::Error| Error::Internal(format!("writing the result: {e}"));
    let json = |e: serde_json::Error| Error::Internal(format!("writing the result: {e}"));
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")
        .map_err(io)?;
    let mut first = true;
    let mut feature = |out: &mut std::io::BufWriter<&std::fs::File>, f: serde_json::Value| {
        if !first {
            out.write_all(b",").map_err(io)?;
        }
        first = false;
        serde_json::to_writer(&mut *out, &f).map_err(json)
    };
    let threshold_m = req.threshold_min * req.walking.speed_kmh * 1000.0 / 60.0;
    for gap in gaps {
        let geometry: serde_json::Value = serde_json::from_str(&gap.geometry).map_err(json)?;
        feature(
            &mut out,
            serde_json::json!({
                "type": "Feature",
                "properties": {
                    "part": "gap",
                    "threshold_min": req.threshold_min,
                    "addresses": gap.addresses,
                    "max_minutes": gap.max_minutes,
                    "unreachable": gap.unreachable,
                    "area_m2": gap.area_m2.round(),
                },
                "geometry": geometry,
            }),
        )?;
    }
    for (((a, snap), w24), wat) in placed.iter().zip(&always.walks).zip(&open.walks) {
        feature(
            &mut out,
            serde_json::json!({
                "type": "Feature",
                "properties": {
                    "part": "address",
                    "address_fid": a.fid,
                    "street": a.street,
                    "house_number": a.house_number,
                    "postcode": a.postcode,
                    "locality": a.locality,
                    "snap_m": snap.map(|s| round(s.snap_m)),
                    "walk_m_24h": w24.map(round),
                    "minutes_24h": w24.map(|m| minutes(m, req.walking)),
                    "walk_m_at": wat.map(round),
                    "minutes_at": wat.map(|m| minutes(m, req.walking)),
                    "beyond_threshold": w24.is_none_or(|m| m > threshold_m),
                },
                "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
            }),
        )?;
    }
    out.write_all(b"]}").map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    Ok(file)
}

/// What the result was computed from and how, for people (DCAT's `dct:provenance`).
fn provenance(
    req: &Request,
    aed: &Collection,
    network: &Collection,
    addresses: &Collection,
    at: NaiveDateTime,
) -> Text {
    let at = at.format("%d.%m.%Y %H:%M");
    Text {
        de: format!(
            "Berechnet von kreisgeo: Gehweg von jeder Adresse des Datensatzes {} (Version {}) \
             zum nächsten öffentlich zugänglichen Defibrillator des Datensatzes {} (Version {}) \
             auf dem Fußwegenetz des OpenStreetMap-Datensatzes {} (Version {}; pgRouting, \
             Kantenlängen auf dem Ellipsoid), einmal zu den rund um die Uhr zugänglichen \
             (minutes_24h) und einmal zu den am {} geöffneten (minutes_at); Gehgeschwindigkeit \
             {} km/h; Adressen und Geräte mehr als {} m vom nächsten Weg gelten als nicht \
             erreichbar. Versorgungslücken (part = gap): Umkreis von {} m um jede Adresse mit \
             mehr als {} Minuten Fußweg zum nächsten rund um die Uhr zugänglichen Gerät.",
            addresses.id,
            addresses.version.id,
            aed.id,
            aed.version.id,
            network.id,
            network.version.id,
            at,
            format_minutes(req.walking.speed_kmh),
            req.walking.snap_max_m,
            GAP_RADIUS_M,
            format_minutes(req.threshold_min),
        ),
        en: Some(format!(
            "Computed by kreisgeo: the walk from every address of dataset {} to the nearest \
             public defibrillator of dataset {} over the walking network of OpenStreetMap \
             dataset {} (pgRouting), to those accessible around the clock (minutes_24h) and to \
             those open at {} (minutes_at), at {} km/h. Gaps (part = gap): {} m around every \
             address more than {} minutes from the nearest one accessible around the clock.",
            addresses.id,
            aed.id,
            network.id,
            at,
            req.walking.speed_kmh,
            GAP_RADIUS_M,
            req.threshold_min,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(edge: i64, fraction: f64, snap_m: f64) -> Snap {
        Snap {
            pid: 0,
            edge,
            fraction,
            snap_m,
        }
    }

    #[test]
    fn the_shorter_way_round_or_along_the_edge() {
        let edge = Edge {
            source: 1,
            target: 2,
            length_m: 100.0,
        };
        let reach: HashMap<i64, f64> = [(1, 500.0), (2, 30.0)].into();
        // Through the target: 30 + 40 m along, plus the 5 m leg.
        let at = snap(7, 0.6, 5.0);
        assert_eq!(walk_from(&at, &edge, &reach, &[]), Some(75.0));
        // A defibrillator on the same edge, 10 m along and 2 m off it, is nearer.
        let here = [snap(7, 0.5, 2.0)];
        assert!((walk_from(&at, &edge, &reach, &here).unwrap() - 17.0).abs() < 1e-9);
        // Neither end reached and none on the edge: no walk.
        assert_eq!(walk_from(&at, &edge, &HashMap::new(), &[]), None);
    }
}
