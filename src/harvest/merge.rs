//! One register from several sources: features of different sources within a distance whose
//! attributes agree are one feature. The rule, in order:
//!
//! 1. Two features of the same source are never one (a source does not list a device twice;
//!    two AEDs in one building are two).
//! 2. Within `max_m` (default 25 m for AEDs), a feature joins the nearest merged feature none of
//!    whose members it contradicts: where both give an attribute of a compared group
//!    (operator; location text; street and number), the folded texts must agree — one holds
//!    the other, or their words overlap by half, or they differ by a quarter of their letters
//!    at most. A group one of them lacks decides nothing.
//! 3. The merged feature's position and attributes are those of its member from the source of
//!    highest priority (the newest among equals); attributes it lacks are filled from the
//!    others in the same order. It carries `sources` (source id and remote id of every member).
//! 4. Opening hours that differ between members are not chosen silently: `hours_conflict` is
//!    true and `opening_hours_sources` lists each source's.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::search::normalize::{fold, street_word};

/// A feature of one source, as read.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub source: i64,
    /// Lower is preferred.
    pub priority: u32,
    /// When the source was read (seconds); newer wins among equal priorities.
    pub fetched: i64,
    pub remote_id: String,
    /// A point of it in WGS 84 (a point on the surface of a line or polygon), for distances.
    pub lon: f64,
    pub lat: f64,
    /// Its geometry as GeoJSON, when it is not just that point.
    pub geometry: Option<String>,
    pub attrs: Map<String, Value>,
}

/// A feature of the register.
#[derive(Debug, Clone)]
pub struct Merged {
    pub lon: f64,
    pub lat: f64,
    pub geometry: Option<String>,
    pub attrs: Map<String, Value>,
    /// (source, remote id) of every member, the chosen one first.
    pub sources: Vec<(i64, String)>,
    pub hours_conflict: bool,
}

/// What counts as the same feature.
#[derive(Debug, Clone)]
pub struct Rules {
    pub max_m: f64,
    /// Groups of attributes compared together (a group agrees when its joined texts do).
    pub compared: Vec<Vec<String>>,
}

impl Rules {
    /// Defibrillators: 25 m; operator, location text, street and number.
    pub fn aed() -> Self {
        Self {
            max_m: 25.0,
            compared: vec![
                vec!["operator".into()],
                vec!["defibrillator_location".into()],
                vec!["street".into(), "house_number".into()],
            ],
        }
    }

    /// Nothing is the same: every feature of every source is kept.
    pub fn distinct() -> Self {
        Self {
            max_m: -1.0,
            compared: Vec::new(),
        }
    }
}

/// Metres east and north of the equator and meridian, locally true enough for 25 m.
fn metres(lon: f64, lat: f64) -> (f64, f64) {
    (lon * 111_320.0 * lat.to_radians().cos(), lat * 110_574.0)
}

fn text(attrs: &Map<String, Value>, group: &[String]) -> Option<String> {
    let parts: Vec<String> = group
        .iter()
        .filter_map(|k| match attrs.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| fold(&parts.join(" ")))
}

/// Whether two folded texts say the same: not when both name numbers and none is shared
/// (Hauptstr. 5 and Hauptstr. 7); yes when one holds the other, when half of their words are
/// shared (every spelling of "Straße" one), or when they differ by a quarter of their letters
/// at most.
pub fn agree(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| street_word(w).to_string())
            .collect()
    };
    let (wa, wb) = (words(a), words(b));
    let numbers = |w: &[String]| -> std::collections::HashSet<String> {
        w.iter()
            .filter(|x| x.starts_with(|c: char| c.is_ascii_digit()))
            .cloned()
            .collect()
    };
    let (na, nb) = (numbers(&wa), numbers(&wb));
    if !na.is_empty() && !nb.is_empty() && na.is_disjoint(&nb) {
        return false;
    }
    let (a, b) = (wa.join(" "), wb.join(" "));
    if a == b || a.contains(&b) || b.contains(&a) {
        return true;
    }
    let named = |w: &[String]| -> std::collections::HashSet<String> {
        w.iter()
            .filter(|x| !x.starts_with(|c: char| c.is_ascii_digit()))
            .cloned()
            .collect()
    };
    let (la, lb) = (named(&wa), named(&wb));
    let shared = la.intersection(&lb).count();
    if shared > 0 && shared * 2 >= la.len().min(lb.len()) {
        return true;
    }
    strsim::normalized_levenshtein(&a, &b) >= 0.75
}

fn contradicts(a: &Map<String, Value>, b: &Map<String, Value>, rules: &Rules) -> bool {
    rules
        .compared
        .iter()
        .any(|group| match (text(a, group), text(b, group)) {
            (Some(x), Some(y)) => !agree(&x, &y),
            _ => false,
        })
}

/// Merges the candidates of all sources into the register.
pub fn merge(mut candidates: Vec<Candidate>, rules: &Rules) -> Vec<Merged> {
    candidates.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.fetched.cmp(&a.fetched))
            .then(a.source.cmp(&b.source))
            .then(a.remote_id.cmp(&b.remote_id))
    });
    let cell = rules.max_m.max(1.0);
    let key = |x: f64, y: f64| ((x / cell).floor() as i64, (y / cell).floor() as i64);
    // Clusters of candidate indexes; the first member is the chosen one.
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    let at: Vec<(f64, f64)> = candidates.iter().map(|c| metres(c.lon, c.lat)).collect();
    for (i, c) in candidates.iter().enumerate() {
        let (x, y) = at[i];
        let (cx, cy) = key(x, y);
        let mut best: Option<(f64, usize)> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for &k in grid.get(&(cx + dx, cy + dy)).into_iter().flatten() {
                    let members = &clusters[k];
                    let (hx, hy) = at[members[0]];
                    let d = ((x - hx).powi(2) + (y - hy).powi(2)).sqrt();
                    if d > rules.max_m || best.is_some_and(|(b, _)| b <= d) {
                        continue;
                    }
                    let fits = members.iter().all(|&m| {
                        candidates[m].source != c.source
                            && !contradicts(&candidates[m].attrs, &c.attrs, rules)
                    });
                    if fits {
                        best = Some((d, k));
                    }
                }
            }
        }
        if let Some((_, k)) = best {
            clusters[k].push(i);
        } else {
            grid.entry((cx, cy)).or_default().push(clusters.len());
            clusters.push(vec![i]);
        }
    }
    clusters
        .into_iter()
        .map(|members| combine(&candidates, &members))
        .collect()
}

fn combine(candidates: &[Candidate], members: &[usize]) -> Merged {
    let chosen = &candidates[members[0]];
    let mut attrs = chosen.attrs.clone();
    for &m in &members[1..] {
        for (k, v) in &candidates[m].attrs {
            let missing = attrs.get(k).is_none_or(|old| {
                old.is_null() || old.as_str().is_some_and(|s| s.trim().is_empty())
            });
            if missing && !v.is_null() {
                attrs.insert(k.clone(), v.clone());
            }
        }
    }
    let hours: Vec<(i64, String)> = members
        .iter()
        .filter_map(|&m| {
            let c = &candidates[m];
            c.attrs
                .get("opening_hours")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(|h| (c.source, h.to_string()))
        })
        .collect();
    let normal = |h: &str| h.replace(' ', "").to_ascii_lowercase();
    let hours_conflict = hours.iter().any(|(_, h)| normal(h) != normal(&hours[0].1));
    if hours_conflict {
        attrs.insert(
            "opening_hours_sources".into(),
            Value::Array(
                hours
                    .iter()
                    .map(|(s, h)| serde_json::json!({"source": s, "opening_hours": h}))
                    .collect(),
            ),
        );
    }
    Merged {
        lon: chosen.lon,
        lat: chosen.lat,
        geometry: chosen.geometry.clone(),
        attrs,
        sources: members
            .iter()
            .map(|&m| (candidates[m].source, candidates[m].remote_id.clone()))
            .collect(),
        hours_conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(source: i64, id: &str, lon: f64, lat: f64, attrs: Value) -> Candidate {
        Candidate {
            source,
            priority: source as u32,
            fetched: 0,
            remote_id: id.into(),
            lon,
            lat,
            geometry: None,
            attrs: attrs.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn near_and_agreeing_is_one_and_the_rest_is_not() {
        let rules = Rules::aed();
        // 10 m apart, same operator spelt differently, hours differ: one, flagged.
        // 8 m from it, another source, another location: a second device.
        // 5 m away in the first source itself: never merged with its own.
        let merged = merge(
            vec![
                c(
                    1,
                    "a",
                    6.95,
                    50.94,
                    serde_json::json!({"operator": "Sparkasse KölnBonn", "opening_hours": "24/7"}),
                ),
                c(
                    2,
                    "x",
                    6.95014,
                    50.94,
                    serde_json::json!({"operator": "SPARKASSE KOELNBONN", "opening_hours": "Mo-Fr 08:00-18:00", "phone": "112"}),
                ),
                c(
                    2,
                    "y",
                    6.95,
                    50.94007,
                    serde_json::json!({"operator": "Stadtbibliothek", "defibrillator_location": "Foyer"}),
                ),
                c(
                    1,
                    "b",
                    6.94993,
                    50.94,
                    serde_json::json!({"operator": "Sparkasse KölnBonn"}),
                ),
            ],
            &rules,
        );
        assert_eq!(merged.len(), 3, "{merged:#?}");
        let one = merged.iter().find(|m| m.sources.len() == 2).unwrap();
        assert_eq!(
            one.sources,
            vec![(1, "a".to_string()), (2, "x".to_string())]
        );
        assert!(one.hours_conflict);
        assert_eq!(one.attrs["opening_hours"], "24/7");
        assert_eq!(one.attrs["phone"], "112", "filled from the other source");
        assert_eq!(
            one.attrs["opening_hours_sources"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn texts_agree_by_containment_words_or_letters() {
        let f = |s: &str| fold(s);
        assert!(agree(&f("Rathaus, Eingang Nord"), &f("Rathaus")));
        assert!(agree(&f("Hauptstraße 5"), &f("Hauptstr. 5")));
        assert!(agree(
            &f("Sporthalle Gymnasium"),
            &f("Gymnasium Sporthalle Ost")
        ));
        assert!(!agree(&f("Rathaus"), &f("Sporthalle")));
        assert!(!agree(&f("Apotheke am Markt"), &f("Feuerwehr Süd")));
        assert!(!agree(&f("Hauptstraße 5"), &f("Hauptstraße 7")));
        assert!(!agree(&f("Hauptstraße 5"), &f("Bahnhofstraße 5")));
    }
}
