//! Streams the array member of a top-level JSON object element by element, whatever the order of
//! the members: a 2 GB FeatureCollection (or Overpass response) never sits in memory whole.

use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value as Json};

use super::bounded::{Bounded, RecordMark, MAX_JSON_FEATURE_BYTES};
use crate::ingest::IngestError;

/// Where and what to stream.
pub struct ArraySpec<'a> {
    /// Format name for messages, e.g. `GeoJSON`.
    pub format: &'a str,
    /// The array member, e.g. `features`.
    pub array: &'a str,
    /// What one element is called in messages, e.g. `feature`.
    pub item: &'a str,
}

/// Reads `path` as one JSON object, calls `each(index, element, kept)` for every element of the
/// array member `spec.array`, and returns the members named in `keep` (small ones, such as `type`
/// or `crs`); `kept` holds those that came before the array. Errors say where: the element index and serde's line and column.
pub fn stream_array<T, F>(
    path: &Path,
    spec: &ArraySpec<'_>,
    keep: &[&str],
    each: F,
) -> Result<Map<String, Json>, IngestError>
where
    T: DeserializeOwned,
    F: FnMut(u64, T, &Map<String, Json>) -> Result<(), IngestError>,
{
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let (file, mark) = Bounded::new(file, MAX_JSON_FEATURE_BYTES, spec.item);
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, file));
    let state = RefCell::new(State {
        each,
        failure: None,
        index: 0,
        kept: Map::new(),
        saw_array: false,
        mark,
    });
    let result = TopLevel {
        state: &state,
        array: spec.array,
        keep,
        element: PhantomData::<T>,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    let state = state.into_inner();
    if let Some(failure) = state.failure {
        return Err(failure);
    }
    result.map_err(|e| IngestError::Parse {
        message: format!("{}: {e} ({} index {})", spec.format, spec.item, state.index),
    })?;
    if !state.saw_array {
        return Err(IngestError::Parse {
            message: format!(
                "{}: the top-level object has no '{}' array",
                spec.format, spec.array
            ),
        });
    }
    Ok(state.kept)
}

struct State<F> {
    each: F,
    /// The first real error; serde only carries strings.
    failure: Option<IngestError>,
    index: u64,
    kept: Map<String, Json>,
    saw_array: bool,
    /// Moved on after each element: no one element may be larger than the bound.
    mark: RecordMark,
}

struct TopLevel<'s, 'k, T, F> {
    state: &'s RefCell<State<F>>,
    array: &'k str,
    keep: &'k [&'k str],
    element: PhantomData<T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(u64, T, &Map<String, Json>) -> Result<(), IngestError>>
    DeserializeSeed<'de> for TopLevel<'_, '_, T, F>
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(u64, T, &Map<String, Json>) -> Result<(), IngestError>>
    Visitor<'de> for TopLevel<'_, '_, T, F>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object with a '{}' array", self.array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.array {
                self.state.borrow_mut().saw_array = true;
                map.next_value_seed(Elements {
                    state: self.state,
                    element: PhantomData::<T>,
                })?;
            } else if self.keep.contains(&key.as_str()) {
                let value: Json = map.next_value()?;
                self.state.borrow_mut().kept.insert(key, value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Elements<'s, T, F> {
    state: &'s RefCell<State<F>>,
    element: PhantomData<T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(u64, T, &Map<String, Json>) -> Result<(), IngestError>>
    DeserializeSeed<'de> for Elements<'_, T, F>
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(u64, T, &Map<String, Json>) -> Result<(), IngestError>>
    Visitor<'de> for Elements<'_, T, F>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<T>()? {
            let mut state = self.state.borrow_mut();
            let State {
                each, kept, index, ..
            } = &mut *state;
            let index = *index;
            if let Err(e) = each(index, element, kept) {
                let message = e.to_string();
                state.failure.get_or_insert(e);
                return Err(de::Error::custom(message));
            }
            state.index += 1;
            state.mark.next_record();
        }
        Ok(())
    }
}
