//! What a search text asks for: words of a street or place, a house number, a postcode, or a
//! parcel key (Flurstückskennzeichen) in one of its common spellings.

use super::normalize::fold;

/// A parsed search text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Folded words that are neither number nor postcode, in order.
    pub words: Vec<String>,
    /// A house number with its suffix (`12a`).
    pub number: Option<String>,
    /// A five-digit postcode.
    pub postcode: Option<String>,
    pub parcel: Option<ParcelKey>,
}

/// The parts of a Flurstückskennzeichen a text names (Land and Gemarkung may be left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelKey {
    pub land: Option<u8>,
    pub gemarkung: u32,
    pub flur: u32,
    pub zaehler: u32,
    pub nenner: Option<u32>,
}

impl ParcelKey {
    /// The parts of a stored 20-character key (`05329001100085______`).
    pub fn of_key(key: &str) -> Option<Self> {
        let b = key.as_bytes();
        if b.len() != 20 {
            return None;
        }
        let num = |r: std::ops::Range<usize>| key.get(r)?.parse::<u32>().ok();
        Some(Self {
            land: num(0..2).and_then(|l| u8::try_from(l).ok()),
            gemarkung: num(2..6)?,
            flur: num(6..9)?,
            zaehler: num(9..14)?,
            nenner: num(14..18),
        })
    }

    /// Whether a stored key `other` is this one (parts the text left out match anything).
    pub fn matches(&self, other: &ParcelKey) -> bool {
        self.land.is_none_or(|l| Some(l) == other.land)
            && self.gemarkung == other.gemarkung
            && self.flur == other.flur
            && self.zaehler == other.zaehler
            && self
                .nenner
                .is_none_or(|n| other.nenner == Some(n) || n == 0 && other.nenner.is_none())
    }
}

/// Reads a parcel key: the 20 characters ALKIS writes (`_` padding or none), its digits with
/// separators (`05 3290 011 00085`), or Gemarkung-Flur-Zähler[/Nenner] (`3290-11-85/2`,
/// `Gemarkung 3290 Flur 11 Flurstück 85/2`).
fn parcel(text: &str) -> Option<ParcelKey> {
    let t = text.trim();
    let compact: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.' && *c != '/')
        .collect();
    let digits = compact.trim_end_matches('_');
    if (14..=20).contains(&compact.len())
        && digits.len() >= 14
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        let padded = format!("{digits:_<20}");
        return ParcelKey::of_key(&padded);
    }
    // Gemarkung, Flur, Zähler and Nenner as separate numbers, words around them ignored.
    let folded = fold(t);
    let lowered = folded.replace(['/', '-'], " ");
    let numbers: Vec<u32> = lowered
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.parse::<u32>().ok())
        .collect::<Option<Vec<_>>>()
        .or_else(|| {
            let named = ["gemarkung", "flur", "flurstueck", "fst", "flst", "gmk"];
            let words: Vec<&str> = lowered.split(' ').filter(|w| !w.is_empty()).collect();
            if !words.iter().any(|w| named.contains(w)) {
                return None;
            }
            words
                .iter()
                .filter(|w| !named.contains(w))
                .map(|w| w.parse::<u32>().ok())
                .collect()
        })?;
    let separated = t.contains(['-', '/']) || folded.contains("flur");
    match numbers.as_slice() {
        [g, f, z] if separated && *g >= 1000 && *g <= 9999 => Some(ParcelKey {
            land: None,
            gemarkung: *g,
            flur: *f,
            zaehler: *z,
            nenner: None,
        }),
        [g, f, z, n] if separated && *g >= 1000 && *g <= 9999 => Some(ParcelKey {
            land: None,
            gemarkung: *g,
            flur: *f,
            zaehler: *z,
            nenner: Some(*n),
        }),
        _ => None,
    }
}

/// Parses a search text.
pub fn parse(text: &str) -> Query {
    let parcel = parcel(text);
    let folded = fold(text);
    let tokens: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
    let mut q = Query {
        parcel,
        ..Query::default()
    };
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 5 && t.len() == 5 && q.postcode.is_none() {
            q.postcode = Some(t.to_string());
        } else if (1..=4).contains(&digits)
            && t.len() - digits <= 2
            && t[digits..].bytes().all(|b| b.is_ascii_lowercase())
        {
            // `12 a`: a single letter after a number is its suffix.
            let mut number = t.to_string();
            if t.len() == digits {
                if let Some(next) = tokens.get(i + 1) {
                    if next.len() == 1 && next.bytes().all(|b| b.is_ascii_lowercase()) {
                        number.push_str(next);
                        i += 1;
                    }
                }
            }
            q.number = Some(number);
        } else {
            q.words.push(t.to_string());
        }
        i += 1;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_in_the_ways_people_write_it() {
        let q = parse("Kettwiger Str. 12 a, 45127 Essen");
        assert_eq!(q.words, vec!["kettwiger", "str", "essen"]);
        assert_eq!(q.number.as_deref(), Some("12a"));
        assert_eq!(q.postcode.as_deref(), Some("45127"));
        let q = parse("45127 essen kettwiger strasse 12A");
        assert_eq!(q.number.as_deref(), Some("12a"));
        assert_eq!(parse("Straße des 17. Juni").number.as_deref(), Some("17"));
        assert_eq!(parse("Marktplatz").number, None);
    }

    #[test]
    fn parcel_keys_in_any_common_spelling() {
        let full = ParcelKey::of_key("05329001100085______").unwrap();
        for text in [
            "05329001100085______",
            "05329001100085",
            "05 3290 011 00085",
            "053290-011-00085",
            "3290-11-85",
            "Gemarkung 3290 Flur 11 Flurstück 85",
        ] {
            let parsed = parcel(text).unwrap_or_else(|| panic!("{text}"));
            assert!(parsed.matches(&full), "{text}: {parsed:?}");
        }
        assert!(parcel("3290-11-85/2").unwrap().nenner == Some(2));
        assert!(parcel("Kettwiger Str 12").is_none());
        assert!(parcel("45127").is_none());
    }
}
