//! Profiles of the three county kinds: which source columns carry the canonical attributes the
//! citizen endpoints rely on, and which values must be rejected.
//!
//! A profile serves a recognised source column under its canonical name (SQL column and API
//! property alike, so that an app written against one county works in the next; the source
//! name is kept in [`Column::source`] and shown in the queryables) and adds row checks that run
//! with the geometry validation, so a malformed key is rejected like an empty geometry: with
//! its feature index.

use crate::catalog::{Column, ColumnType, DatasetKind};

use super::IngestError;
use crate::value::Value;

/// A canonical attribute and the source names it is recognised by (compared after sanitising,
/// so `FLSTKENNZ`, `flstkennz` and `Flst-Kennz` all match `flstkennz`).
struct Field {
    canonical: &'static str,
    aliases: &'static [&'static str],
    required: bool,
    /// The column must be text (keys lose their zeros as numbers).
    text: bool,
}

const PARCELS: &[Field] = &[
    Field {
        canonical: "flurstueckskennzeichen",
        aliases: &[
            "flurstueckskennzeichen",
            "flstkennz",
            "flurstkennz",
            "fsk",
            "kennzeichen",
            "flurstueckskennz",
        ],
        required: true,
        text: true,
    },
    Field {
        canonical: "gemarkung",
        aliases: &[
            "gemarkung",
            "gemaschl",
            "gemarkungsnummer",
            "gemarkungsschluessel",
            "gmk",
            // ALKIS NAS: gemarkung/AX_Gemarkung_Schluessel/gemarkungsnummer.
            "gemarkung_gemarkungsnummer",
        ],
        required: false,
        text: true,
    },
    Field {
        canonical: "flur",
        aliases: &["flur", "flurschl", "flurnummer", "flurnr"],
        required: false,
        text: false,
    },
    Field {
        canonical: "zaehler",
        aliases: &[
            "zaehler",
            "flstnrzae",
            "flurstueckszaehler",
            "flurstuecksnummer_zaehler",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "nenner",
        aliases: &[
            "nenner",
            "flstnrnen",
            "flurstuecksnenner",
            "flurstuecksnummer_nenner",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "amtlicheflaeche",
        aliases: &["amtlicheflaeche", "amtlflsfl", "flaeche", "amtl_flaeche"],
        required: false,
        text: false,
    },
];

const SOLAR: &[Field] = &[
    Field {
        canonical: "suitability",
        aliases: &[
            "suitability",
            "eignung",
            "eignungsklasse",
            "klasse",
            "eignung_pv",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "usable_area_m2",
        aliases: &[
            "usable_area_m2",
            "nutzbare_flaeche",
            "nutzflaeche",
            "eignungsflaeche",
            "usable_area",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "module_area_m2",
        aliases: &["module_area_m2", "modulflaeche", "module_area"],
        required: false,
        text: false,
    },
    Field {
        canonical: "kwp",
        aliases: &[
            "kwp",
            "leistung_kwp",
            "pv_leistung",
            "installierbare_leistung",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "yield_kwh_a",
        aliases: &[
            "yield_kwh_a",
            "ertrag",
            "ertrag_kwh",
            "ertrag_kwh_a",
            "stromertrag",
            "jahresertrag",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "co2_saving_kg_a",
        aliases: &[
            "co2_saving_kg_a",
            "co2_einsparung",
            "co2_einsparung_kg",
            "co2",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "tilt_deg",
        aliases: &[
            "tilt_deg",
            "neigung",
            "dachneigung",
            "tilt",
            "derived_tilt_deg",
        ],
        required: false,
        text: false,
    },
    Field {
        canonical: "azimuth_deg",
        aliases: &[
            "azimuth_deg",
            "ausrichtung",
            "azimut",
            "azimuth",
            "derived_azimuth_deg",
        ],
        required: false,
        text: false,
    },
];

const AED: &[Field] = &[
    Field {
        canonical: "emergency",
        aliases: &["emergency"],
        required: false,
        text: true,
    },
    Field {
        canonical: "access",
        aliases: &["access", "zugang"],
        required: false,
        text: true,
    },
    Field {
        canonical: "indoor",
        aliases: &["indoor"],
        required: false,
        text: false,
    },
    Field {
        canonical: "level",
        aliases: &["level", "etage"],
        required: false,
        text: false,
    },
    Field {
        canonical: "opening_hours",
        aliases: &["opening_hours", "oeffnungszeiten"],
        required: false,
        text: true,
    },
    Field {
        canonical: "defibrillator_location",
        aliases: &["defibrillator_location", "location_details", "standort"],
        required: false,
        text: true,
    },
    Field {
        canonical: "operator",
        aliases: &["operator", "betreiber"],
        required: false,
        text: true,
    },
    Field {
        canonical: "phone",
        aliases: &["phone", "telefon", "contact_phone"],
        required: false,
        text: true,
    },
];

const ADDRESSES: &[Field] = &[
    Field {
        canonical: "street",
        aliases: &[
            "street",
            "strasse",
            "strassenname",
            "strname",
            "addr_street",
            "thoroughfarename",
            // ALKIS: AX_Lagebezeichnung*, the street written out.
            "lagebezeichnung_unverschluesselt",
            "unverschluesselt",
        ],
        required: false,
        text: true,
    },
    Field {
        canonical: "house_number",
        aliases: &[
            "house_number",
            "hausnummer",
            "hsnr",
            "addr_housenumber",
            "hnr",
        ],
        required: false,
        // Numbers where every one is a plain number; no zeros to lose.
        text: false,
    },
    Field {
        canonical: "house_number_suffix",
        aliases: &[
            "house_number_suffix",
            "hausnummernzusatz",
            "hsnrzu",
            "zusatz",
            "adz",
        ],
        required: false,
        text: true,
    },
    Field {
        canonical: "postcode",
        aliases: &["postcode", "plz", "postleitzahl", "addr_postcode"],
        required: false,
        text: true,
    },
    Field {
        canonical: "locality",
        aliases: &[
            "locality",
            "ort",
            "ortsname",
            "gemeindename",
            "addr_city",
            "city",
        ],
        required: false,
        text: true,
    },
    Field {
        canonical: "district",
        aliases: &[
            "district",
            "ortsteil",
            "ortsteilname",
            "stadtteil",
            "stadtbezirk",
            "addr_suburb",
            "suburb",
        ],
        required: false,
        text: true,
    },
    Field {
        canonical: "ags",
        aliases: &[
            "ags",
            "gemeindeschluessel",
            "amtlicher_gemeindeschluessel",
            "gemeindekennzeichen",
            "gmdschl",
        ],
        required: false,
        // An AGS keeps its leading zero (03355…).
        text: true,
    },
    Field {
        canonical: "street_key",
        aliases: &[
            "street_key",
            "strschl",
            "strassenschluessel",
            "lage",
            "lagebezeichnung_lage",
        ],
        required: false,
        // The GML and CSV readers keep a key with leading zeros as text already.
        text: false,
    },
];

/// A row check: features whose value of `field` breaks `rule` are rejected with `reason`,
/// followed by the value. Checked on the stream, before the value reaches the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCheck {
    /// The name in the source: what the stream carries, and what the report names.
    pub field: String,
    pub rule: Rule,
    pub reason: &'static str,
}

/// What a [`RowCheck`] requires of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The 20-character Flurstückskennzeichen: Land 2, Gemarkung 4, Flur 3, Zähler 5 digits,
    /// then Nenner 4 digits or `____`, Folge 2 digits or `__`.
    ParcelKey,
}

impl RowCheck {
    /// The value as the report shows it when the feature breaks the rule (`missing` for a null).
    pub fn violation(&self, value: Option<&Value>) -> Option<String> {
        let Some(value) = value else {
            return Some("missing".into());
        };
        let text = value.to_text();
        let ok = match self.rule {
            Rule::ParcelKey => is_parcel_key(&text),
        };
        (!ok).then(|| format!("'{text}'"))
    }
}

/// A Flurstückskennzeichen as ALKIS writes it: 20 characters, a missing Nenner or Folge as `_`.
pub fn is_parcel_key(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let digits_or_blank =
        |r: std::ops::Range<usize>| digits(r.clone()) || b[r].iter().all(|&c| c == b'_');
    b.len() == 20 && digits(0..14) && digits_or_blank(14..18) && digits_or_blank(18..20)
}

fn fields(kind: DatasetKind) -> &'static [Field] {
    match kind {
        DatasetKind::Parcels => PARCELS,
        DatasetKind::Solar => SOLAR,
        DatasetKind::Aed => AED,
        DatasetKind::Addresses => ADDRESSES,
        DatasetKind::Generic
        | DatasetKind::Buildings
        | DatasetKind::Roofs
        | DatasetKind::Osm
        | DatasetKind::Coverage => &[],
    }
}

/// Maps the profile of `kind` onto `columns` (renaming SQL names to canonical ones) and returns
/// the row checks. `overrides` are `(canonical, source name)` pairs from `--map`.
pub fn apply(
    kind: DatasetKind,
    columns: &mut [Column],
    overrides: &[(String, String)],
) -> Result<Vec<RowCheck>, IngestError> {
    let fields = fields(kind);
    for (canonical, _) in overrides {
        if !fields.iter().any(|f| f.canonical == canonical) {
            let known: Vec<&str> = fields.iter().map(|f| f.canonical).collect();
            return Err(IngestError::Profile(format!(
                "--map {canonical}=…: '{canonical}' is not an attribute of the {} profile (known: {})",
                kind.as_str(),
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
    }
    let mut checks = Vec::new();
    for field in fields {
        let position = match overrides.iter().find(|(c, _)| c == field.canonical) {
            Some((_, source)) => Some(
                columns
                    .iter()
                    .position(|c| c.source_name() == source)
                    .ok_or_else(|| {
                        IngestError::Profile(format!(
                            "--map {}={source}: the file has no column '{source}'",
                            field.canonical
                        ))
                    })?,
            ),
            None => field.aliases.iter().find_map(|alias| {
                columns
                    .iter()
                    .position(|c| super::schema::sanitize(c.source_name()) == *alias)
            }),
        };
        let Some(i) = position else {
            if field.required {
                return Err(IngestError::Profile(format!(
                    "the {} profile needs a column '{}' (looked for {}); name it with --map {}=COLUMN",
                    kind.as_str(),
                    field.canonical,
                    field.aliases.join(", "),
                    field.canonical
                )));
            }
            continue;
        };
        if field.text && columns[i].ty != ColumnType::Text {
            return Err(IngestError::Profile(format!(
                "column '{}' ({}) holds {} values; it must be text so that keys keep their leading zeros",
                columns[i].original,
                field.canonical,
                columns[i].ty.sql_type()
            )));
        }
        // Another column already called like the canonical name makes way.
        if let Some(j) = columns
            .iter()
            .position(|c| c.name == field.canonical || c.original == field.canonical)
        {
            if j != i {
                let other = &mut columns[j];
                other.source.get_or_insert_with(|| other.original.clone());
                other.name = format!("{}_source", other.name);
                other.original = format!("{}_source", other.original);
            }
        }
        let column = &mut columns[i];
        column.name = field.canonical.to_string();
        if column.original != field.canonical {
            column.source.get_or_insert_with(|| column.original.clone());
            column.original = field.canonical.to_string();
        }
        if kind == DatasetKind::Parcels && field.canonical == "flurstueckskennzeichen" {
            checks.push(RowCheck {
                field: column.source_name().to_string(),
                rule: Rule::ParcelKey,
                reason: "malformed Flurstückskennzeichen (20 characters: Land 2, Gemarkung 4, Flur 3, Zähler 5, Nenner 4 or ____, Folge 2 or __)",
            });
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parcel_keys() {
        for ok in [
            "05334002100123000100",
            "053340021001230000__",
            "05334002100123______",
        ] {
            assert!(is_parcel_key(ok), "{ok}");
        }
        for bad in [
            "0533400210012300010",
            "053340021001230001000",
            "0533400210012300_100",
            "05334002100123000_00",
            "0533400210012X000100",
            "05334002100123000100\n",
        ] {
            assert!(!is_parcel_key(bad), "{bad}");
        }
        let check = RowCheck {
            field: "fsk".into(),
            rule: Rule::ParcelKey,
            reason: "",
        };
        assert_eq!(check.violation(None).as_deref(), Some("missing"));
        assert_eq!(
            check.violation(Some(&Value::Int(123))).as_deref(),
            Some("'123'")
        );
        assert_eq!(
            check.violation(Some(&Value::Text("05334002100123000100".into()))),
            None
        );
    }

    fn col(name: &str, ty: ColumnType) -> Column {
        Column {
            name: super::super::schema::sanitize(name),
            original: name.into(),
            ty,
            source: None,
        }
    }

    #[test]
    fn alkis_vereinfacht_names_map_to_canonical() {
        let mut columns = vec![
            col("FLSTKENNZ", ColumnType::Text),
            col("GEMASCHL", ColumnType::Text),
            col("FLURSCHL", ColumnType::Text),
            col("FLSTNRZAE", ColumnType::Integer),
            col("FLAECHE", ColumnType::Float),
        ];
        let checks = apply(DatasetKind::Parcels, &mut columns, &[]).unwrap();
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "flurstueckskennzeichen",
                "gemarkung",
                "flur",
                "zaehler",
                "amtlicheflaeche"
            ]
        );
        // Served under the canonical names; the source names are kept and read by.
        let served: Vec<&str> = columns.iter().map(|c| c.original.as_str()).collect();
        assert_eq!(served, names);
        let sources: Vec<&str> = columns.iter().map(Column::source_name).collect();
        assert_eq!(
            sources,
            ["FLSTKENNZ", "GEMASCHL", "FLURSCHL", "FLSTNRZAE", "FLAECHE"]
        );
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].field, "FLSTKENNZ");
    }

    #[test]
    fn a_column_named_like_a_canonical_attribute_makes_way() {
        // `--map` takes FSK for the key; the file's own `flurstueckskennzeichen` column is
        // served beside it under another name, and both are still read by their source names.
        let mut columns = vec![
            col("flurstueckskennzeichen", ColumnType::Text),
            col("FSK", ColumnType::Text),
        ];
        apply(
            DatasetKind::Parcels,
            &mut columns,
            &[("flurstueckskennzeichen".into(), "FSK".into())],
        )
        .unwrap();
        let served: Vec<(&str, &str)> = columns
            .iter()
            .map(|c| (c.original.as_str(), c.source_name()))
            .collect();
        assert_eq!(
            served,
            [
                ("flurstueckskennzeichen_source", "flurstueckskennzeichen"),
                ("flurstueckskennzeichen", "FSK")
            ]
        );
    }

    #[test]
    fn parcels_need_a_text_key() {
        let mut none = vec![col("name", ColumnType::Text)];
        assert!(matches!(
            apply(DatasetKind::Parcels, &mut none, &[]),
            Err(IngestError::Profile(_))
        ));
        let mut numeric = vec![col("fsk", ColumnType::Integer)];
        assert!(matches!(
            apply(DatasetKind::Parcels, &mut numeric, &[]),
            Err(IngestError::Profile(_))
        ));
        let mut mapped = vec![col("Schluessel", ColumnType::Text)];
        apply(
            DatasetKind::Parcels,
            &mut mapped,
            &[("flurstueckskennzeichen".into(), "Schluessel".into())],
        )
        .unwrap();
        assert_eq!(mapped[0].name, "flurstueckskennzeichen");
    }

    #[test]
    fn osm_tags_map_for_aed() {
        let mut columns = vec![
            col("defibrillator:location", ColumnType::Text),
            col("opening_hours", ColumnType::Text),
        ];
        apply(DatasetKind::Aed, &mut columns, &[]).unwrap();
        assert_eq!(columns[0].name, "defibrillator_location");
        let err = apply(
            DatasetKind::Aed,
            &mut columns,
            &[("kwp".into(), "x".into())],
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("not an attribute of the aed profile"));
    }
}
