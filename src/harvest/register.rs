//! One register from several sources: each source's answer is read into features with their
//! attributes under the names of the dataset kind's profile (so that `Betreiber` of one source
//! and `operator` of another are compared), kept per source in the database with the time it
//! last changed, and after a source brings something new the register is merged from what
//! every source gave last ([`super::merge`]) and loaded through the ingest as a new version.
//! A source that answers "unchanged" or fails still contributes what it gave last.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use sqlx::PgPool;

use super::merge::{self, Merged, Rules};
use super::store::{self, SourceRow};
use crate::catalog::DatasetKind;
use crate::ingest::detect::{self, Format};
use crate::ingest::formats::{self, ReadOptions};
use crate::ingest::normalize::{FeatureSink, NormalizeOptions, NormalizedFeature, Normalizer};
use crate::ingest::schema::SchemaInferrer;
use crate::ingest::{self, profile, IngestError, IngestRequest, NoProgress};
use crate::value::Value;

/// One feature of a source as read: its geometry (EWKB, in the answer's CRS) and attributes.
#[derive(Debug, Clone)]
pub struct Staged {
    pub remote_id: String,
    pub wkb: Vec<u8>,
    pub attrs: Map<String, Json>,
}

/// A source's answer, read.
#[derive(Debug)]
pub struct Answer {
    /// The CRS of the geometries (EPSG code).
    pub srid: i32,
    pub features: Vec<Staged>,
    /// Features without a geometry, left out.
    pub without_geometry: u64,
}

/// Properties kreisgeo writes into a register itself; a source's own (another register's) are
/// dropped, so that provenance is always this register's.
const OWN: [&str; 4] = [
    "sources",
    "hours_conflict",
    "opening_hours_sources",
    "remote_id",
];

/// Reads `files` (one answer of a source: a file, or a WFS's pages) as features of `kind`.
pub fn read(
    files: &[PathBuf],
    kind: DatasetKind,
    crs: Option<i32>,
    mapping: &[(String, String)],
) -> Result<Answer, IngestError> {
    let Some((first, more)) = files.split_first() else {
        return Err(IngestError::Empty);
    };
    let single = formats::archive::unpack_single(first)?;
    let path: &Path = single.as_ref().map_or(first.as_path(), |s| &s.file);
    let format = detect::detect(path)?;
    let unpacked = match format {
        Format::Shapefile => formats::unpack_once(path)?,
        Format::OsmPbf => {
            return Err(IngestError::Profile(
                "an OpenStreetMap extract is a dataset of its own, not a register's source".into(),
            ))
        }
        _ => None,
    };
    let path = unpacked.as_ref().map_or(path, |u| &u.shp);
    let options = ReadOptions {
        kind: Some(kind),
        more_files: more.to_vec(),
        ..ReadOptions::default()
    };
    let mut reader = formats::open(format, path, &options);
    let mut sink = Collect::default();
    let mut normalizer = Normalizer::new(
        &mut sink,
        NormalizeOptions {
            build_geometry: true,
            srid: 0,
            with_z: false,
        },
    );
    let declared = reader.read(&mut normalizer)?;
    let unmatched = normalizer.unmatched_crs().map(str::to_string);
    drop(normalizer);
    let missing = match unmatched {
        Some(name) => IngestError::UnmatchedCrs(name),
        None => IngestError::MissingCrs,
    };
    let srid = crs.or(declared).or(reader.default_crs()).ok_or(missing)?;
    if sink.inferrer.features() == 0 {
        return Err(IngestError::Empty);
    }
    // The profile names the attributes as the register serves them.
    let mut columns = sink.inferrer.columns();
    profile::apply(kind, &mut columns, mapping)?;
    let served: HashMap<String, String> = columns
        .iter()
        .map(|c| (c.source_name().to_string(), c.original.clone()))
        .collect();
    let mut features = Vec::with_capacity(sink.rows.len());
    let mut without_geometry = 0;
    for (index, props, wkb) in sink.rows {
        let Some(wkb) = wkb else {
            without_geometry += 1;
            continue;
        };
        let mut attrs = Map::new();
        for (name, value) in props {
            let name = served.get(&name).cloned().unwrap_or(name);
            attrs.insert(name, value.map_or(Json::Null, json));
        }
        let remote_id = remote_id(&attrs).unwrap_or_else(|| format!("#{index}"));
        for own in OWN {
            attrs.remove(own);
        }
        features.push(Staged {
            remote_id,
            wkb,
            attrs,
        });
    }
    Ok(Answer {
        srid,
        features,
        without_geometry,
    })
}

/// The id the source gives a feature: another kreisgeo's or OGC API's (`remote_id`, as the
/// harvest writes it), OpenStreetMap's (`node/123`), or an `id`, `gml_id` or `fid` attribute.
fn remote_id(attrs: &Map<String, Json>) -> Option<String> {
    let text = |k: &str| match attrs.get(k) {
        Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let (Some(t), Some(id)) = (text("osm_type"), text("osm_id")) {
        return Some(format!("{t}/{id}"));
    }
    ["remote_id", "id", "gml_id", "fid"]
        .iter()
        .find_map(|k| text(k))
}

fn json(v: Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(b),
        Value::Int(n) => Json::from(n),
        Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s),
        Value::Json(s) => serde_json::from_str(&s).unwrap_or(Json::String(s)),
    }
}

type Row = (u64, Vec<(String, Option<Value>)>, Option<Vec<u8>>);

/// Keeps every feature and learns the columns' types on the way (the profile needs them).
#[derive(Default)]
struct Collect {
    inferrer: SchemaInferrer,
    rows: Vec<Row>,
}

impl FeatureSink for Collect {
    fn declare_columns(&mut self, names: &[String]) {
        self.inferrer.declare_columns(names);
    }

    fn feature(&mut self, feature: &NormalizedFeature) -> Result<(), IngestError> {
        self.inferrer.feature(feature)?;
        self.rows.push((
            feature.index,
            feature.props().to_vec(),
            feature.geometry.clone(),
        ));
        Ok(())
    }
}

/// What counts as one feature in a register of `kind`: only defibrillators are deduplicated
/// (the same device listed by several registers); features of other kinds are all kept.
pub fn rules(kind: DatasetKind) -> Rules {
    match kind {
        DatasetKind::Aed => Rules::aed(),
        _ => Rules::distinct(),
    }
}

/// The register after `source` brought `answer`: staged, merged with what the dataset's other
/// sources gave last and loaded. The new version, `None` when the register is as served, and
/// how many features it has.
pub async fn update(
    pool: &PgPool,
    source: &SourceRow,
    answer: Answer,
) -> crate::error::Result<(Option<i64>, u64)> {
    let kind = DatasetKind::parse(&source.dataset_kind).unwrap_or(DatasetKind::Generic);
    if answer.without_geometry > 0 {
        tracing::warn!(
            source = source.id,
            left_out = answer.without_geometry,
            "features without a geometry are not in the register"
        );
    }
    store::stage(pool, source.id, answer.srid, &answer.features).await?;
    // Of several nodes or sources, one merges a dataset at a time, each from what is staged
    // when it starts.
    let dataset = source.dataset_id.clone();
    store::merging(pool, &dataset, async {
        let candidates = store::staged(pool, &dataset).await?;
        let merged = merge::merge(candidates, &rules(kind));
        let count = merged.len() as u64;
        let file = tokio::task::spawn_blocking(move || write_geojson(&merged))
            .await
            .map_err(|e| crate::error::Error::Internal(format!("writing the register: {e}")))?
            .map_err(|e| IngestError::io(Path::new("register.geojson"), e))?;
        let request = IngestRequest {
            kind,
            ..IngestRequest::new(file.path(), &dataset)
        };
        let loaded = ingest::ingest(pool, &request, Arc::new(NoProgress)).await?;
        Ok(((!loaded.unchanged).then_some(loaded.version), count))
    })
    .await?
}

/// The register as a GeoJSON file: each feature's attributes, `sources` (`{source, id}` of
/// every member, the chosen first) and `hours_conflict`.
fn write_geojson(merged: &[Merged]) -> std::io::Result<tempfile::NamedTempFile> {
    let features = merged.iter().map(|m| {
        let mut props = m.attrs.clone();
        props.insert(
            "sources".into(),
            Json::Array(
                m.sources
                    .iter()
                    .map(|(s, id)| serde_json::json!({"source": s, "id": id}))
                    .collect(),
            ),
        );
        props.insert("hours_conflict".into(), Json::Bool(m.hours_conflict));
        let geometry = match &m.geometry {
            Some(g) => g.clone(),
            None => serde_json::json!({"type": "Point", "coordinates": [m.lon, m.lat]}).to_string(),
        };
        (geometry, props)
    });
    crate::ingest::scratch::feature_collection("register", features)
}
