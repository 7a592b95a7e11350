//! What a public body's portal must say about itself (issue 23): the Impressum (§ 5 DDG,
//! § 18 MStV), the Datenschutzerklärung (Art. 13 DSGVO) and the Erklärung zur Barrierefreiheit
//! (BITV 2.0 § 7, EU 2016/2102 and its model statement, Implementing Decision (EU) 2018/1523).
//! Entered once per deployment as the `legal` part of the publisher profile; every field is
//! optional: what a county leaves out comes from its publisher profile and from defaults for
//! its Land (by the district key). The pages say plainly what the county still has to enter.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::opendata::metadata::Contact;

/// The legal texts' settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Legal {
    /// Postal address of the administration, one line each (Impressum).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["Auf dem Michaelisklosterhof 4", "21335 Lüneburg"]))]
    pub address: Vec<String>,
    /// Who represents the administration (Vertretungsberechtigte/r).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Landrat Jens Böther")]
    pub represented_by: Option<String>,
    /// The administration's supervisory authority (Aufsichtsbehörde).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisory_authority: Option<String>,
    /// Responsible for the content under § 18 Abs. 2 MStV (name and address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_for_content: Option<String>,
    /// Umsatzsteuer-Identifikationsnummer, if the administration has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    /// The data protection officer (Datenschutzbeauftragte/r, Art. 37 DSGVO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_protection_officer: Option<Contact>,
    /// The data protection supervisory authority [default: the Land's, by the district key].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_protection_authority: Option<String>,
    /// Days the server's access logs are kept (as the operator rotates them) [default: 7].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 365, example = 7)]
    pub log_retention_days: Option<u32>,
    /// How far the portal complies with BITV 2.0: `full`, `partial` or `none`
    /// [default: partial].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "partial")]
    pub accessibility_status: Option<String>,
    /// Barriers known beyond those kreisgeo states itself (in German).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accessibility_limits: Vec<String>,
    /// When the statement was prepared (YYYY-MM-DD) [default: the date of kreisgeo's own
    /// evaluation of this release].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-12-05")]
    pub accessibility_statement_date: Option<String>,
    /// Where barriers are reported (feedback mechanism) [default: the publisher's contact].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility_contact: Option<Contact>,
    /// The enforcement body for accessibility (Durchsetzungs- or Schlichtungsstelle)
    /// [default: the Land's, by the district key].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement_body: Option<Body>,
}

/// An authority named with where to find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Postal or e-mail address, phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// When kreisgeo's own accessibility evaluation of the pages it renders was last done:
/// axe-core's WCAG 2.1 A/AA rules on every page in the browser tests, and the keyboard
/// checks, for this release.
pub const SELF_EVALUATION_DATE: &str = "2026-12-05";

impl Legal {
    /// Checks every field; the error names the first wrong one.
    pub fn validate(&self, at: &str) -> Result<()> {
        if let Some(s) = &self.accessibility_status {
            if !matches!(s.as_str(), "full" | "partial" | "none") {
                return Err(Error::invalid(
                    format!("{at}.accessibilityStatus"),
                    format!("'{s}' is not full, partial or none"),
                ));
            }
        }
        if let Some(d) = &self.accessibility_statement_date {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(Error::invalid(
                    format!("{at}.accessibilityStatementDate"),
                    format!("'{d}' is not a date (YYYY-MM-DD)"),
                ));
            }
        }
        if self.log_retention_days.is_some_and(|d| d > 365) {
            return Err(Error::invalid(
                format!("{at}.logRetentionDays"),
                "at most 365 days",
            ));
        }
        for (name, c) in [
            ("dataProtectionOfficer", &self.data_protection_officer),
            ("accessibilityContact", &self.accessibility_contact),
        ] {
            if let Some(c) = c {
                c.validate(&format!("{at}.{name}"))?;
            }
        }
        if let Some(b) = &self.enforcement_body {
            if b.name.trim().is_empty() {
                return Err(Error::invalid(
                    format!("{at}.enforcementBody.name"),
                    "must not be empty",
                ));
            }
            if let Some(u) = &b.url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(Error::invalid(
                        format!("{at}.enforcementBody.url"),
                        format!("'{u}' is not an http(s) URL"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What is known of a Land: its name and its authorities, by the first two digits of the
/// district key (Amtlicher Gemeindeschlüssel).
#[derive(Debug, Clone, Copy)]
pub struct Land {
    pub name: &'static str,
    /// The data protection supervisory authority for the Land's public bodies.
    pub data_protection_authority: &'static str,
    /// The body that handles complaints about the accessibility of public bodies' web sites,
    /// and its web address where verified.
    pub enforcement_body: &'static str,
    pub enforcement_url: Option<&'static str>,
}

/// The Land of a district key.
pub fn land(district_key: &str) -> Option<Land> {
    let l = |name, data_protection_authority, (enforcement_body, enforcement_url)| {
        Some(Land {
            name,
            data_protection_authority,
            enforcement_body,
            enforcement_url,
        })
    };
    match district_key.get(..2)? {
        "01" => l(
            "Schleswig-Holstein",
            "Unabhängiges Landeszentrum für Datenschutz Schleswig-Holstein",
            ENFORCEMENT[0],
        ),
        "02" => l(
            "Hamburg",
            "Hamburgische Beauftragte für Datenschutz und Informationsfreiheit",
            ENFORCEMENT[1],
        ),
        "03" => l(
            "Niedersachsen",
            "Landesbeauftragte für den Datenschutz Niedersachsen",
            ENFORCEMENT[2],
        ),
        "04" => l(
            "Bremen",
            "Landesbeauftragte für Datenschutz und Informationsfreiheit der Freien Hansestadt Bremen",
            ENFORCEMENT[3],
        ),
        "05" => l(
            "Nordrhein-Westfalen",
            "Landesbeauftragte für Datenschutz und Informationsfreiheit Nordrhein-Westfalen",
            ENFORCEMENT[4],
        ),
        "06" => l(
            "Hessen",
            "Hessischer Beauftragter für Datenschutz und Informationsfreiheit",
            ENFORCEMENT[5],
        ),
        "07" => l(
            "Rheinland-Pfalz",
            "Landesbeauftragter für den Datenschutz und die Informationsfreiheit Rheinland-Pfalz",
            ENFORCEMENT[6],
        ),
        "08" => l(
            "Baden-Württemberg",
            "Landesbeauftragter für den Datenschutz und die Informationsfreiheit Baden-Württemberg",
            ENFORCEMENT[7],
        ),
        "09" => l(
            "Bayern",
            "Bayerischer Landesbeauftragter für den Datenschutz",
            ENFORCEMENT[8],
        ),
        "10" => l(
            "Saarland",
            "Unabhängiges Datenschutzzentrum Saarland",
            ENFORCEMENT[9],
        ),
        "11" => l(
            "Berlin",
            "Berliner Beauftragte für Datenschutz und Informationsfreiheit",
            ENFORCEMENT[10],
        ),
        "12" => l(
            "Brandenburg",
            "Landesbeauftragte für den Datenschutz und für das Recht auf Akteneinsicht Brandenburg",
            ENFORCEMENT[11],
        ),
        "13" => l(
            "Mecklenburg-Vorpommern",
            "Landesbeauftragter für Datenschutz und Informationsfreiheit Mecklenburg-Vorpommern",
            ENFORCEMENT[12],
        ),
        "14" => l(
            "Sachsen",
            "Sächsische Datenschutz- und Transparenzbeauftragte",
            ENFORCEMENT[13],
        ),
        "15" => l(
            "Sachsen-Anhalt",
            "Landesbeauftragter für den Datenschutz Sachsen-Anhalt",
            ENFORCEMENT[14],
        ),
        "16" => l(
            "Thüringen",
            "Thüringer Landesbeauftragter für den Datenschutz und die Informationsfreiheit",
            ENFORCEMENT[15],
        ),
        _ => None,
    }
}

/// The Länder's enforcement bodies for web accessibility, in the order of the Land keys, with
/// their web address where it was verified (state of research: December 2026; the bodies
/// change — a county checks its own and may set `enforcementBody`).
const ENFORCEMENT: [(&str, Option<&str>); 16] = [
    (
        "Beschwerdestelle für barrierefreie Informationstechnik bei der bzw. dem \
         Landesbeauftragten für Menschen mit Behinderung (§ 16 LBGG)",
        Some("https://www.landtag.ltsh.de/beauftragte/beschwerdestelle-fuer-barrieren/"),
    ),
    (
        "Schlichtungsstelle nach § 13a Hamburgisches Behindertengleichstellungsgesetz bei der \
         Öffentlichen Rechtsauskunft- und Vergleichsstelle (ÖRA)",
        None,
    ),
    (
        "Schlichtungsstelle nach § 9d NBGG bei der bzw. dem Landesbeauftragten für Menschen mit \
         Behinderungen",
        Some("https://www.behindertenbeauftragte-niedersachsen.de/DE/Schlichtungsstelle/Schlichtungsverfahren/Aufgabe/Aufgabe_node.html"),
    ),
    (
        "Zentralstelle für barrierefreie Informationstechnik beim Landesbehindertenbeauftragten \
         (§§ 15, 16 BremBGG)",
        Some("https://www.behindertenbeauftragter.bremen.de/der_beauftragte/zentralstelle_fuer_barrierefreie_informationstechnik-28011"),
    ),
    (
        "Ombudsstelle für barrierefreie Informationstechnik des Landes Nordrhein-Westfalen \
         (§ 10d BGG NRW)",
        Some("https://www.lbbp.nrw.de/ombudsstelle"),
    ),
    (
        "Durchsetzungs- und Überwachungsstelle der Beauftragten der Hessischen Landesregierung \
         für barrierefreie IT (LBIT) beim Regierungspräsidium Gießen (§ 6 HVBIT)",
        Some("https://lbit.hessen.de/Durchsetzungs-und-Ueberwachungsstelle/Durchsetzungsverfahren-beantragen"),
    ),
    (
        "Durchsetzungsstelle bei der bzw. dem Landesbeauftragten für die Belange von Menschen \
         mit Behinderungen Rheinland-Pfalz",
        Some("https://inklusion.rlp.de/de/landesbeauftragte-landesteilhabebeirat/durchsetzungsstelle/"),
    ),
    (
        "Schlichtungsstelle beim Landeszentrum Barrierefreiheit Baden-Württemberg (§ 10b L-BGG)",
        Some("https://barrierefreiheit-bw.de/barrierefreiheitdurchsetzen/schlichtungsverfahren"),
    ),
    (
        "Durchsetzungs- und Überwachungsstelle für barrierefreie Informationstechnik am \
         Landesamt für Digitalisierung, Breitband und Vermessung (§ 11 BayDiV)",
        None,
    ),
    (
        "Schlichtungsstelle beim Ministerium für Soziales, Gesundheit, Frauen und Familie des \
         Saarlandes (SBGG)",
        None,
    ),
    (
        "Landesbeauftragte für digitale Barrierefreiheit Berlin (§ 6 BIKTG Bln)",
        Some("https://www.berlin.de/lb/digitale-barrierefreiheit/aufgaben/durchsetzungsverfahren/durchsetzungsverfahren-1305830.php"),
    ),
    (
        "Durchsetzungsstelle für digitale Barrierefreiheit bei der Landesbeauftragten für die \
         Belange der Menschen mit Behinderungen Brandenburg",
        Some("https://msgiv.brandenburg.de/msgiv/de/beauftragte/landesbehindertenbeauftragte/durchsetzungsstelle"),
    ),
    (
        "Anlauf- und Überwachungsstelle Digitale Barrierefreiheit im Sozialministerium \
         Mecklenburg-Vorpommern (§ 14 LBGG M-V)",
        None,
    ),
    (
        "Landesbeauftragter für Inklusion der Menschen mit Behinderungen, Sächsische \
         Staatskanzlei (BfWebG)",
        None,
    ),
    (
        "Ombudsstelle bei der Landesfachstelle für Barrierefreiheit Sachsen-Anhalt (BGG LSA)",
        Some("https://lf-barrierefreiheit-st.de/ueber-uns/ombudsstelle"),
    ),
    (
        "Landesdurchsetzungsstelle für digitale Barrierefreiheit beim Thüringer Landesbeauftragten \
         für Menschen mit Behinderungen",
        Some("https://tlmb-thueringen.de/themen/barrierefreiheit/landesdurchsetzungsstelle"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_land_comes_from_the_district_key() {
        assert_eq!(land("03355").unwrap().name, "Niedersachsen");
        assert_eq!(land("09574").unwrap().name, "Bayern");
        assert!(land("17000").is_none());
        assert!(land("0").is_none());
    }

    #[test]
    fn wrong_settings_are_named() {
        let bad = Legal {
            accessibility_status: Some("mostly".into()),
            ..Legal::default()
        };
        let e = bad.validate("legal").unwrap_err().to_string();
        assert!(e.contains("accessibilityStatus"), "{e}");
        let bad = Legal {
            accessibility_statement_date: Some("5.12.2026".into()),
            ..Legal::default()
        };
        assert!(bad.validate("legal").is_err());
        assert!(Legal::default().validate("legal").is_ok());
    }
}
