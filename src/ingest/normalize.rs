//! The one normalised feature stream every input format becomes.
//!
//! Format readers push geozero events into a [`Normalizer`]; it turns each feature into a
//! [`NormalizedFeature`] (owned property values + EWKB geometry in the source CRS) and hands it to
//! a [`FeatureSink`]. Schema inference and the COPY encoder are sinks, so a new format only has to
//! produce geozero events.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use geozero::error::{GeozeroError, Result as GeozeroResult};
use geozero::wkb::{WkbDialect, WkbWriter};
use geozero::{ColumnValue, CoordDimensions, FeatureProcessor, GeomProcessor, PropertyProcessor};

use super::precheck::{GeometryCheck, Verdict};
use super::IngestError;
pub use crate::value::Value;

/// One feature of the stream.
#[derive(Debug, Default)]
pub struct NormalizedFeature {
    /// 0-based position in the source, for error messages.
    pub index: u64,
    /// Properties in source order, by source name; `None` for an explicit null. Only the first
    /// `len` entries belong to this feature: the rest are kept to reuse their allocations.
    pub properties: Vec<(String, Option<Value>)>,
    pub len: usize,
    /// EWKB with the source SRID, or `None` for a feature without geometry (or when the
    /// normaliser was told not to build geometries).
    pub geometry: Option<Vec<u8>>,
    /// What the streaming check found about the geometry (only when geometries are built).
    pub verdict: Option<Verdict>,
}

impl NormalizedFeature {
    /// This feature's properties.
    pub fn props(&self) -> &[(String, Option<Value>)] {
        &self.properties[..self.len]
    }

    /// Appends a property, reusing the name buffer of an earlier feature.
    fn push(&mut self, name: &str, value: Option<Value>) {
        match self.properties.get_mut(self.len) {
            Some(slot) => {
                slot.0.clear();
                slot.0.push_str(name);
                slot.1 = value;
            }
            None => self.properties.push((name.to_string(), value)),
        }
        self.len += 1;
    }
}

/// Receives the normalised stream.
pub trait FeatureSink {
    /// Columns a format declares up front (FlatGeobuf header), in order; called before any
    /// feature. Lets a column that is null everywhere still exist.
    fn declare_columns(&mut self, _names: &[String]) {}

    /// Called once per feature, in source order.
    fn feature(&mut self, feature: &NormalizedFeature) -> Result<(), IngestError>;
}

/// Appends into a buffer shared with the normaliser, because `WkbWriter` owns its output and
/// cannot hand it back.
#[derive(Clone, Default)]
struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Options of a normalisation pass.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeOptions {
    /// Build EWKB geometries (the schema pass does not need them).
    pub build_geometry: bool,
    /// SRID written into the EWKB.
    pub srid: i32,
    /// Write Z coordinates (missing Z become 0).
    pub with_z: bool,
}

/// A geozero processor that turns reader events into [`NormalizedFeature`]s for a sink.
pub struct Normalizer<'a> {
    sink: &'a mut dyn FeatureSink,
    options: NormalizeOptions,
    current: NormalizedFeature,
    buf: SharedBuf,
    wkb: Option<WkbWriter<SharedBuf>>,
    saw_z: bool,
    check: GeometryCheck,
    declared_crs: Option<i32>,
    /// The sink's error, kept whole because geozero errors are only strings.
    failure: Option<IngestError>,
    /// Geometry collections open around the current part.
    collections: usize,
    /// A CRS the file declares by a description that matches no EPSG code.
    unmatched_crs: Option<String>,
}

/// Deepest nesting of geometry collections a file may have (real data has one level, rarely
/// two; a crafted WKB can have millions, one recursion each).
pub const MAX_COLLECTION_DEPTH: usize = 8;

impl<'a> Normalizer<'a> {
    pub fn new(sink: &'a mut dyn FeatureSink, options: NormalizeOptions) -> Self {
        Self {
            sink,
            options,
            current: NormalizedFeature::default(),
            buf: SharedBuf::default(),
            wkb: None,
            saw_z: false,
            check: GeometryCheck::default(),
            declared_crs: None,
            failure: None,
            collections: 0,
            unmatched_crs: None,
        }
    }

    /// Passes the columns a format declares up front to the sink; refuses more than a table
    /// can hold before any feature is read.
    pub fn declare_columns(&mut self, names: &[String]) -> Result<(), IngestError> {
        if names.len() > super::schema::MAX_ATTRIBUTES {
            return Err(super::schema::too_many_attributes(names.len()));
        }
        self.sink.declare_columns(names);
        Ok(())
    }

    /// Records an explicit null, which geozero's property events cannot express.
    pub fn null_property(&mut self, name: &str) {
        self.current.push(name, None);
    }

    /// Records the CRS the file declares, as soon as the reader knows it (before the features
    /// where the format allows), so that a pass stopped early still learns it.
    pub fn declare_crs(&mut self, srid: i32) {
        self.declared_crs = Some(srid);
    }

    /// Records a CRS the file describes (WKT) that matches no EPSG code, named for the error
    /// that asks for `--crs`.
    pub fn declare_unmatched_crs(&mut self, wkt: &str) {
        let name = crate::crs::wkt_name(wkt).unwrap_or("without a name");
        tracing::warn!(crs = name, "the file's CRS matches no EPSG code");
        self.unmatched_crs = Some(name.to_string());
    }

    pub fn unmatched_crs(&self) -> Option<&str> {
        self.unmatched_crs.as_deref()
    }

    /// The CRS the reader declared so far.
    pub fn declared_crs(&self) -> Option<i32> {
        self.declared_crs
    }

    /// Whether any coordinate carried a Z value.
    pub fn saw_z(&self) -> bool {
        self.saw_z
    }

    /// Turns the outcome of a reader's `process` call into kreisgeo's error, preferring the
    /// sink's own error over geozero's string.
    pub fn finish(&mut self, result: GeozeroResult<()>) -> Result<(), IngestError> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        result.map_err(|e| IngestError::Feature {
            index: self.current.index,
            field: None,
            message: e.to_string(),
        })
    }
}

/// Forwards geometry events to the WKB writer when one is active.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) -> GeozeroResult<()> {
            match self.wkb.as_mut() {
                Some(w) => w.$name($($arg),*),
                None => Ok(()),
            }
        })*
    };
}

/// Forwards events of geometry kinds the streaming check does not decide.
macro_rules! forward_undecided {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) -> GeozeroResult<()> {
            self.check.undecided();
            match self.wkb.as_mut() {
                Some(w) => w.$name($($arg),*),
                None => Ok(()),
            }
        })*
    };
}

impl GeomProcessor for Normalizer<'_> {
    fn dimensions(&self) -> CoordDimensions {
        // Ask readers for Z so it can be detected; the WKB writer drops it unless `with_z`.
        CoordDimensions::xyz()
    }

    fn xy(&mut self, x: f64, y: f64, idx: usize) -> GeozeroResult<()> {
        self.coordinate(x, y, None, None, None, None, idx)
    }

    fn coordinate(
        &mut self,
        x: f64,
        y: f64,
        z: Option<f64>,
        m: Option<f64>,
        t: Option<f64>,
        tm: Option<u64>,
        idx: usize,
    ) -> GeozeroResult<()> {
        if !x.is_finite() || !y.is_finite() {
            return Err(GeozeroError::Coord);
        }
        self.saw_z |= z.is_some();
        self.check.coordinate(x, y);
        match self.wkb.as_mut() {
            Some(w) => w.coordinate(x, y, z, m, t, tm, idx),
            None => Ok(()),
        }
    }

    fn linestring_begin(&mut self, tagged: bool, size: usize, idx: usize) -> GeozeroResult<()> {
        self.check.line_begin();
        match self.wkb.as_mut() {
            Some(w) => w.linestring_begin(tagged, size, idx),
            None => Ok(()),
        }
    }

    fn linestring_end(&mut self, tagged: bool, idx: usize) -> GeozeroResult<()> {
        self.check.line_end();
        match self.wkb.as_mut() {
            Some(w) => w.linestring_end(tagged, idx),
            None => Ok(()),
        }
    }

    fn polygon_begin(&mut self, tagged: bool, size: usize, idx: usize) -> GeozeroResult<()> {
        self.check.polygon_begin();
        match self.wkb.as_mut() {
            Some(w) => w.polygon_begin(tagged, size, idx),
            None => Ok(()),
        }
    }

    fn polygon_end(&mut self, tagged: bool, idx: usize) -> GeozeroResult<()> {
        self.check.polygon_end();
        match self.wkb.as_mut() {
            Some(w) => w.polygon_end(tagged, idx),
            None => Ok(()),
        }
    }

    fn geometrycollection_begin(&mut self, size: usize, idx: usize) -> GeozeroResult<()> {
        // geozero's readers recurse per collection; refusing here, before the next level is
        // read, bounds a file's nesting before it can exhaust the stack.
        self.collections += 1;
        if self.collections > MAX_COLLECTION_DEPTH {
            return Err(GeozeroError::Geometry(format!(
                "geometry collections nested deeper than {MAX_COLLECTION_DEPTH}"
            )));
        }
        self.check.undecided();
        match self.wkb.as_mut() {
            Some(w) => w.geometrycollection_begin(size, idx),
            None => Ok(()),
        }
    }

    fn geometrycollection_end(&mut self, idx: usize) -> GeozeroResult<()> {
        self.collections = self.collections.saturating_sub(1);
        match self.wkb.as_mut() {
            Some(w) => w.geometrycollection_end(idx),
            None => Ok(()),
        }
    }

    forward! {
        empty_point(idx: usize);
        point_begin(idx: usize);
        point_end(idx: usize);
        multipoint_begin(size: usize, idx: usize);
        multipoint_end(idx: usize);
        multilinestring_begin(size: usize, idx: usize);
        multilinestring_end(idx: usize);
        multipolygon_begin(size: usize, idx: usize);
        multipolygon_end(idx: usize);
    }

    // Curves and surfaces: written as they come, decided by PostGIS.
    fn circularstring_begin(&mut self, size: usize, idx: usize) -> GeozeroResult<()> {
        self.check.curved();
        match self.wkb.as_mut() {
            Some(w) => w.circularstring_begin(size, idx),
            None => Ok(()),
        }
    }

    forward_undecided! {
        circularstring_end(idx: usize);
        compoundcurve_begin(size: usize, idx: usize);
        compoundcurve_end(idx: usize);
        curvepolygon_begin(size: usize, idx: usize);
        curvepolygon_end(idx: usize);
        multicurve_begin(size: usize, idx: usize);
        multicurve_end(idx: usize);
        multisurface_begin(size: usize, idx: usize);
        multisurface_end(idx: usize);
        triangle_begin(tagged: bool, size: usize, idx: usize);
        triangle_end(tagged: bool, idx: usize);
        polyhedralsurface_begin(size: usize, idx: usize);
        polyhedralsurface_end(idx: usize);
        tin_begin(size: usize, idx: usize);
        tin_end(idx: usize);
    }
}

impl PropertyProcessor for Normalizer<'_> {
    fn property(&mut self, _idx: usize, name: &str, value: &ColumnValue) -> GeozeroResult<bool> {
        self.current.push(name, Some(from_column(value)));
        Ok(false)
    }
}

impl FeatureProcessor for Normalizer<'_> {
    fn feature_begin(&mut self, idx: u64) -> GeozeroResult<()> {
        self.current.index = idx;
        self.current.len = 0;
        self.current.geometry = None;
        self.current.verdict = None;
        Ok(())
    }

    fn geometry_begin(&mut self) -> GeozeroResult<()> {
        self.collections = 0;
        self.check.begin();
        if self.options.build_geometry {
            self.buf.0.borrow_mut().clear();
            let dims = if self.options.with_z {
                CoordDimensions::xyz()
            } else {
                CoordDimensions::xy()
            };
            self.wkb = Some(WkbWriter::with_opts(
                self.buf.clone(),
                WkbDialect::Ewkb,
                dims,
                Some(self.options.srid),
                Vec::new(),
            ));
        }
        Ok(())
    }

    fn geometry_end(&mut self) -> GeozeroResult<()> {
        if self.wkb.take().is_some() {
            let ewkb = std::mem::take(&mut *self.buf.0.borrow_mut());
            // A reader that emitted no geometry events (a Shapefile null shape) means no geometry.
            self.current.geometry = (!ewkb.is_empty()).then_some(ewkb);
            self.current.verdict = Some(self.check.finish());
        }
        Ok(())
    }

    fn feature_end(&mut self, _idx: u64) -> GeozeroResult<()> {
        if let Err(e) = self.sink.feature(&self.current) {
            let message = e.to_string();
            // Some readers carry on after an error; the first one is the one to report.
            self.failure.get_or_insert(e);
            return Err(GeozeroError::Feature(message));
        }
        Ok(())
    }
}

fn from_column(v: &ColumnValue) -> Value {
    match *v {
        ColumnValue::Bool(b) => Value::Bool(b),
        ColumnValue::Byte(n) => Value::Int(n.into()),
        ColumnValue::UByte(n) => Value::Int(n.into()),
        ColumnValue::Short(n) => Value::Int(n.into()),
        ColumnValue::UShort(n) => Value::Int(n.into()),
        ColumnValue::Int(n) => Value::Int(n.into()),
        ColumnValue::UInt(n) => Value::Int(n.into()),
        ColumnValue::Long(n) => Value::Int(n),
        // Beyond i64 the digits are kept exactly as text rather than rounded into a float.
        ColumnValue::ULong(n) => {
            i64::try_from(n).map_or_else(|_| Value::Text(n.to_string()), Value::Int)
        }
        ColumnValue::Float(f) => Value::Float(f.into()),
        ColumnValue::Double(f) => Value::Float(f),
        ColumnValue::String(s) | ColumnValue::DateTime(s) => Value::Text(s.to_string()),
        ColumnValue::Json(s) => Value::Json(s.to_string()),
        ColumnValue::Binary(b) => Value::Text(hex::encode(b)),
    }
}
