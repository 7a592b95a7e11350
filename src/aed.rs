//! The rules the citizens' AED questions follow, apart from HTTP: who may use a defibrillator
//! (`access`), whether it is open at a moment (OSM `opening_hours` with the Land's public
//! holidays, [`crate::hours`]), and how far the distance ranking must reach so that enough open
//! ones remain once the closed are dropped.

use chrono::NaiveDateTime;

use crate::catalog::{Column, DatasetKind, Version};
use crate::hours;
use crate::value::{FeatureRow, Value};

/// `access` values of defibrillators the public cannot use.
pub const NOT_PUBLIC: &[&str] = &["private", "no"];

/// The `access` column and the values a public answer leaves out: for AED collections, unless
/// `everyone` was asked for.
pub fn excluded_access(
    kind: DatasetKind,
    version: &Version,
    everyone: bool,
) -> Option<(&Column, &'static [&'static str])> {
    let access = version.columns.iter().find(|c| c.name == "access")?;
    (kind == DatasetKind::Aed && !everyone).then_some((access, NOT_PUBLIC))
}

/// The position of the `opening_hours` column of an AED collection.
pub fn hours_column(kind: DatasetKind, version: &Version) -> Option<usize> {
    if kind != DatasetKind::Aed {
        return None;
    }
    version
        .columns
        .iter()
        .position(|c| c.name == "opening_hours")
}

/// How many of the nearest to rank for `limit` answers: closed ones are dropped after the
/// ranking, so more are ranked when only open ones count.
pub fn candidates(limit: u32, open_only: bool) -> u32 {
    if open_only {
        limit * 10 + 50
    } else {
        limit
    }
}

/// Gives every row `open_now` (true, false, or null when its hours do not parse) at `at` in
/// the `land`'s calendar, drops the rows not open when `open_only`, and keeps `limit`.
pub fn mark_open(
    rows: &mut Vec<FeatureRow>,
    hours_column: usize,
    at: NaiveDateTime,
    land: Option<hours::Land>,
    open_only: bool,
    limit: u32,
) {
    let moment = hours::Moment::new(at, land);
    // A register repeats a few texts ("24/7", "Mo-Fr 08:00-18:00") over hundreds of rows, and
    // parsing is what costs: each text is judged once.
    let mut judged: std::collections::HashMap<String, Option<Value>> = Default::default();
    for row in rows.iter_mut() {
        let text = match &row.values[hours_column] {
            Some(Value::Text(t)) => t.as_str(),
            _ => "",
        };
        let open = if let Some(open) = judged.get(text) {
            open.clone()
        } else {
            let open = match moment.state(Some(text)) {
                hours::OpenState::Open => Some(Value::Bool(true)),
                hours::OpenState::Closed => Some(Value::Bool(false)),
                hours::OpenState::Unknown => None,
            };
            judged.insert(text.to_string(), open.clone());
            open
        };
        row.extra.push(("open_now", open));
    }
    if open_only {
        rows.retain(|r| {
            r.extra
                .iter()
                .any(|(k, v)| *k == "open_now" && *v == Some(Value::Bool(true)))
        });
    }
    rows.truncate(limit as usize);
}
