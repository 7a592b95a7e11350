//! The search index: the streets (with their houses), places and parcels of every searchable
//! dataset, held in memory per set of served versions. A query finds candidate streets and
//! places by shared trigrams of their keys, then ranks them by edit distance (typos, a
//! dropped or swapped letter), by whether the street has the house number asked for, and by
//! postcode and place. Measured in `benches/search.sh`.

use std::collections::HashMap;
use std::sync::Arc;

use super::normalize::{name_key, words_key};
use super::query::{ParcelKey, Query};

/// An address as the datasets hold it.
#[derive(Debug, Clone)]
pub struct AddressRow {
    pub dataset: Arc<str>,
    pub fid: i64,
    pub street: String,
    /// The house number as written, with its suffix.
    pub number: String,
    pub postcode: Option<String>,
    pub locality: Option<String>,
    pub district: Option<String>,
    pub point: [f64; 2],
}

/// A named place (OSM `place=*`), or a named street without houses.
#[derive(Debug, Clone)]
pub struct NamedRow {
    pub dataset: Arc<str>,
    pub fid: i64,
    pub name: String,
    pub class: String,
    pub rank: i64,
    pub point: [f64; 2],
}

/// A parcel with its key and a point inside it.
#[derive(Debug, Clone)]
pub struct ParcelRow {
    pub dataset: Arc<str>,
    pub fid: i64,
    pub key: String,
    pub point: [f64; 2],
}

/// What the index is built from.
#[derive(Debug, Default)]
pub struct Rows {
    /// Official addresses first: where an OSM address repeats one, the official one is kept.
    pub addresses: Vec<AddressRow>,
    pub places: Vec<NamedRow>,
    pub roads: Vec<NamedRow>,
    pub parcels: Vec<ParcelRow>,
}

struct House {
    number: String,
    display: String,
    postcode: Option<String>,
    point: [f64; 2],
    dataset: Arc<str>,
    fid: i64,
}

struct Street {
    name: String,
    key: String,
    locality: Option<String>,
    place_keys: Vec<String>,
    postcodes: Vec<String>,
    houses: Vec<House>,
    point: [f64; 2],
    dataset: Arc<str>,
    fid: i64,
}

struct Place {
    name: String,
    key: String,
    class: String,
    rank: i64,
    point: [f64; 2],
    dataset: Arc<str>,
    fid: i64,
}

#[derive(Clone, Copy)]
enum Unit {
    Street(usize),
    Place(usize),
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// `address`, `street`, `place` or `parcel`.
    pub kind: &'static str,
    pub label: String,
    pub score: f64,
    pub dataset: String,
    /// The feature in `dataset` (`/collections/{dataset}/items/{id}`).
    pub id: i64,
    #[serde(skip)]
    pub point: [f64; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub housenumber: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
}

/// Candidates ranked in detail per part of a query.
const CANDIDATES: usize = 64;
/// Words of a query looked at.
const MAX_WORDS: usize = 8;

pub struct Index {
    streets: Vec<Street>,
    places: Vec<Place>,
    units: Vec<(String, Unit)>,
    grams: HashMap<[u8; 3], Vec<u32>>,
    parcels: HashMap<(u32, u32, u32), Vec<(ParcelKey, ParcelRow)>>,
}

fn trigrams(key: &str) -> impl Iterator<Item = [u8; 3]> + '_ {
    let padded: Vec<u8> = [b'$']
        .into_iter()
        .chain(key.bytes())
        .chain([b'$'])
        .collect();
    (0..padded.len().saturating_sub(2)).map(move |i| [padded[i], padded[i + 1], padded[i + 2]])
}

/// Streets of one name more than this far apart (degrees, about 3 km) are different streets.
const SAME_STREET_DEG: f64 = 0.03;

fn near(a: [f64; 2], b: [f64; 2]) -> bool {
    (a[0] - b[0]).abs() < SAME_STREET_DEG && (a[1] - b[1]).abs() < SAME_STREET_DEG
}

impl Index {
    pub fn build(rows: Rows) -> Self {
        let mut streets: Vec<Street> = Vec::new();
        // Streets of one key; an address joins the one within reach (spellings of the town
        // differ between sources, the position does not).
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for a in rows.addresses {
            let key = name_key(&a.street);
            if key.is_empty() {
                continue;
            }
            let same = by_key.get(&key).and_then(|list| {
                list.iter()
                    .copied()
                    .find(|&i| near(streets[i].point, a.point))
            });
            let at = if let Some(i) = same {
                i
            } else {
                streets.push(Street {
                    name: a.street.clone(),
                    key: key.clone(),
                    locality: a.locality.clone(),
                    place_keys: Vec::new(),
                    postcodes: Vec::new(),
                    houses: Vec::new(),
                    point: a.point,
                    dataset: a.dataset.clone(),
                    fid: a.fid,
                });
                by_key.entry(key).or_default().push(streets.len() - 1);
                streets.len() - 1
            };
            let s = &mut streets[at];
            for place in [&a.locality, &a.district].into_iter().flatten() {
                let k = name_key(place);
                if !k.is_empty() && !s.place_keys.contains(&k) {
                    s.place_keys.push(k);
                }
            }
            if let Some(p) = &a.postcode {
                if !s.postcodes.contains(p) {
                    s.postcodes.push(p.clone());
                }
            }
            let number = super::normalize::house_number(&a.number, None);
            if number.is_empty() || s.houses.iter().any(|h| h.number == number) {
                continue;
            }
            s.houses.push(House {
                number,
                display: a.number.trim().to_string(),
                postcode: a.postcode.clone(),
                point: a.point,
                dataset: a.dataset.clone(),
                fid: a.fid,
            });
        }
        for s in &mut streets {
            // The street's point: its middle house by number.
            s.houses.sort_by_key(|h| natural(&h.number));
            if let Some(h) = s.houses.get(s.houses.len() / 2) {
                s.point = h.point;
            }
        }
        // Named roads without an address are streets too (a footpath, a road out of town).
        for r in rows.roads {
            let key = name_key(&r.name);
            let known = by_key
                .get(&key)
                .is_some_and(|list| list.iter().any(|&i| near(streets[i].point, r.point)));
            if key.is_empty() || known {
                continue;
            }
            streets.push(Street {
                name: r.name,
                key,
                locality: None,
                place_keys: Vec::new(),
                postcodes: Vec::new(),
                houses: Vec::new(),
                point: r.point,
                dataset: r.dataset,
                fid: r.fid,
            });
        }
        let places: Vec<Place> = rows
            .places
            .into_iter()
            .filter_map(|p| {
                let key = name_key(&p.name);
                (!key.is_empty()).then_some(Place {
                    name: p.name,
                    key,
                    class: p.class,
                    rank: p.rank,
                    point: p.point,
                    dataset: p.dataset,
                    fid: p.fid,
                })
            })
            .collect();
        let mut units: Vec<(String, Unit)> = Vec::with_capacity(streets.len() + places.len());
        units.extend(
            streets
                .iter()
                .enumerate()
                .map(|(i, s)| (s.key.clone(), Unit::Street(i))),
        );
        units.extend(
            places
                .iter()
                .enumerate()
                .map(|(i, p)| (p.key.clone(), Unit::Place(i))),
        );
        let mut grams: HashMap<[u8; 3], Vec<u32>> = HashMap::new();
        for (i, (key, _)) in units.iter().enumerate() {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            for g in trigrams(key) {
                let list = grams.entry(g).or_default();
                if list.last() != Some(&id) {
                    list.push(id);
                }
            }
        }
        let mut parcels: HashMap<(u32, u32, u32), Vec<(ParcelKey, ParcelRow)>> = HashMap::new();
        for p in rows.parcels {
            if let Some(k) = ParcelKey::of_key(&p.key) {
                parcels
                    .entry((k.gemarkung, k.flur, k.zaehler))
                    .or_default()
                    .push((k, p));
            }
        }
        Self {
            streets,
            places,
            units,
            grams,
            parcels,
        }
    }

    /// Streets and places indexed.
    pub fn len(&self) -> (usize, usize) {
        (self.streets.len(), self.places.len())
    }

    /// The best `limit` hits for `q`, inside `bbox` (lon/lat) when one is given.
    pub fn search(&self, q: &Query, limit: usize, bbox: Option<[f64; 4]>) -> Vec<Hit> {
        let mut hits = Vec::new();
        if let Some(key) = &q.parcel {
            self.parcel_hits(key, &mut hits);
        }
        let words = joined(&q.words[..q.words.len().min(MAX_WORDS)]);
        let words = &words[..];
        if !words.is_empty() {
            for unit in self.candidates(words) {
                match unit {
                    Unit::Street(i) => self.street_hit(&self.streets[i], words, q, &mut hits),
                    Unit::Place(i) => place_hit(&self.places[i], words, q, &mut hits),
                }
            }
        }
        if let Some([w, s, e, n]) = bbox {
            hits.retain(|h| {
                h.point[0] >= w && h.point[0] <= e && h.point[1] >= s && h.point[1] <= n
            });
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.label.len().cmp(&b.label.len()))
                .then_with(|| a.label.cmp(&b.label))
        });
        hits.dedup_by(|a, b| a.label == b.label && a.kind == b.kind);
        hits.truncate(limit);
        hits
    }

    /// Units sharing the most trigrams with the query, and with each of its words (a town
    /// or a typo in one word must not crowd out the street another word names).
    fn candidates(&self, words: &[String]) -> Vec<Unit> {
        let mut chosen: Vec<u32> = Vec::new();
        let mut parts: Vec<String> = vec![words_key(words)];
        if words.len() > 1 {
            parts.extend(words.iter().map(|w| words_key(std::slice::from_ref(w))));
        }
        for part in &parts {
            let mut counts: HashMap<u32, u32> = HashMap::new();
            for g in trigrams(part) {
                if let Some(list) = self.grams.get(&g) {
                    for &u in list {
                        *counts.entry(u).or_default() += 1;
                    }
                }
            }
            let mut ranked: Vec<(u32, u32)> = counts.into_iter().collect();
            ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            chosen.extend(ranked.into_iter().take(CANDIDATES).map(|(u, _)| u));
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
            .into_iter()
            .filter_map(|u| self.units.get(u as usize).map(|(_, unit)| *unit))
            .collect()
    }

    fn street_hit(&self, s: &Street, words: &[String], q: &Query, hits: &mut Vec<Hit>) {
        let (mut score, rest) = best_span(words, &s.key, q.number.is_none());
        if score < 0.5 {
            return;
        }
        score += place_bonus(&rest, &s.place_keys);
        if let Some(p) = &q.postcode {
            if !s.postcodes.is_empty() {
                score += if s.postcodes.contains(p) { 0.1 } else { -0.2 };
            }
        }
        let locality = s.locality.clone();
        if let Some(number) = &q.number {
            let exact = s.houses.iter().find(|h| &h.number == number);
            // `12` asked, only `12a` there: that one, a little lower.
            let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
            let near = || {
                s.houses.iter().find(|h| {
                    h.number.starts_with(&digits)
                        && !h.number[digits.len()..].starts_with(|c: char| c.is_ascii_digit())
                })
            };
            if let Some((h, bonus)) = exact
                .map(|h| (h, 0.3))
                .or_else(|| near().map(|h| (h, 0.15)))
            {
                hits.push(Hit {
                    kind: "address",
                    label: label(
                        &s.name,
                        Some(&h.display),
                        h.postcode.as_deref(),
                        locality.as_deref(),
                    ),
                    score: score + bonus,
                    dataset: h.dataset.to_string(),
                    id: h.fid,
                    point: h.point,
                    street: Some(s.name.clone()),
                    housenumber: Some(h.display.clone()),
                    postcode: h.postcode.clone(),
                    locality,
                });
                return;
            }
            score -= 0.1;
        }
        hits.push(Hit {
            kind: "street",
            label: label(
                &s.name,
                None,
                s.postcodes.first().map(String::as_str),
                locality.as_deref(),
            ),
            score,
            dataset: s.dataset.to_string(),
            id: s.fid,
            point: s.point,
            street: Some(s.name.clone()),
            housenumber: None,
            postcode: s.postcodes.first().cloned(),
            locality,
        });
    }

    fn parcel_hits(&self, key: &ParcelKey, hits: &mut Vec<Hit>) {
        let Some(found) = self.parcels.get(&(key.gemarkung, key.flur, key.zaehler)) else {
            return;
        };
        for (k, p) in found.iter().filter(|(k, _)| key.matches(k)) {
            let nenner = k.nenner.map(|n| format!("/{n}")).unwrap_or_default();
            hits.push(Hit {
                kind: "parcel",
                label: format!(
                    "Flurstück {}{nenner}, Flur {}, Gemarkung {} ({})",
                    k.zaehler, k.flur, k.gemarkung, p.key
                ),
                score: 2.0,
                dataset: p.dataset.to_string(),
                id: p.fid,
                point: p.point,
                street: None,
                housenumber: None,
                postcode: None,
                locality: None,
            });
        }
    }
}

fn place_hit(p: &Place, words: &[String], q: &Query, hits: &mut Vec<Hit>) {
    let (mut score, rest) = best_span(words, &p.key, q.number.is_none());
    if score < 0.6 {
        return;
    }
    // Words left over are a worse fit for a place than for a street with its town.
    score -= 0.1 * rest.len() as f64;
    if q.number.is_some() {
        score -= 0.2;
    }
    score += 0.01 * (8 - p.rank.clamp(1, 8)) as f64;
    hits.push(Hit {
        kind: "place",
        label: p.name.clone(),
        score,
        dataset: p.dataset.to_string(),
        id: p.fid,
        point: p.point,
        street: None,
        housenumber: None,
        postcode: None,
        locality: Some(p.class.clone()),
    });
}

/// The words with a lone `str` (`Kettwiger Str.`) joined to the word before it: it is part
/// of that name, never a name of its own.
fn joined(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        let street = super::normalize::words_key(std::slice::from_ref(w)) == "str";
        match out.last_mut() {
            Some(last) if street => last.push_str("str"),
            _ => out.push(w.clone()),
        }
    }
    out
}

/// The best match of a run of consecutive words against `key`, and the words outside it.
fn best_span(words: &[String], key: &str, typing: bool) -> (f64, Vec<String>) {
    let mut best = (0.0, Vec::new());
    for a in 0..words.len() {
        for b in a + 1..=words.len() {
            // Only the last word may be unfinished, and only while no house number follows.
            let typed = words_key(&words[a..b]);
            let s = if typing && b == words.len() {
                similarity(&typed, key)
            } else {
                strsim::normalized_damerau_levenshtein(&typed, key)
            };
            if s > best.0 {
                let rest = words[..a].iter().chain(&words[b..]).cloned().collect();
                best = (s, rest);
            }
        }
    }
    best
}

/// Words left beside the street: a matching place or district lifts it, others lower it.
fn place_bonus(rest: &[String], places: &[String]) -> f64 {
    if rest.is_empty() {
        return 0.0;
    }
    let key = words_key(rest);
    let best = places
        .iter()
        .map(|p| similarity(&key, p))
        .fold(0.0, f64::max);
    if best >= 0.8 {
        0.1
    } else {
        // A word nothing explains: a street matched by part of the text only.
        -0.25 * rest.len() as f64
    }
}

/// How alike a typed key and a stored key are, 0 to 1: the normalised Damerau–Levenshtein
/// similarity of the whole, or (while typing) of the stored key's beginning.
pub fn similarity(typed: &str, key: &str) -> f64 {
    if typed.is_empty() || key.is_empty() {
        return 0.0;
    }
    let whole = strsim::normalized_damerau_levenshtein(typed, key);
    let typed_len = typed.chars().count();
    if typed_len >= 3 && typed_len < key.chars().count() {
        let prefix: String = key.chars().take(typed_len).collect();
        let start = strsim::normalized_damerau_levenshtein(typed, &prefix) * 0.9;
        return whole.max(start);
    }
    whole
}

/// Orders house numbers as people do: 2 < 10 < 10a.
fn natural(number: &str) -> (u32, String) {
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    (
        digits.parse().unwrap_or(u32::MAX),
        number[digits.len()..].to_string(),
    )
}

fn label(
    street: &str,
    number: Option<&str>,
    postcode: Option<&str>,
    locality: Option<&str>,
) -> String {
    let mut out = street.trim().to_string();
    if let Some(n) = number {
        out.push(' ');
        out.push_str(n);
    }
    let town = [postcode, locality]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !town.is_empty() {
        out.push_str(", ");
        out.push_str(&town);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::query::parse;
    use super::*;

    fn address(street: &str, number: &str, locality: &str, x: f64) -> AddressRow {
        AddressRow {
            dataset: "adressen".into(),
            fid: (x * 1000.0) as i64,
            street: street.into(),
            number: number.into(),
            postcode: Some("45127".into()),
            locality: Some(locality.into()),
            district: None,
            point: [x, 51.45],
        }
    }

    fn index() -> Index {
        Index::build(Rows {
            addresses: vec![
                address("Kettwiger Straße", "12", "Essen", 7.01),
                address("Kettwiger Straße", "12a", "Essen", 7.011),
                address("Kettwiger Straße", "14", "Essen", 7.012),
                address("Bergstraße", "5", "Essen", 7.02),
                address("Burgstraße", "7", "Essen", 7.03),
                address("Hauptstraße", "1", "Kettwig", 6.95),
            ],
            places: vec![NamedRow {
                dataset: "osm".into(),
                fid: 99,
                name: "Kettwig".into(),
                class: "suburb".into(),
                rank: 4,
                point: [6.95, 51.36],
            }],
            roads: Vec::new(),
            parcels: vec![ParcelRow {
                dataset: "flurstuecke".into(),
                fid: 7,
                key: "05329001100085______".into(),
                point: [6.7, 51.5],
            }],
        })
    }

    fn top(q: &str) -> String {
        index()
            .search(&parse(q), 1, None)
            .first()
            .map(|h| h.label.clone())
            .unwrap_or_default()
    }

    #[test]
    fn typos_spellings_and_suffixes_find_the_house() {
        for q in [
            "Kettwiger Straße 12a",
            "kettwiger str 12 a",
            "Ketwiger Str. 12a",
            "Kettwigre Strasse 12A",
            "Kettwiger Str 12a, 45127 Essen",
            "kettwigerstr 12a essen",
        ] {
            assert_eq!(top(q), "Kettwiger Straße 12a, 45127 Essen", "{q}");
        }
        // The house number decides between two streets a typo makes equally likely.
        assert_eq!(top("Brgstrasse 7"), "Burgstraße 7, 45127 Essen");
        assert_eq!(top("Brgstrasse 5"), "Bergstraße 5, 45127 Essen");
        // Typing: the beginning of a name suggests it.
        assert_eq!(top("Kettwi"), "Kettwig");
        assert!(index()
            .search(&parse("Kettwige"), 5, None)
            .iter()
            .any(|h| h.label == "Kettwiger Straße, 45127 Essen"));
        assert_eq!(top("3290-11-85").split(' ').next(), Some("Flurstück"));
        assert!(index()
            .search(
                &parse("Kettwiger Straße 12a"),
                5,
                Some([6.0, 50.0, 6.5, 51.0])
            )
            .is_empty());
    }
}
