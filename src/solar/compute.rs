//! `kreisgeo solar compute`: the served version of a roofs dataset and a typical year in, a
//! new version of a solar dataset out (through the ingest, so it is validated, versioned and
//! switched to atomically like any other), with a report of what was done.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use sqlx::PgPool;

use super::model::Sky;
use super::roof::{self, Settings, SunBins};
use super::{locate, store, sun, weather};
use crate::catalog::{repo, DatasetKind};
use crate::error::{Error, Result};
use crate::ingest::{self, IngestReport, IngestRequest, Progress};
use crate::opendata::metadata::{DatasetMetadata, Text};

/// What to compute.
#[derive(Debug, Clone)]
pub struct Request {
    /// The roofs dataset (kind `roofs`).
    pub roofs: String,
    pub weather: PathBuf,
    /// The solar dataset to write.
    pub dataset: String,
    pub title: Option<String>,
    /// Buildings whose owners objected (Widerspruch): building ids, or the
    /// Flurstückskennzeichen of their parcels when `parcels` names the parcels dataset.
    pub opt_out: HashSet<String>,
    /// The parcels dataset that objections by Flurstückskennzeichen refer to.
    pub parcels: Option<String>,
    pub settings: Settings,
}

/// What was computed from what, and how long each part took.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub roofs_dataset: String,
    pub roofs_version: i64,
    pub weather_file: String,
    pub weather_source: String,
    pub weather_attribution: String,
    pub weather_license: String,
    pub latitude: f64,
    pub longitude: f64,
    pub roofs: usize,
    pub left_out_by_objection: usize,
    pub buildings_objecting: usize,
    /// Roof polygons left out as no roof can be: wider than 1 km, or not finite.
    pub left_out_implausible: usize,
    pub suitable: usize,
    pub obstacle_triangles: usize,
    pub sun_directions: usize,
    pub best_irradiation_kwh_m2a: f64,
    pub settings: SettingsReport,
    /// Seconds per phase: read, sun, scene, roofs, load.
    pub phases: Vec<(String, f64)>,
    pub ingest: IngestReport,
}

/// The model parameters as the report and the metadata name them.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsReport {
    pub setback_m: f64,
    pub min_module_area_m2: f64,
    pub flat_below_deg: f64,
    pub flat_module_tilt_deg: f64,
    pub flat_module_azimuth_deg: f64,
    pub ground_coverage_ratio: f64,
    pub kwp_per_m2: f64,
    pub grid_m: f64,
    pub search_radius_m: f64,
    pub albedo: f64,
    pub martin_ruiz_a_r: f64,
    pub gamma_per_k: f64,
    pub system_losses: f64,
    pub co2_kg_per_kwh: f64,
}

impl From<&Settings> for SettingsReport {
    fn from(s: &Settings) -> Self {
        Self {
            setback_m: s.setback,
            min_module_area_m2: s.min_area,
            flat_below_deg: s.flat_below,
            flat_module_tilt_deg: s.flat_tilt,
            flat_module_azimuth_deg: s.flat_azimuth,
            ground_coverage_ratio: s.gcr,
            kwp_per_m2: s.kwp_per_m2,
            grid_m: s.grid,
            search_radius_m: s.radius,
            albedo: s.model.albedo,
            martin_ruiz_a_r: s.model.a_r,
            gamma_per_k: s.model.gamma,
            system_losses: s.model.losses,
            co2_kg_per_kwh: s.co2_kg_per_kwh,
        }
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Ends a phase: its seconds into `phases`, the clock restarted.
fn lap(phases: &mut Vec<(String, f64)>, name: &str, clock: &mut Instant) {
    phases.push((name.to_string(), round(clock.elapsed().as_secs_f64(), 3)));
    *clock = Instant::now();
}

/// The arithmetic of a computation, run off the async runtime.
struct Blocking {
    rows: Vec<store::RoofRow>,
    opt_out: HashSet<String>,
    settings: Settings,
    srid: i32,
    progress: Arc<dyn Progress>,
}

/// What it leaves: the result as a GeoJSON file and its figures.
struct Computed {
    file: tempfile::NamedTempFile,
    roofs: usize,
    left_out: usize,
    buildings_objecting: usize,
    suitable: usize,
    triangles: usize,
    sun_directions: usize,
    best: f64,
    phases: Vec<(String, f64)>,
}

impl Blocking {
    fn run(self, weather: &weather::Weather, latitude: f64, longitude: f64) -> Result<Computed> {
        let Self {
            rows,
            opt_out,
            settings,
            srid,
            progress,
        } = self;
        let mut phases = Vec::new();
        let mut clock = Instant::now();
        progress.phase("sun");
        let suns =
            sun::hourly(weather, latitude, longitude).map_err(|e| Error::invalid("weather", e))?;
        let sky = Sky::new(weather, suns);
        let bins = SunBins::new(&sky);
        let best = roof::best_irradiation(&sky, &settings.model);
        lap(&mut phases, "sun", &mut clock);

        progress.phase("scene");
        // Every building shades, whether its owner objected or not.
        let inputs: Vec<roof::RoofInput> = rows.iter().map(|r| r.input.clone()).collect();
        let scene = roof::scene(&inputs);
        lap(&mut phases, "scene", &mut clock);

        progress.phase("roofs");
        let kept: Vec<&store::RoofRow> = rows
            .iter()
            .filter(|r| !opt_out.contains(&r.input.building))
            .collect();
        let done = AtomicU64::new(0);
        let results: Vec<(&store::RoofRow, roof::Potential)> = kept
            .par_iter()
            .filter_map(|row| {
                let p = roof::potential(&row.input.rings, &scene, &sky, &bins, best, &settings);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(64) {
                    progress.features(n);
                }
                p.map(|p| (*row, p))
            })
            .collect();
        lap(&mut phases, "roofs", &mut clock);

        progress.phase("write");
        let file = write(&results, srid)?;
        let suitable = results
            .iter()
            .filter(|(_, p)| p.suitability != "nicht geeignet")
            .count();
        let objecting: HashSet<&String> = rows
            .iter()
            .filter(|r| opt_out.contains(&r.input.building))
            .map(|r| &r.input.building)
            .collect();
        lap(&mut phases, "write", &mut clock);
        Ok(Computed {
            file,
            roofs: results.len(),
            left_out: rows.len() - kept.len(),
            buildings_objecting: objecting.len(),
            suitable,
            triangles: scene.triangles(),
            sun_directions: bins.directions.len(),
            best,
            phases,
        })
    }
}

/// The roofs' potentials as a GeoJSON file in the metric CRS `srid` (3D polygons).
fn write(
    results: &[(&store::RoofRow, roof::Potential)],
    srid: i32,
) -> Result<tempfile::NamedTempFile> {
    let file = tempfile::Builder::new()
        .suffix(".geojson")
        .tempfile()
        .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
    let mut out = std::io::BufWriter::new(file.as_file());
    let io = |e: std::io::Error| Error::Internal(format!("writing the result: {e}"));
    write!(
        out,
        "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{srid}\"}}}},\"features\":["
    )
    .map_err(io)?;
    for (i, (row, p)) in results.iter().enumerate() {
        let feature = serde_json::json!({
            "type": "Feature",
            "properties": {
                "building_id": row.input.building,
                "roof_id": row.roof_id,
                "tilt_deg": round(p.tilt, 1),
                "azimuth_deg": p.azimuth.map(|a| round(a, 1)),
                "area_m2": round(p.area, 2),
                "usable_area_m2": round(p.usable_area, 2),
                "module_area_m2": round(p.module_area, 2),
                "irradiation_kwh_m2a": round(p.irradiation, 1),
                "shading_pct": round(p.shading_pct, 1),
                "kwp": round(p.kwp, 2),
                "yield_kwh_a": round(p.yield_kwh, 0),
                "specific_yield_kwh_kwp": round(p.specific_yield, 1),
                "co2_saving_kg_a": round(p.co2_kg, 0),
                "suitability": p.suitability,
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": row.input.rings,
            }
        });
        if i > 0 {
            out.write_all(b",").map_err(io)?;
        }
        serde_json::to_writer(&mut out, &feature)
            .map_err(|e| Error::Internal(format!("writing the result: {e}")))?;
    }
    out.write_all(b"]}").map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    Ok(file)
}

/// What the result was computed from and how, for people (DCAT's `dct:provenance`).
fn provenance(req: &Request, roofs: &crate::catalog::Version, w: &weather::Weather) -> Text {
    let s = &req.settings;
    let file = req.weather.file_name().map_or_else(
        || req.weather.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    Text {
        de: format!(
            "Berechnet von kreisgeo aus den LoD2-Dachflächen des Datensatzes {} (Version {}, \
             geladen {}) und dem Wetterjahr {} ({}; {}; Lizenz: {}). Modell: Sonnenstand NREL SPA, \
             Einstrahlung Hay-Davies (Albedo {}), Verschattung durch alle Gebäude im Umkreis von \
             {} m (Raster {} m), Reflexionsverluste Martin-Ruiz (a_r {}), Modultemperatur \
             Faiman, Temperaturkoeffizient {} %/K, Systemverluste {} %, {} kWp/m², Randabstand \
             {} m, Mindestmodulfläche {} m², CO₂-Faktor {} kg/kWh (UBA, Strommix 2023).",
            roofs.dataset_id,
            roofs.id,
            roofs.created_at,
            file,
            w.source,
            w.attribution,
            w.license,
            s.model.albedo,
            s.radius,
            s.grid,
            s.model.a_r,
            s.model.gamma * 100.0,
            s.model.losses * 100.0,
            s.kwp_per_m2,
            s.setback,
            s.min_area,
            s.co2_kg_per_kwh
        ),
        en: Some(format!(
            "Computed by kreisgeo from the LoD2 roof surfaces of dataset {} (version {}) and the \
             weather year {} ({}; {}; licence: {}): NREL SPA, Hay-Davies, shading by every building within \
             {} m, Martin-Ruiz, Faiman, {} % system losses.",
            roofs.dataset_id,
            roofs.id,
            file,
            w.source,
            w.attribution,
            w.license,
            s.radius,
            s.model.losses * 100.0
        )),
    }
}

/// Computes the potential of every roof and loads it as a new version of `req.dataset`.
pub async fn compute(pool: &PgPool, req: &Request, progress: Arc<dyn Progress>) -> Result<Report> {
    let mut phases = Vec::new();
    let mut clock = Instant::now();
    progress.phase("read");
    let collection = repo::find_collection(pool, &req.roofs)
        .await?
        .ok_or_else(|| Error::not_found("dataset", &req.roofs))?;
    if collection.kind != DatasetKind::Roofs {
        return Err(Error::invalid(
            "roofs",
            format!(
                "dataset '{}' is of kind {}, not roofs: load LoD2 tiles with --kind roofs",
                req.roofs,
                collection.kind.as_str()
            ),
        ));
    }
    let weather =
        weather::read(&req.weather).map_err(|e| Error::invalid("weather", e.to_string()))?;
    let (latitude, longitude) = locate(pool, &weather).await?;
    let rows = store::roofs(pool, &collection.version).await?;
    let mut opt_out = req.opt_out.clone();
    if let Some(parcels) = &req.parcels {
        let keys: Vec<String> = req
            .opt_out
            .iter()
            .filter(|k| crate::ingest::profile::is_parcel_key(k))
            .cloned()
            .collect();
        let parcels = repo::find_collection(pool, parcels)
            .await?
            .ok_or_else(|| Error::not_found("dataset", parcels))?;
        if !keys.is_empty() {
            opt_out.extend(
                store::buildings_on_parcels(pool, &collection.version, &parcels.version, &keys)
                    .await?,
            );
        }
    }
    lap(&mut phases, "read", &mut clock);

    let mut rows = rows;
    let read = rows.len();
    rows.retain(|r| roof::plausible(&r.input.rings));
    let implausible = read - rows.len();
    if implausible > 0 {
        tracing::warn!(
            implausible,
            "roof polygons wider than 1 km or not finite left out"
        );
    }
    let work = Blocking {
        rows,
        opt_out,
        settings: req.settings,
        srid: store::metric_srid(&collection.version),
        progress: progress.clone(),
    };
    // Minutes of arithmetic: on a blocking thread (and rayon's), never on the server's.
    let (weather, done) = tokio::task::spawn_blocking(move || {
        let done = work.run(&weather, latitude, longitude);
        (weather, done)
    })
    .await
    .map_err(|e| Error::Internal(format!("the computation stopped: {e}")))?;
    let done = done?;
    phases.extend(done.phases.iter().cloned());
    clock = Instant::now();
    let file = done.file;
    let ingest = ingest::ingest(
        pool,
        &IngestRequest {
            kind: DatasetKind::Solar,
            title: req.title.clone(),
            ..IngestRequest::new(file.path(), &req.dataset)
        },
        progress.clone(),
    )
    .await?;
    // The inputs and the model as the catalog's provenance of the new version.
    let mut metadata: DatasetMetadata = repo::metadata(pool, &req.dataset)
        .await?
        .unwrap_or_default();
    metadata.provenance = Some(provenance(req, &collection.version, &weather));
    repo::set_metadata(pool, &req.dataset, &metadata).await?;
    lap(&mut phases, "load", &mut clock);
    Ok(Report {
        roofs_dataset: req.roofs.clone(),
        roofs_version: collection.version.id,
        weather_file: req.weather.display().to_string(),
        weather_source: weather.source.to_string(),
        weather_attribution: weather.attribution.to_string(),
        weather_license: weather.license.to_string(),
        latitude: round(latitude, 5),
        longitude: round(longitude, 5),
        roofs: done.roofs,
        left_out_by_objection: done.left_out,
        buildings_objecting: done.buildings_objecting,
        left_out_implausible: implausible,
        suitable: done.suitable,
        obstacle_triangles: done.triangles,
        sun_directions: done.sun_directions,
        best_irradiation_kwh_m2a: round(done.best, 1),
        settings: SettingsReport::from(&req.settings),
        phases,
        ingest,
    })
}
