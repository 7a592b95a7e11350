//! What ALKIS defines beyond plain GML: the Flurstückskennzeichen of an `AX_Flurstueck`,
//! built from its parts as the GeoInfoDok's "Bildungsregel" says: Land (2), Gemarkungsnummer
//! (4), Flurnummer (3), Zähler (5), Nenner (4), Flurstücksfolge (2), each right-aligned with
//! leading zeros, an absent Flurnummer, Nenner or Folge written as underscores; always 20
//! characters.

use super::properties::Leaf;

/// Attributes that are keys of official registers (the AGS, Gemarkung, Straßenschlüssel): their
/// digits are text whose leading zeros count, even where a value has none.
pub fn is_key(name: &str) -> bool {
    const KEYS: &[&str] = &[
        "land",
        "regierungsbezirk",
        "kreis",
        "gemeinde",
        "gemeindeteil",
        "gemarkungsnummer",
        "lage",
        "schluesselgesamt",
        "flurstueckskennzeichen",
    ];
    let leaf = name.rsplit('_').next().unwrap_or(name);
    KEYS.contains(&leaf)
}

/// The value of the single-valued attribute `name`.
fn text<'a>(attrs: &'a [(String, Vec<Leaf>)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        attrs
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v.as_slice() {
                [Leaf::Text(t)] => Some(t.trim()),
                _ => None,
            })
    })
}

/// A key part right-aligned in `width` digits; `None` when it is not a number of at most
/// `width` digits.
fn digits(value: &str, width: usize) -> Option<String> {
    (!value.is_empty() && value.len() <= width && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{value:0>width$}"))
}

/// The Flurstückskennzeichen the parts of an `AX_Flurstueck` make, or why they make none.
pub fn flurstueckskennzeichen(attrs: &[(String, Vec<Leaf>)]) -> Result<String, String> {
    let part = |names: &[&str], width: usize, required: bool| -> Result<String, String> {
        match text(attrs, names) {
            Some(value) => digits(value, width).ok_or_else(|| {
                format!(
                    "{} '{value}' is not a number of at most {width} digits",
                    names[0]
                )
            }),
            None if required => Err(format!("the parcel has no {}", names[0])),
            None => Ok("_".repeat(width)),
        }
    };
    let kennzeichen = [
        part(&["gemarkung_land", "land"], 2, true)?,
        part(&["gemarkung_gemarkungsnummer", "gemarkungsnummer"], 4, true)?,
        part(&["flurnummer"], 3, false)?,
        part(&["flurstuecksnummer_zaehler", "zaehler"], 5, true)?,
        part(&["flurstuecksnummer_nenner", "nenner"], 4, false)?,
        part(&["flurstuecksfolge"], 2, false)?,
    ]
    .concat();
    Ok(kennzeichen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, Vec<Leaf>)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), vec![Leaf::Text(v.to_string())]))
            .collect()
    }

    #[test]
    fn the_bildungsregel() {
        let bonn = attrs(&[
            ("gemarkung_land", "05"),
            ("gemarkung_gemarkungsnummer", "4320"),
            ("flurstuecksnummer_zaehler", "8"),
            ("flurnummer", "25"),
        ]);
        assert_eq!(
            flurstueckskennzeichen(&bonn).unwrap(),
            "05432002500008______"
        );
        let with_nenner = attrs(&[
            ("gemarkung_land", "03"),
            ("gemarkung_gemarkungsnummer", "1234"),
            ("flurnummer", "7"),
            ("flurstuecksnummer_zaehler", "123"),
            ("flurstuecksnummer_nenner", "4"),
        ]);
        assert_eq!(
            flurstueckskennzeichen(&with_nenner).unwrap(),
            "031234007001230004__"
        );
        let flurlos = attrs(&[
            ("gemarkung_land", "09"),
            ("gemarkung_gemarkungsnummer", "1234"),
            ("flurstuecksnummer_zaehler", "55"),
        ]);
        assert_eq!(
            flurstueckskennzeichen(&flurlos).unwrap(),
            "091234___00055______"
        );
        assert!(flurstueckskennzeichen(&attrs(&[("gemarkung_land", "05")])).is_err());
        let bad = attrs(&[
            ("gemarkung_land", "05"),
            ("gemarkung_gemarkungsnummer", "4320"),
            ("flurstuecksnummer_zaehler", "12a"),
        ]);
        assert!(flurstueckskennzeichen(&bad)
            .unwrap_err()
            .contains("zaehler"));
    }
}
