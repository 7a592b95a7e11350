//! OpenStreetMap extracts: `kreisgeo ingest region.osm.pbf --kind osm` loads a version of two
//! tables — the basemap's and the addresses' features (one table, a `layer` column, served as
//! any collection) and the walking network (`<table>_walk`, the edges a router needs) — in one
//! transaction, so a new extract replaces the old one atomically like every dataset.
//!
//! The layers follow osm2pgsql's flex output and OpenMapTiles, cut down to a county map: see
//! [`layers`]. Anchors: osm2pgsql (what a PBF becomes in PostGIS), imposm (multipolygons).

pub mod change;
pub mod features;
pub mod layers;
pub mod overlay;
pub mod pbf;
pub mod rings;
pub mod store;
pub mod tags;
pub mod walk;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::catalog::{self, Column, ColumnType, DatasetKind};
use crate::db::ident::QualifiedTable;
use crate::error::{Error, Result};
use crate::ingest::copy::CopyEncoder;
use crate::ingest::normalize::{FeatureSink, NormalizedFeature};
use crate::ingest::{IngestError, IngestReport, IngestRequest, Phases, Progress};
use crate::value::Value;
use features::Row;
use overlay::Overlay;

/// The feature table's attribute columns (served names), in order.
pub const COLUMNS: &[(&str, ColumnType)] = &[
    ("layer", ColumnType::Text),
    ("class", ColumnType::Text),
    ("subclass", ColumnType::Text),
    ("name", ColumnType::Text),
    ("name_de", ColumnType::Text),
    ("ref", ColumnType::Text),
    ("brunnel", ColumnType::Text),
    ("osm_layer", ColumnType::Integer),
    ("admin_level", ColumnType::Integer),
    ("rank", ColumnType::Integer),
    ("area_m2", ColumnType::Float),
    ("street", ColumnType::Text),
    ("housenumber", ColumnType::Text),
    ("postcode", ColumnType::Text),
    ("city", ColumnType::Text),
    ("suburb", ColumnType::Text),
    ("osm_type", ColumnType::Text),
    ("osm_id", ColumnType::Integer),
];

/// The catalog columns of the feature table.
pub fn columns() -> Vec<Column> {
    catalog_columns(COLUMNS)
}

fn walk_columns() -> Vec<Column> {
    catalog_columns(store::WALK_COLUMNS)
}

fn catalog_columns(list: &[(&str, ColumnType)]) -> Vec<Column> {
    list.iter()
        .map(|(name, ty)| Column {
            name: (*name).into(),
            original: (*name).into(),
            ty: *ty,
            source: None,
        })
        .collect()
}

/// The name of a version's walking-network table.
pub fn walk_table_name(table_name: &str) -> String {
    format!("{table_name}_walk")
}

/// Loads `req.path`, an OSM PBF extract, as a new version of `req.dataset`.
pub async fn ingest(
    pool: &sqlx::PgPool,
    req: &IngestRequest,
    progress: Arc<dyn Progress>,
) -> Result<IngestReport> {
    let started = Instant::now();
    if !matches!(req.kind, DatasetKind::Osm | DatasetKind::Generic) {
        return Err(IngestError::Profile(format!(
            "an OpenStreetMap extract is loaded as kind osm, not {}",
            req.kind.as_str()
        ))
        .into());
    }
    let format = crate::ingest::detect::Format::OsmPbf;
    let mut phases = Phases::new(progress);
    phases.start("survey");
    let path = req.path.clone();
    let sha256 = crate::ingest::blocking(move || crate::ingest::sha256_file(&path)).await?;
    if let Some(report) = crate::ingest::unchanged(
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
    let source = Source {
        path: req.path.clone(),
        sha256,
        overlay: Overlay::default(),
        changes_applied: 0,
        format,
        bbox: None,
        change: None,
        based_on: None,
    };
    Box::pin(load(pool, req, source, phases, started)).await
}

/// Loads the active version of the extract `req.dataset` with the OsmChange file `changes`
/// (read from `req.path`) applied: the kept extract file read through every change applied
/// since it was loaded and this one, as a new version.
pub async fn apply_change(
    pool: &sqlx::PgPool,
    req: &IngestRequest,
    active: &catalog::Collection,
    changes: &change::Changes,
    progress: Arc<dyn Progress>,
) -> Result<IngestReport> {
    let started = Instant::now();
    let mut phases = Phases::new(progress);
    phases.start("survey");
    let version = &active.version;
    let Some(lineage) = store::lineage(pool, version.id).await? else {
        return Err(IngestError::Profile(format!(
            "version {} of '{}' was loaded before kreisgeo kept the extract's file, which a \
             change file's ways need for the positions of their nodes; load the extract once \
             more, then apply change files",
            version.id, req.dataset
        ))
        .into());
    };
    let mut overlay = match &lineage.overlay {
        Some(bytes) => Overlay::from_osc_gz(bytes).map_err(|e| {
            Error::Internal(format!("the kept changes of version {}: {e}", version.id))
        })?,
        None => Overlay::default(),
    };
    overlay.apply(changes);
    let file = tempfile::Builder::new()
        .prefix("kreisgeo-extract-")
        .suffix(".osm.pbf")
        .tempfile()
        .and_then(|f| Ok((f.reopen()?, f)))
        .map_err(|e| Error::Internal(format!("scratch space for the kept extract: {e}")));
    let (out, file) = file?;
    let mut out = tokio::fs::File::from_std(out);
    if !store::write_extract(pool, &lineage.extract_sha256, &mut out).await? {
        return Err(Error::Internal(format!(
            "the kept extract {} of '{}' is missing",
            lineage.extract_sha256, req.dataset
        )));
    }
    drop(out);
    // A diff's new nodes near the extract count (a later diff's way may use them); a planet
    // diff's elsewhere do not.
    let bbox = version
        .bbox
        .map(|[x0, y0, x1, y1]| [x0 - 0.05, y0 - 0.05, x1 + 0.05, y1 + 0.05]);
    let source = Source {
        path: file.path().to_path_buf(),
        sha256: lineage.extract_sha256,
        overlay,
        changes_applied: lineage.changes_applied + 1,
        format: crate::ingest::detect::Format::OsmChange,
        bbox,
        based_on: Some(version.id),
        change: Some(serde_json::json!({
            "change_file": {
                "nodes": changes.nodes.len(),
                "ways": changes.ways.len(),
                "relations": changes.relations.len(),
            },
        })),
    };
    let report = Box::pin(load(pool, req, source, phases, started)).await;
    drop(file);
    report
}

/// What a version of an extract is read from.
struct Source {
    /// The extract file.
    path: std::path::PathBuf,
    /// The extract file's SHA-256.
    sha256: String,
    /// The change files applied since it was loaded.
    overlay: Overlay,
    changes_applied: i32,
    format: crate::ingest::detect::Format,
    /// Where new nodes matter (CRS84); `None` keeps every changed element.
    bbox: Option<[f64; 4]>,
    /// What the change file held, for the report.
    change: Option<serde_json::Value>,
    /// The version the changes were applied to: it must still be the active one at the switch.
    based_on: Option<i64>,
}

async fn load(
    pool: &sqlx::PgPool,
    req: &IngestRequest,
    source: Source,
    mut phases: Phases,
    started: Instant,
) -> Result<IngestReport> {
    let format = source.format;
    phases.start("read");
    let path = source.path.clone();
    let mut overlay = source.overlay;
    let bbox_for_changes = source.bbox;
    let (extract, overlay, dropped) = crate::ingest::blocking(move || {
        let (mut extract, in_base) = pbf::read(&path, Some(&overlay))?;
        let before = overlay.len();
        if !overlay.is_empty() {
            let all = overlay.clone();
            // Ways the extract holds unchanged (kept because the map or a relation uses them).
            let held: Vec<i64> = extract
                .ways
                .iter()
                .map(|w| w.id)
                .filter(|w| !all.ways.contains_key(w))
                .collect();
            overlay.retain_relevant(
                &in_base,
                bbox_for_changes,
                |n| extract.positions.get(n).is_some(),
                |w| held.binary_search(&w).is_ok(),
            );
            // What the overlay no longer keeps is not drawn either (as the next change file's
            // version would not draw it).
            let [nodes, ways, relations] = overlay.left_out(&all);
            extract
                .points
                .retain(|p| nodes.binary_search(&p.id).is_err());
            extract.ways.retain(|w| ways.binary_search(&w.id).is_err());
            extract
                .relations
                .retain(|r| relations.binary_search(&r.id).is_err());
        }
        let dropped = before - overlay.len();
        Ok::<_, IngestError>((extract, overlay, dropped))
    })
    .await?;
    let overlay_gz = if overlay.is_empty() {
        None
    } else {
        Some(
            overlay
                .to_osc_gz()
                .map_err(|e| Error::Internal(format!("an overlay: {e}")))?,
        )
    };
    // A version's source is the extract file and what was applied to it.
    let sha256 = match &overlay_gz {
        None => source.sha256.clone(),
        Some(gz) => {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(source.sha256.as_bytes());
            h.update(gz);
            hex::encode(h.finalize())
        }
    };
    let is_change = source.change.is_some();
    let change_details = source.change.map(|mut d| {
        d["changes_applied"] = serde_json::json!(source.changes_applied);
        d["overlay_elements"] = serde_json::json!(overlay.len());
        d["outside_the_extract"] = serde_json::json!(dropped);
        d
    });
    if is_change {
        if let Some(mut report) = crate::ingest::unchanged(
            pool,
            &req.dataset,
            Some(&sha256),
            format,
            started,
            &mut phases,
        )
        .await?
        {
            report.details = change_details;
            return Ok(report);
        }
    }
    let [nodes_read, ways_read, relations_read] = extract.read;
    let read: u64 = extract.read.iter().sum();
    if read == 0 {
        return Err(IngestError::Empty.into());
    }

    let mut tx = store::begin(pool).await?;
    if let Some(base) = source.based_on {
        let active = store::lock_active(&mut tx, &req.dataset).await?;
        if active != Some(base) {
            return Err(Error::Conflict(format!(
                "version {} of '{}' is no longer the active one: another change or extract was \
                 loaded meanwhile; apply the change file again",
                base, req.dataset
            )));
        }
    }
    catalog::repo::upsert_dataset(
        &mut tx,
        &req.dataset,
        DatasetKind::Osm,
        req.title.as_deref(),
    )
    .await?;
    let version = catalog::repo::next_version_id(&mut tx).await?;
    let table_name = format!("{}_v{version}", req.dataset.replace('-', "_"));
    let walk_name = walk_table_name(&table_name);
    let (table, walk) = (
        QualifiedTable::data(&table_name),
        QualifiedTable::data(&walk_name),
    );
    let columns = columns();
    store::create_tables(&mut tx, &table, &columns, &walk, &walk_columns()).await?;

    phases.start("load");
    let (features_tx, features_rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let (walk_tx, walk_rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let progress = phases.progress();
    let producer = tokio::task::spawn_blocking(move || {
        encode(&extract, &columns, features_tx, walk_tx, progress.as_ref())
    });
    let names: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
    let walk_names: Vec<&str> = store::WALK_COLUMNS.iter().map(|(n, _)| *n).collect();
    let copied = async {
        store::copy_in(&mut tx, &table, &names, features_rx).await?;
        store::copy_in(&mut tx, &walk, &walk_names, walk_rx).await
    }
    .await;
    let (counts, rows) = producer
        .await
        .map_err(|e| Error::Internal(format!("OSM writer thread failed: {e}")))??;
    copied?;

    phases.start("index");
    let (repaired, bbox) = store::finish(&mut tx, &table, &table_name, &walk, &walk_name).await?;
    let features = u64::try_from(store::count(&mut tx, &table).await?).unwrap_or_default();
    let report = IngestReport {
        dataset: req.dataset.clone(),
        version,
        unchanged: false,
        format: format.name().into(),
        source_crs: Some(4326),
        features,
        read: rows,
        repaired,
        rejected: 0,
        problems: Vec::new(),
        has_z: false,
        columns: self::columns(),
        bbox,
        sha256: sha256.clone(),
        seconds: started.elapsed().as_secs_f64(),
        phases: phases.finish(),
        details: Some(serde_json::json!({
            "change": change_details,
            "elements_read": {
                "nodes": nodes_read, "ways": ways_read, "relations": relations_read
            },
            "layers": counts.layers,
            "walk_edges": counts.walk_edges,
            "open_relations": counts.open_relations,
            "cut_ways": counts.cut_ways,
        })),
        recomputed: Vec::new(),
    };
    catalog::repo::insert_and_activate(
        &mut tx,
        &catalog::repo::NewVersion {
            id: version,
            dataset_id: &req.dataset,
            table_name: &table_name,
            companions: std::slice::from_ref(&walk_name),
            source_name: &req
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source_format: format.name(),
            source_sha256: &sha256,
            source_crs: 4326,
            columns: &report.columns,
            has_z: false,
            tile_sizes: false,
            feature_count: i64::try_from(features).unwrap_or(i64::MAX),
            bbox,
            report: &serde_json::to_value(&report).unwrap_or_default(),
        },
    )
    .await?;
    store::keep_extract(&mut tx, &source.sha256, &source.path).await?;
    store::insert_lineage(
        &mut tx,
        version,
        &store::Lineage {
            extract_sha256: source.sha256.clone(),
            overlay: overlay_gz,
            changes_applied: source.changes_applied,
        },
    )
    .await?;
    catalog::repo::prune_and_drop(&mut tx, &req.dataset, req.keep_versions.max(1)).await?;
    store::drop_unused_extracts(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(
        dataset = %report.dataset,
        version,
        features,
        walk_edges = counts.walk_edges,
        open_relations = counts.open_relations,
        seconds = report.seconds,
        "OSM extract loaded"
    );
    Ok(report)
}

/// The writer thread: encodes the features, then the walking network, as COPY chunks.
fn encode(
    extract: &pbf::Extract,
    columns: &[Column],
    features_tx: tokio::sync::mpsc::Sender<Bytes>,
    walk_tx: tokio::sync::mpsc::Sender<Bytes>,
    progress: &dyn Progress,
) -> Result<(features::Counts, u64), IngestError> {
    let mut encoder = CopyEncoder::new(columns, features_tx);
    let mut feature = NormalizedFeature::default();
    let (edges, counts) = features::emit(extract, |row| {
        fill(&mut feature, &row)?;
        encoder.feature(&feature)?;
        feature.index += 1;
        if encoder.rows().is_multiple_of(10_000) {
            progress.features(encoder.rows());
        }
        Ok(())
    })?;
    encoder.finish()?;
    let rows = encoder.rows();
    drop(encoder);
    let mut edges = edges;
    walk::measure_pieces(&mut edges);
    let mut encoder = CopyEncoder::new(&walk_columns(), walk_tx);
    for (i, e) in edges.iter().enumerate() {
        feature.index = i as u64;
        feature.len = 0;
        feature.properties.clear();
        feature.properties.extend([
            ("source".to_string(), Some(Value::Int(e.source))),
            ("target".to_string(), Some(Value::Int(e.target))),
            ("length_m".to_string(), Some(Value::Float(e.length_m))),
            ("highway".to_string(), Some(Value::Text(e.highway.clone()))),
            ("name".to_string(), e.name.clone().map(Value::Text)),
            ("osm_id".to_string(), Some(Value::Int(e.osm_id))),
            ("piece_edges".to_string(), Some(Value::Int(e.piece_edges))),
        ]);
        feature.len = feature.properties.len();
        let line = geo::Geometry::LineString(geo::LineString::new(e.coords.clone()));
        feature.geometry = Some(ewkb(&line)?);
        encoder.feature(&feature)?;
    }
    encoder.finish()?;
    Ok((counts, rows))
}

/// Sets `feature` to the row's values, in [`COLUMNS`] order.
fn fill(feature: &mut NormalizedFeature, row: &Row<'_>) -> Result<(), IngestError> {
    let tags = row.tags;
    let text = |v: Option<&str>| v.map(|s| Value::Text(s.to_string()));
    let int = |v: Option<i64>| v.map(Value::Int);
    let address = row.address;
    let is_address = address.is_some();
    let brunnel = if tags.get("bridge").is_some_and(|b| b != "no") {
        Some("bridge")
    } else if tags.get("tunnel").is_some_and(|t| t != "no") {
        Some("tunnel")
    } else {
        None
    };
    let values = [
        text(Some(row.layer.as_str())),
        text(Some(row.class)),
        text(row.subclass),
        // An address point carries the house's name only where it has one of its own.
        text(
            tags.get("name")
                .filter(|_| !is_address || tags.get("building").is_none()),
        ),
        text(tags.get("name:de")),
        text(tags.get("ref").filter(|_| !is_address)),
        text(brunnel.filter(|_| !is_address)),
        int(tags
            .get("layer")
            .and_then(|l| l.parse().ok())
            .filter(|_| !is_address)),
        int(row
            .subclass
            .filter(|_| row.layer == layers::Layer::Boundary)
            .and_then(|l| l.parse().ok())),
        int(matches!(row.layer, layers::Layer::Place)
            .then(|| layers::place_rank(row.class))
            .flatten()),
        row.area_m2.map(Value::Float),
        text(address.and_then(|a| a.street.as_deref())),
        text(address.map(|a| a.housenumber.as_str())),
        text(address.and_then(|a| a.postcode.as_deref())),
        text(address.and_then(|a| a.city.as_deref())),
        text(address.and_then(|a| a.suburb.as_deref())),
        text(Some(row.osm_type)),
        int(Some(row.osm_id)),
    ];
    feature.properties.clear();
    feature.properties.extend(
        COLUMNS
            .iter()
            .zip(values)
            .map(|((n, _), v)| ((*n).to_string(), v)),
    );
    feature.len = feature.properties.len();
    feature.geometry = Some(ewkb(&row.geometry)?);
    Ok(())
}

fn ewkb(geometry: &geo::Geometry) -> Result<Vec<u8>, IngestError> {
    use geozero::{CoordDimensions, ToWkb};
    geometry
        .to_ewkb(CoordDimensions::xy(), Some(4326))
        .map_err(|e| IngestError::Parse {
            message: format!("cannot encode an OSM geometry: {e}"),
        })
}
