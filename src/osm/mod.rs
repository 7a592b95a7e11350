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
    phases.start("read");
    let path = req.path.clone();
    let extract = crate::ingest::blocking(move || pbf::read(&path)).await?;
    let [nodes_read, ways_read, relations_read] = extract.read;
    let read: u64 = extract.read.iter().sum();
    if read == 0 {
        return Err(IngestError::Empty.into());
    }

    let mut tx = store::begin(pool).await?;
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
            feature_count: i64::try_from(features).unwrap_or(i64::MAX),
            bbox,
            report: &serde_json::to_value(&report).unwrap_or_default(),
        },
    )
    .await?;
    catalog::repo::prune_and_drop(&mut tx, &req.dataset, req.keep_versions.max(1)).await?;
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
