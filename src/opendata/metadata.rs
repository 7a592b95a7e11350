//! What the open-data catalog says about the county (the [`Publisher`], entered once) and about
//! each dataset ([`DatasetMetadata`], every field optional: what is left out comes from the
//! publisher or from the dataset's kind). Values from controlled vocabularies are checked here,
//! so the catalog only ever holds codes a harvester knows.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::DatasetKind;
use crate::error::{Error, Result};

/// DCAT-AP.de's license vocabulary (`http://dcat-ap.de/def/licenses/…`): the licences German
/// open data is published under, with their titles.
pub const LICENSES: &[(&str, &str)] = &[
    ("dl-by-de/2.0", "Datenlizenz Deutschland – Namensnennung – Version 2.0"),
    ("dl-zero-de/2.0", "Datenlizenz Deutschland – Zero – Version 2.0"),
    ("cc-by/4.0", "Creative Commons Namensnennung – 4.0 International (CC BY 4.0)"),
    ("cc-by-sa/4.0", "Creative Commons Namensnennung – Weitergabe unter gleichen Bedingungen 4.0 International (CC BY-SA 4.0)"),
    ("cc-by-nd/4.0", "Creative Commons Namensnennung – Keine Bearbeitung 4.0 International (CC BY-ND 4.0)"),
    ("cc-zero", "Creative Commons CC Zero License (cc-zero)"),
    ("odbl", "Open Data Commons Open Database License (ODbL)"),
    ("geonutz/20130319", "Nutzungsbestimmungen für die Bereitstellung von Geodaten des Bundes"),
    ("officialWork", "Amtliches Werk, lizenzfrei nach §5 Abs. 1 UrhG"),
    ("other-open", "Andere offene Lizenz"),
];

/// The title of a DCAT-AP.de licence IRI.
pub fn license_title(iri: &str) -> Option<&'static str> {
    let code = iri.strip_prefix(LICENSE_BASE)?;
    LICENSES.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}
pub const LICENSE_BASE: &str = "http://dcat-ap.de/def/licenses/";

/// The EU data themes (`http://publications.europa.eu/resource/authority/data-theme/…`).
pub const THEMES: &[&str] = &[
    "AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR", "JUST", "REGI", "SOCI", "TECH",
    "TRAN",
];
pub const THEME_BASE: &str = "http://publications.europa.eu/resource/authority/data-theme/";

/// The EU frequencies a county's data is updated with
/// (`http://publications.europa.eu/resource/authority/frequency/…`).
pub const FREQUENCIES: &[&str] = &[
    "CONT",
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "QUARTERLY",
    "ANNUAL_2",
    "ANNUAL",
    "BIENNIAL",
    "IRREG",
    "NEVER",
    "UNKNOWN",
];
pub const FREQUENCY_BASE: &str = "http://publications.europa.eu/resource/authority/frequency/";

/// The categories of high-value datasets (Implementing Regulation (EU) 2023/138, EU vocabulary
/// "high-value dataset category", `http://data.europa.eu/bna/…`): the six themes and the
/// sub-categories of the geospatial and the earth-observation theme a county holds.
pub const HVD_CATEGORIES: &[(&str, &str)] = &[
    ("c_ac64a52d", "Georaum"),
    ("c_c3de25e4", "Georaum / Adressen"),
    (
        "c_6a3f6896",
        "Georaum / Flurstücke/Grundstücke (Katasterparzellen)",
    ),
    ("c_60182062", "Georaum / Gebäude"),
    ("c_6c2bb82d", "Georaum / Geografische Bezeichnungen"),
    ("c_642643e6", "Georaum / Landwirtschaftliche Parzellen"),
    ("c_fbd2fc3f", "Georaum / Referenzparzellen"),
    ("c_9427236f", "Georaum / Verwaltungseinheiten"),
    ("c_dd313021", "Erdbeobachtung und Umwelt"),
    (
        "c_b40e6d46",
        "Erdbeobachtung und Umwelt / Ozeanografisch-geografische Kennwerte",
    ),
    (
        "c_59c93ba5",
        "Erdbeobachtung und Umwelt / Produktions- und Industrieanlagen",
    ),
    ("c_83aa10a6", "Erdbeobachtung und Umwelt / Schutzgebiete"),
    (
        "c_7b8fbb64",
        "Erdbeobachtung und Umwelt / Umweltüberwachungseinrichtungen",
    ),
    (
        "c_793164b6",
        "Erdbeobachtung und Umwelt / Verteilung der Arten",
    ),
    ("c_43f88346", "Erdbeobachtung und Umwelt / Wasser"),
    ("c_164e0bf5", "Meteorologie"),
    ("c_e1da4e07", "Statistik"),
    (
        "c_a9135398",
        "Unternehmen und Eigentümerschaft von Unternehmen",
    ),
    ("c_b79e35eb", "Mobilität"),
];
pub const HVD_CATEGORY_BASE: &str = "http://data.europa.eu/bna/";
/// The HVD category vocabulary (its concept scheme).
pub const HVD_CATEGORY_SCHEME: &str = "http://data.europa.eu/bna/asd487ae75";
/// Implementing Regulation (EU) 2023/138, the legislation every HVD names
/// (`dcatap:applicableLegislation`).
pub const HVD_LEGISLATION: &str = "http://data.europa.eu/eli/reg_impl/2023/138/oj";

/// German text with an optional English version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    #[schema(example = "Flurstücke im Landkreis")]
    pub de: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Parcels in the county")]
    pub en: Option<String>,
}

impl Text {
    pub fn de(text: impl Into<String>) -> Self {
        Self {
            de: text.into(),
            en: None,
        }
    }
}

/// Who answers questions about the data (a vCard organisation: at least one way to reach it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[schema(example = "Fachdienst Geodaten")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "geodaten@landkreis.example")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "+49 4131 26-0")]
    pub phone: Option<String>,
}

/// The county as publisher: entered once, the default of every dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Publisher {
    /// Name of the administration, e.g. "Landkreis Lüneburg".
    #[schema(example = "Landkreis Lüneburg")]
    pub name: String,
    /// The publisher's IRI (its web site will do).
    #[schema(example = "https://www.landkreis-lueneburg.de/")]
    pub uri: String,
    /// The county's key (Kreisschlüssel, the first five digits of the AGS): the datasets'
    /// political geocoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "03355")]
    pub district_key: Option<String>,
    /// A municipality's key (Amtlicher Gemeindeschlüssel, eight digits): the political
    /// geocoding of a municipality's datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "03355022")]
    pub municipality_key: Option<String>,
    /// dcatde:contributorID, the IRI GovData assigned to the county's portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributor_id: Option<String>,
    pub contact: Contact,
    /// Title of the catalog [default: "Offene Geodaten: {name}"].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_title: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_description: Option<Text>,
    /// Default licence: a DCAT-AP.de licence IRI.
    #[schema(example = "http://dcat-ap.de/def/licenses/dl-by-de/2.0")]
    pub license: String,
    /// The attribution the licence asks for (dcatde:licenseAttributionByText).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "© Landkreis Lüneburg")]
    pub license_attribution_by_text: Option<String>,
    /// Impressum, Datenschutzerklärung and Erklärung zur Barrierefreiheit: what the pages on
    /// every HTML page say beyond the name and contact above [default: German defaults for
    /// the Land of the district key].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal: Option<crate::legal::Legal>,
}

impl Publisher {
    /// Until a county enters its own: a publisher named after the service, so that the catalog
    /// is complete and valid, and says plainly that it is not configured.
    pub fn unconfigured(base_url: &str) -> Self {
        Self {
            name: "kreisgeo (Herausgeber nicht eingetragen)".into(),
            uri: format!("{base_url}/"),
            district_key: None,
            municipality_key: None,
            contributor_id: None,
            contact: Contact {
                name: "Betreiber dieses Dienstes".into(),
                email: None,
                url: Some(format!("{base_url}/")),
                phone: None,
            },
            catalog_title: None,
            catalog_description: None,
            license: format!("{LICENSE_BASE}dl-by-de/2.0"),
            license_attribution_by_text: None,
            legal: None,
        }
    }

    pub fn catalog_title(&self) -> Text {
        self.catalog_title.clone().unwrap_or_else(|| Text {
            de: format!("Offene Geodaten: {}", self.name),
            en: Some(format!("Open geodata: {}", self.name)),
        })
    }

    pub fn catalog_description(&self) -> Text {
        self.catalog_description.clone().unwrap_or_else(|| Text {
            de: format!(
                "Geodaten von {}: Liegenschaftskataster, Solarpotenzial, Defibrillatoren und mehr, \
                 als OGC API, Vektorkacheln und Downloads.",
                self.name
            ),
            en: Some(format!(
                "Geodata of {}: cadastre, solar potential, defibrillators and more, as OGC API, \
                 vector tiles and downloads.",
                self.name
            )),
        })
    }

    /// Checks every field; the error names the first wrong one.
    pub fn validate(&self) -> Result<()> {
        printable(&serde_json::to_value(self).unwrap_or_default(), "")?;
        non_empty("name", &self.name)?;
        iri("uri", &self.uri)?;
        if let Some(key) = &self.district_key {
            if key.len() != 5 || !key.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::invalid(
                    "districtKey",
                    format!("'{key}' is not a Kreisschlüssel (five digits, e.g. 03355)"),
                ));
            }
        }
        if let Some(key) = &self.municipality_key {
            if key.len() != 8 || !key.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::invalid(
                    "municipalityKey",
                    format!(
                        "'{key}' is not an Amtlicher Gemeindeschlüssel (eight digits, e.g. 03355022)"
                    ),
                ));
            }
        }
        if let Some(id) = &self.contributor_id {
            iri("contributorId", id)?;
        }
        self.contact.validate("contact")?;
        license("license", &self.license)?;
        if let Some(l) = &self.legal {
            l.validate("legal")?;
        }
        Ok(())
    }
}

/// A period the data covers; either end may be open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Temporal {
    /// First day covered (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2024-01-01")]
    pub start: Option<String>,
    /// Last day covered (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// What a dataset says about itself beyond its data; left-out fields take the defaults of the
/// publisher and of the dataset's kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatasetMetadata {
    /// [default: the dataset's title]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// [default: the dataset's description, else one for its kind]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// [default: keywords of its kind]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["Defibrillator", "AED"]))]
    pub keywords: Vec<String>,
    /// EU data-theme codes [default: those of its kind].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["HEAL"]))]
    pub themes: Vec<String>,
    /// DCAT-AP.de licence IRI [default: the publisher's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_attribution_by_text: Option<String>,
    /// EU frequency code, e.g. ANNUAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "QUARTERLY")]
    pub accrual_periodicity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal: Option<Temporal>,
    /// [default: the publisher's contact]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// How the data came about: its sources and method (`dct:provenance`); a computed
    /// dataset names its inputs and parameters here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Text>,
    /// High-value dataset categories (Implementing Regulation (EU) 2023/138) by code of the
    /// EU vocabulary, e.g. `c_6a3f6896` (cadastral parcels); `[]` says the dataset is no HVD
    /// [default: parcels `c_6a3f6896`, buildings `c_60182062`, addresses `c_c3de25e4`; other
    /// kinds none].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["c_6a3f6896"]))]
    pub hvd_categories: Option<Vec<String>>,
}

impl DatasetMetadata {
    /// Checks every field; the error names the first wrong one.
    pub fn validate(&self) -> Result<()> {
        printable(&serde_json::to_value(self).unwrap_or_default(), "")?;
        for (name, text) in [
            ("title", &self.title),
            ("description", &self.description),
            ("provenance", &self.provenance),
        ] {
            if let Some(t) = text {
                non_empty(&format!("{name}.de"), &t.de)?;
            }
        }
        for (i, k) in self.keywords.iter().enumerate() {
            non_empty(&format!("keywords[{i}]"), k)?;
        }
        for (i, t) in self.themes.iter().enumerate() {
            if !THEMES.contains(&t.as_str()) {
                return Err(Error::invalid(
                    format!("themes[{i}]"),
                    format!(
                        "'{t}' is not an EU data theme; one of {}",
                        THEMES.join(", ")
                    ),
                ));
            }
        }
        if let Some(l) = &self.license {
            license("license", l)?;
        }
        if let Some(f) = &self.accrual_periodicity {
            if !FREQUENCIES.contains(&f.as_str()) {
                return Err(Error::invalid(
                    "accrualPeriodicity",
                    format!(
                        "'{f}' is not an EU frequency; one of {}",
                        FREQUENCIES.join(", ")
                    ),
                ));
            }
        }
        if let Some(t) = &self.temporal {
            for (name, day) in [("temporal.start", &t.start), ("temporal.end", &t.end)] {
                if let Some(d) = day {
                    if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                        return Err(Error::invalid(
                            name,
                            format!("'{d}' is not a date (YYYY-MM-DD)"),
                        ));
                    }
                }
            }
            if t.start.is_none() && t.end.is_none() {
                return Err(Error::invalid("temporal", "give start, end or both"));
            }
            if let (Some(s), Some(e)) = (&t.start, &t.end) {
                if s > e {
                    return Err(Error::invalid("temporal", "start is after end"));
                }
            }
        }
        if let Some(c) = &self.contact {
            c.validate("contact")?;
        }
        for (i, code) in self.hvd_categories.iter().flatten().enumerate() {
            if !HVD_CATEGORIES.iter().any(|(c, _)| c == code) {
                return Err(Error::invalid(
                    format!("hvdCategories[{i}]"),
                    format!(
                        "'{code}' is not a high-value dataset category; one of {}",
                        HVD_CATEGORIES
                            .iter()
                            .map(|(c, label)| format!("{c} ({label})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Contact {
    pub(crate) fn validate(&self, at: &str) -> Result<()> {
        non_empty(&format!("{at}.name"), &self.name)?;
        if self.email.is_none() && self.url.is_none() && self.phone.is_none() {
            return Err(Error::invalid(
                at,
                "give at least one of email, url and phone",
            ));
        }
        if let Some(e) = &self.email {
            if !is_email(e) {
                return Err(Error::invalid(
                    format!("{at}.email"),
                    format!("'{e}' is not an e-mail address"),
                ));
            }
        }
        if let Some(u) = &self.url {
            iri(&format!("{at}.url"), u)?;
        }
        if let Some(p) = &self.phone {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            if !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-/()".contains(c))
                || !(3..=20).contains(&digits)
                || p.len() > 40
                || p.chars().skip(1).any(|c| c == '+')
            {
                return Err(Error::invalid(
                    format!("{at}.phone"),
                    format!("'{p}' is not a telephone number"),
                ));
            }
        }
        Ok(())
    }
}

/// What the catalog itself says of a dataset: the defaults of its metadata.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a> {
    pub kind: DatasetKind,
    pub title: &'a str,
    pub description: Option<&'a str>,
}

impl<'a> From<&'a crate::catalog::Collection> for Dataset<'a> {
    fn from(c: &'a crate::catalog::Collection) -> Self {
        Self {
            kind: c.kind,
            title: &c.title,
            description: c.description.as_deref(),
        }
    }
}

/// A dataset's metadata with every default applied: what the catalog and the CKAN API show.
pub struct Resolved<'a> {
    pub title: Text,
    pub description: Text,
    pub keywords: Vec<String>,
    /// EU data-theme codes.
    pub themes: Vec<String>,
    /// DCAT-AP.de licence IRI.
    pub license: &'a str,
    pub attribution: Option<&'a str>,
    pub contact: &'a Contact,
    pub accrual_periodicity: Option<&'a str>,
    pub temporal: Option<&'a Temporal>,
    /// High-value dataset category codes; empty for a dataset that is no HVD.
    pub hvd_categories: Vec<String>,
}

impl DatasetMetadata {
    /// This metadata over the defaults of the publisher and of the dataset (its kind, title
    /// and description in the catalog).
    pub fn resolve<'a>(&'a self, dataset: Dataset<'_>, publisher: &'a Publisher) -> Resolved<'a> {
        let defaults = kind_defaults(dataset.kind);
        let or_defaults = |given: &[String], default: &[&str]| -> Vec<String> {
            if given.is_empty() {
                default.iter().map(ToString::to_string).collect()
            } else {
                given.to_vec()
            }
        };
        Resolved {
            title: self
                .title
                .clone()
                .unwrap_or_else(|| Text::de(dataset.title)),
            description: self
                .description
                .clone()
                .or_else(|| dataset.description.map(Text::de))
                .unwrap_or(defaults.description),
            keywords: or_defaults(&self.keywords, defaults.keywords),
            themes: or_defaults(&self.themes, defaults.themes),
            license: self
                .license
                .as_deref()
                .or(defaults.license)
                .unwrap_or(&publisher.license),
            attribution: self
                .license_attribution_by_text
                .as_deref()
                .or(defaults.attribution)
                .or(publisher.license_attribution_by_text.as_deref()),
            contact: self.contact.as_ref().unwrap_or(&publisher.contact),
            accrual_periodicity: self.accrual_periodicity.as_deref(),
            temporal: self.temporal.as_ref(),
            hvd_categories: self
                .hvd_categories
                .clone()
                .unwrap_or_else(|| defaults.hvd.iter().map(ToString::to_string).collect()),
        }
    }
}

/// Defaults of a dataset kind: a description, keywords and themes.
pub struct KindDefaults {
    pub description: Text,
    pub keywords: &'static [&'static str],
    pub themes: &'static [&'static str],
    /// A licence the data of this kind always has (OpenStreetMap's ODbL), over the
    /// publisher's default.
    pub license: Option<&'static str>,
    pub attribution: Option<&'static str>,
    /// High-value dataset categories of the kind (the regulation names parcels, buildings
    /// and addresses).
    pub hvd: &'static [&'static str],
}

/// The filter of the high-value datasets: the kinds that are HVD unless their metadata says
/// otherwise.
pub fn hvd_filter() -> crate::catalog::repo::HvdFilter {
    crate::catalog::repo::HvdFilter {
        kinds: DatasetKind::ALL
            .into_iter()
            .filter(|k| !kind_defaults(*k).hvd.is_empty())
            .map(|k| k.as_str().to_string())
            .collect(),
    }
}

pub fn kind_defaults(kind: DatasetKind) -> KindDefaults {
    match kind {
        DatasetKind::Parcels => KindDefaults {
            description: Text {
                de: "Flurstücke des Liegenschaftskatasters (ALKIS) mit Flurstückskennzeichen, \
                     Gemarkung, Flur und amtlicher Fläche."
                    .into(),
                en: Some("Cadastral parcels (ALKIS) with parcel key and official area.".into()),
            },
            keywords: &["Flurstück", "Liegenschaftskataster", "ALKIS"],
            themes: &["REGI", "GOVE"],
            license: None,
            attribution: None,
            hvd: &["c_6a3f6896"],
        },
        DatasetKind::Solar => KindDefaults {
            description: Text {
                de: "Solarpotenzial der Dachflächen: Eignung, nutzbare Fläche und erwarteter \
                     Jahresertrag."
                    .into(),
                en: Some("Solar potential of roofs: suitability, usable area, yield.".into()),
            },
            keywords: &["Solarpotenzial", "Photovoltaik", "Dachflächen"],
            themes: &["ENER", "ENVI"],
            license: None,
            attribution: None,
            hvd: &[],
        },
        DatasetKind::Aed => KindDefaults {
            description: Text {
                de: "Standorte öffentlich zugänglicher Defibrillatoren (AED) mit Zugang und \
                     Öffnungszeiten."
                    .into(),
                en: Some("Public defibrillators (AED) with access and opening hours.".into()),
            },
            keywords: &["Defibrillator", "AED", "Erste Hilfe"],
            themes: &["HEAL"],
            license: None,
            attribution: None,
            hvd: &[],
        },
        DatasetKind::Buildings => KindDefaults {
            description: Text {
                de: "Gebäude mit Grundriss, Funktion, Dachform, Höhe und Adresse.".into(),
                en: Some(
                    "Buildings with footprint, function, roof type, height and address.".into(),
                ),
            },
            keywords: &["Gebäude", "3D-Gebäudemodell", "LoD2", "Hausumringe"],
            themes: &["REGI", "ENVI"],
            license: None,
            attribution: None,
            hvd: &["c_60182062"],
        },
        DatasetKind::Roofs => KindDefaults {
            description: Text {
                de: "Dachflächen der Gebäude (LoD2) mit Fläche, Neigung und Ausrichtung.".into(),
                en: Some("Roof surfaces of buildings (LoD2) with area, tilt and azimuth.".into()),
            },
            keywords: &["Dachflächen", "3D-Gebäudemodell", "LoD2"],
            themes: &["REGI", "ENER"],
            license: None,
            attribution: None,
            hvd: &[],
        },
        DatasetKind::Addresses => KindDefaults {
            description: Text {
                de: "Adressen: Straße, Hausnummer und Lage der Gebäude.".into(),
                en: Some("Addresses: street, house number and position of buildings.".into()),
            },
            keywords: &["Adressen", "Hauskoordinaten", "Lagebezeichnung"],
            themes: &["REGI"],
            license: None,
            attribution: None,
            hvd: &["c_c3de25e4"],
        },
        DatasetKind::Osm => KindDefaults {
            description: Text {
                de: "OpenStreetMap-Daten der Region: Straßen und Wege, Gewässer, Flächennutzung, \
                     Gebäude, Orte, Grenzen und Adressen (Grundkarte und Fußwegenetz)."
                    .into(),
                en: Some(
                    "OpenStreetMap data of the region: roads and paths, water, land use, \
                     buildings, places, boundaries and addresses (basemap, walking network)."
                        .into(),
                ),
            },
            keywords: &["OpenStreetMap", "Grundkarte", "Straßen", "Adressen"],
            themes: &["REGI", "TRAN"],
            // ODbL 1.0, whoever republishes it; attribution as openstreetmap.org/copyright asks.
            license: Some("http://dcat-ap.de/def/licenses/odbl"),
            attribution: Some("© OpenStreetMap-Mitwirkende"),
            hvd: &[],
        },
        DatasetKind::Coverage => KindDefaults {
            description: Text {
                de: "Erreichbarkeit öffentlicher Defibrillatoren (AED) zu Fuß: für jede Adresse \
                     die Gehminuten zum nächsten rund um die Uhr zugänglichen Gerät und zum \
                     nächsten zu einer gegebenen Zeit geöffneten, und die Gebiete jenseits einer \
                     Schwelle (Versorgungslücken). Berechnet auf dem Fußwegenetz von \
                     OpenStreetMap."
                    .into(),
                en: Some(
                    "Walking access to public defibrillators (AED): for every address the \
                     minutes to the nearest one accessible around the clock and to the nearest \
                     open at a given time, and the areas beyond a threshold (coverage gaps). \
                     Computed on OpenStreetMap's walking network."
                        .into(),
                ),
            },
            keywords: &[
                "Defibrillator",
                "AED",
                "Erreichbarkeit",
                "Versorgungslücken",
            ],
            themes: &["HEAL", "REGI"],
            // Derived from OpenStreetMap's ways (and addresses): a derived database under the
            // ODbL.
            license: Some("http://dcat-ap.de/def/licenses/odbl"),
            attribution: Some("© OpenStreetMap-Mitwirkende"),
            hvd: &[],
        },
        DatasetKind::Generic => KindDefaults {
            description: Text::de("Geodaten des Landkreises."),
            keywords: &[],
            themes: &[],
            license: None,
            attribution: None,
            hvd: &[],
        },
    }
}

/// An e-mail address that is also safe in a `mailto:` IRI: `local@domain.tld` with the
/// letters, digits and `._%+-` that real addresses use, labels of letters, digits and `-`.
pub fn is_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    e.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && labels.len() >= 2
        && labels.iter().all(|l| label(l))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// Refuses control characters in any text (line breaks and tabs aside): PostgreSQL stores no
/// NUL, and no catalog reader expects the others. The error names the field (`title.de`).
fn printable(value: &serde_json::Value, at: &str) -> Result<()> {
    let field = |name: &str| match at {
        "" => name.to_string(),
        _ => format!("{at}.{name}"),
    };
    match value {
        serde_json::Value::String(s) => {
            if let Some(c) = s
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(Error::invalid(
                    at,
                    format!("holds the control character U+{:04X}", u32::from(c)),
                ));
            }
            Ok(())
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| printable(v, &format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| printable(v, &field(k))),
        _ => Ok(()),
    }
}

fn non_empty(at: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid(at, "must not be empty"));
    }
    Ok(())
}

/// An absolute http(s) IRI without characters that RDF forbids in one.
fn iri(at: &str, s: &str) -> Result<()> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "<>\"{}|\\^`".contains(c));
    if !ok {
        return Err(Error::invalid(
            at,
            format!("'{s}' is not an absolute http(s) IRI"),
        ));
    }
    Ok(())
}

fn license(at: &str, s: &str) -> Result<()> {
    let known = s
        .strip_prefix(LICENSE_BASE)
        .is_some_and(|code| LICENSES.iter().any(|(c, _)| *c == code));
    if !known {
        return Err(Error::invalid(
            at,
            format!(
                "'{s}' is not a DCAT-AP.de licence IRI; one of {LICENSE_BASE}{{{}}}",
                LICENSES
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(e: Error) -> String {
        match e {
            Error::InvalidParameter { parameter, .. } => parameter,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_codes_are_named() {
        let m = DatasetMetadata {
            themes: vec!["HEAL".into(), "HEALTH".into()],
            ..Default::default()
        };
        assert_eq!(parameter(m.validate().unwrap_err()), "themes[1]");
        let m = DatasetMetadata {
            license: Some("https://creativecommons.org/licenses/by/4.0/".into()),
            ..Default::default()
        };
        assert_eq!(parameter(m.validate().unwrap_err()), "license");
        let m = DatasetMetadata {
            temporal: Some(Temporal {
                start: Some("2024-13-01".into()),
                end: None,
            }),
            ..Default::default()
        };
        assert_eq!(parameter(m.validate().unwrap_err()), "temporal.start");
        // PostgreSQL's jsonb takes no NUL: once a 500.
        let m = DatasetMetadata {
            title: Some(Text::de("a\u{0}b")),
            keywords: vec!["ok\nline".into(), "bell\u{7}".into()],
            ..Default::default()
        };
        assert_eq!(parameter(m.validate().unwrap_err()), "title.de");
        let m = DatasetMetadata {
            keywords: vec!["ok\nline".into(), "bell\u{7}".into()],
            ..Default::default()
        };
        assert_eq!(parameter(m.validate().unwrap_err()), "keywords[1]");
        let mut p = Publisher::unconfigured("http://localhost:8080");
        assert!(p.validate().is_ok());
        p.district_key = Some("3355".into());
        assert_eq!(parameter(p.validate().unwrap_err()), "districtKey");
        p.district_key = Some("03355".into());
        p.contact.email = Some("geodaten at kreis".into());
        assert_eq!(parameter(p.validate().unwrap_err()), "contact.email");
        // The probe's payload: an address that closes its IRI and adds triples.
        p.contact.email =
            Some("a@b.de> . <https://x/catalog/datasets/aed> <http://purl.org/dc/terms/title> \"x\" . <a@b.de".into());
        assert_eq!(parameter(p.validate().unwrap_err()), "contact.email");
        p.contact.email = Some("geodaten@landkreis-lueneburg.de".into());
        p.contact.phone = Some("+49 4131 26-0\n".into());
        assert_eq!(parameter(p.validate().unwrap_err()), "contact.phone");
        p.contact.phone = Some("+49 (4131) 26-0".into());
        assert!(p.validate().is_ok());
    }

    #[test]
    fn email_addresses() {
        for good in [
            "geodaten@landkreis-lueneburg.de",
            "a.b+c_d%e-f@x.y.de",
            "A@B.DE",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "a@b",
            "@b.de",
            "a@b.d",
            "a@.de",
            "a@-b.de",
            "a b@c.de",
            "a@b.de>",
            "a<@b.de",
            "a@b@c.de",
            "a..b@c.de",
            "a\"@b.de",
            "a@b.de\n",
            "a@b_c.de",
            "a@b.1e",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
