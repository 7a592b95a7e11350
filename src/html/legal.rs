//! The pages every page links to in its footer: Impressum, Datenschutzerklärung, Erklärung zur
//! Barrierefreiheit (after the EU model statement, Implementing Decision (EU) 2018/1523) and
//! the start page's essentials in Leichte Sprache (BITV 2.0 § 4). German, with an English
//! version of the first three; what the county has not entered is said to be missing rather
//! than left out silently.

use std::fmt::Write as _;

use actix_web::HttpRequest;

use super::page::{foot, head};
use super::{escape, View};
use crate::legal::{land, Legal, SELF_EVALUATION_DATE};
use crate::opendata::metadata::{Contact, Publisher};

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Imprint,
    Privacy,
    Accessibility,
    EasyLanguage,
}

/// What the pages are rendered from.
pub struct Context<'a> {
    pub publisher: &'a Publisher,
    /// Whether the publisher was entered (else the placeholder stands for it).
    pub configured: bool,
    /// The origin an external basemap is loaded from, if one is configured.
    pub external_basemap: Option<&'a str>,
}

/// The page, complete.
pub fn page(req: &HttpRequest, view: View, page: Page, cx: &Context<'_>) -> String {
    let legal = cx.publisher.legal.clone().unwrap_or_default();
    // Leichte Sprache is German by definition.
    let view = if page == Page::EasyLanguage {
        View::german(view)
    } else {
        view
    };
    let title = match page {
        Page::Imprint => view.pick("Impressum", "Legal notice (Impressum)"),
        Page::Privacy => view.pick("Datenschutzerklärung", "Privacy statement"),
        Page::Accessibility => {
            view.pick("Erklärung zur Barrierefreiheit", "Accessibility statement")
        }
        Page::EasyLanguage => "Leichte Sprache",
    };
    let mut out = head(req, view, title, &[], false);
    if view.lang == super::Lang::En && page != Page::EasyLanguage {
        out.push_str(
            "<p>This is a translation; the <a href=\"?lang=de\" hreflang=\"de\">German \
             version</a> is authoritative.</p>",
        );
    }
    match page {
        Page::Imprint => imprint(&mut out, view, cx, &legal),
        Page::Privacy => privacy(&mut out, view, cx, &legal),
        Page::Accessibility => accessibility(&mut out, view, cx, &legal),
        Page::EasyLanguage => easy(&mut out, cx),
    }
    out.push_str(&foot(view));
    out
}

fn missing(view: View) -> String {
    format!(
        "<em>{}</em>",
        view.pick(
            "vom Betreiber noch nicht eingetragen",
            "not yet entered by the operator"
        )
    )
}

/// A definition list of (term, HTML) pairs; `None` values are shown as missing.
fn facts(out: &mut String, view: View, rows: &[(&str, Option<String>)]) {
    out.push_str("<dl>");
    for (term, value) in rows {
        let _ = write!(
            out,
            "<dt>{term}</dt><dd>{}</dd>",
            value.clone().unwrap_or_else(|| missing(view))
        );
    }
    out.push_str("</dl>");
}

fn contact_html(c: &Contact) -> String {
    let mut parts = vec![escape(&c.name)];
    if let Some(e) = &c.email {
        parts.push(format!("<a href=\"mailto:{0}\">{0}</a>", escape(e)));
    }
    if let Some(p) = &c.phone {
        parts.push(format!("Tel. {}", escape(p)));
    }
    if let Some(u) = &c.url {
        parts.push(format!("<a href=\"{0}\">{0}</a>", escape(u)));
    }
    parts.join("<br>")
}

fn lines(v: &[String]) -> Option<String> {
    (!v.is_empty()).then(|| v.iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br>"))
}

fn unconfigured_note(out: &mut String, view: View, cx: &Context<'_>) {
    if !cx.configured {
        let _ = write!(
            out,
            "<p><strong>{}</strong></p>",
            view.pick(
                "Der Betreiber hat seine Angaben noch nicht eingetragen \
                 (kreisgeo catalog publisher).",
                "The operator has not entered its details yet (kreisgeo catalog publisher)."
            )
        );
    }
}

fn imprint(out: &mut String, view: View, cx: &Context<'_>, legal: &Legal) {
    let p = cx.publisher;
    unconfigured_note(out, view, cx);
    let _ = write!(
        out,
        "<p>{}</p>",
        view.pick(
            "Angaben nach § 5 Digitale-Dienste-Gesetz und § 18 Medienstaatsvertrag.",
            "Information under § 5 of the German Digital Services Act (DDG) and § 18 of the \
             Interstate Media Treaty (MStV)."
        )
    );
    facts(
        out,
        view,
        &[
            (
                view.pick("Anbieter", "Provider"),
                Some(format!(
                    "{}{}",
                    escape(&p.name),
                    lines(&legal.address)
                        .map(|a| format!("<br>{a}"))
                        .unwrap_or_default()
                )),
            ),
            (
                view.pick("Vertreten durch", "Represented by"),
                legal.represented_by.as_deref().map(escape),
            ),
            (
                view.pick("Kontakt", "Contact"),
                Some(contact_html(&p.contact)),
            ),
            (
                view.pick("Aufsichtsbehörde", "Supervisory authority"),
                legal.supervisory_authority.as_deref().map(escape),
            ),
            (
                view.pick(
                    "Umsatzsteuer-Identifikationsnummer",
                    "VAT identification number",
                ),
                Some(
                    legal
                        .vat_id
                        .as_deref()
                        .map_or_else(|| view.pick("keine", "none").to_string(), escape),
                ),
            ),
            (
                view.pick(
                    "Verantwortlich für den Inhalt nach § 18 Abs. 2 MStV",
                    "Responsible for the content (§ 18 (2) MStV)",
                ),
                legal.responsible_for_content.as_deref().map(escape),
            ),
        ],
    );
    let _ = write!(
        out,
        "<h2>{}</h2><p>{}</p>",
        view.pick("Daten und Software", "Data and software"),
        view.pick(
            "Die Daten stehen unter den Lizenzen, die der DCAT-Katalog und jede Datensatzseite \
             nennen. Das Portal läuft mit kreisgeo, freier Software.",
            "The data is published under the licences the DCAT catalogue and each dataset's \
             page name. The portal runs on kreisgeo, free software."
        )
    );
}

fn privacy(out: &mut String, view: View, cx: &Context<'_>, legal: &Legal) {
    let p = cx.publisher;
    let land = p.district_key.as_deref().and_then(land);
    unconfigured_note(out, view, cx);
    let days = legal.log_retention_days.unwrap_or(7);
    let authority = legal
        .data_protection_authority
        .as_deref()
        .or(land.map(|l| l.data_protection_authority));
    let _ = write!(
        out,
        "<h2>{}</h2>",
        view.pick("Verantwortlicher", "Controller")
    );
    facts(
        out,
        view,
        &[
            (
                view.pick("Verantwortlich", "Controller"),
                Some(format!(
                    "{}{}<br>{}",
                    escape(&p.name),
                    lines(&legal.address)
                        .map(|a| format!("<br>{a}"))
                        .unwrap_or_default(),
                    contact_html(&p.contact)
                )),
            ),
            (
                view.pick("Datenschutzbeauftragte/r", "Data protection officer"),
                legal.data_protection_officer.as_ref().map(contact_html),
            ),
        ],
    );
    let logged = view.pick(
        "Bei jedem Aufruf einer Seite, einer Karte, einer Kachel oder einer Schnittstelle \
         verarbeitet der Server: die IP-Adresse Ihres Geräts (und, hinter einem Proxy, die \
         weitergegebene), Datum und Uhrzeit, die aufgerufene Adresse mit ihren Parametern – bei \
         der Suche nach dem nächsten Defibrillator, nach einer Adresse oder einem Flurstück also \
         auch die gesuchte Position oder den Suchbegriff –, den Statuscode der Antwort und die \
         Kennung Ihres Browsers (User-Agent).",
        "On every request for a page, a map, a tile or an API resource the server processes: \
         your device's IP address (and, behind a proxy, the forwarded one), date and time, the \
         address requested with its parameters – for the nearest defibrillator, an address or \
         a parcel also the position or the search term –, the response's status code and your \
         browser's identification (user agent).",
    );
    let _ = write!(
        out,
        "<h2>{h_what}</h2><p>{logged}</p>\
         <p>{purpose}</p><p>{basis}</p><p>{kept}</p>\
         <h2>{h_location}</h2><p>{location}</p>\
         <h2>{h_none}</h2><p>{none}</p>",
        h_what = view.pick("Welche Daten verarbeitet werden", "What is processed"),
        purpose = view.pick(
            "Zweck: die Auslieferung der angefragten Inhalte, die Sicherheit des Dienstes (die \
             Anfragen je IP-Adresse werden kurz im Arbeitsspeicher gezählt, um Überlastung \
             abzuwehren) und die Fehlersuche.",
            "Purpose: delivering what was asked for, the service's security (requests per IP \
             address are counted briefly in memory to fend off overload) and finding faults."
        ),
        basis = escape(&match (view.lang, land) {
            (super::Lang::De, Some(l)) => format!(
                "Rechtsgrundlage: Art. 6 Abs. 1 Buchst. e DSGVO in Verbindung mit dem \
                 Datenschutzgesetz des Landes {}.",
                l.name
            ),
            (super::Lang::De, None) => "Rechtsgrundlage: Art. 6 Abs. 1 Buchst. e DSGVO in \
                 Verbindung mit dem Datenschutzgesetz des Landes."
                .to_string(),
            (super::Lang::En, _) => "Legal basis: Art. 6 (1) (e) GDPR with the Land's data \
                 protection act."
                .to_string(),
        }),
        kept = escape(&match view.lang {
            super::Lang::De => format!(
                "Die Zugriffsprotokolle werden nach {days} Tagen gelöscht. Die Zähler gegen \
                 Überlastung vergehen nach Sekunden."
            ),
            super::Lang::En => format!(
                "The access logs are deleted after {days} days. The overload counters expire \
                 after seconds."
            ),
        }),
        h_location = view.pick("Ihr Standort", "Your location"),
        location = view.pick(
            "Ihr Standort wird nur verwendet, wenn Sie in der Karte „Mein Standort“ wählen und \
             Ihr Browser zustimmt. Er wird für die Antwort (die nächsten Defibrillatoren) an den \
             Server geschickt und nicht gespeichert – außer in den Zugriffsprotokollen, wie jede \
             Anfrage.",
            "Your location is only used when you choose \"My location\" on the map and your \
             browser agrees. It is sent to the server for the answer (the nearest \
             defibrillators) and not stored – except in the access logs, as every request."
        ),
        h_none = view.pick("Keine Cookies, kein Tracking", "No cookies, no tracking"),
        none = view.pick(
            "Das Portal setzt keine Cookies, speichert nichts in Ihrem Browser und bindet keine \
             Analyse- oder Werbedienste ein. Karten, Schriften und Programme kommen von diesem \
             Server.",
            "The portal sets no cookies, stores nothing in your browser and includes no \
             analytics or advertising. Maps, fonts and scripts come from this server."
        ),
    );
    if let Some(origin) = cx.external_basemap {
        let _ = write!(
            out,
            "<p>{} <a href=\"{o}\">{o}</a>{}</p>",
            view.pick(
                "Ausnahme: Die Grundkarte wird von",
                "Exception: the basemap is loaded from"
            ),
            view.pick(
                " geladen; dieser Server erhält dabei Ihre IP-Adresse und den Kartenausschnitt.",
                "; that server receives your IP address and the part of the map you view."
            ),
            o = escape(origin)
        );
    }
    let _ = write!(
        out,
        "<h2>{}</h2><p>{}</p>",
        view.pick("Ihre Rechte", "Your rights"),
        view.pick(
            "Sie haben das Recht auf Auskunft (Art. 15 DSGVO), Berichtigung (Art. 16), Löschung \
             (Art. 17), Einschränkung der Verarbeitung (Art. 18) und Widerspruch (Art. 21). Sie \
             können sich bei der Aufsichtsbehörde beschweren:",
            "You have the right of access (Art. 15 GDPR), rectification (Art. 16), erasure \
             (Art. 17), restriction of processing (Art. 18) and to object (Art. 21). You may \
             complain to the supervisory authority:"
        )
    );
    let _ = write!(
        out,
        "<p>{}</p>",
        authority.map_or_else(|| missing(view), escape)
    );
}

fn accessibility(out: &mut String, view: View, cx: &Context<'_>, legal: &Legal) {
    let p = cx.publisher;
    let land = p.district_key.as_deref().and_then(land);
    unconfigured_note(out, view, cx);
    let status = legal.accessibility_status.as_deref().unwrap_or("partial");
    let date = legal
        .accessibility_statement_date
        .as_deref()
        .unwrap_or(SELF_EVALUATION_DATE);
    let _ = write!(
        out,
        "<p>{intro}</p><h2>{h_status}</h2><p>{status}</p><h2>{h_limits}</h2><ul>",
        intro = escape(&match view.lang {
            super::Lang::De => format!(
                "{} ist bemüht, dieses Portal im Einklang mit den Vorschriften zur Umsetzung der \
                 Richtlinie (EU) 2016/2102 barrierefrei zugänglich zu machen. Diese Erklärung \
                 gilt für alle Seiten unter dieser Adresse.",
                p.name
            ),
            super::Lang::En => format!(
                "{} strives to make this portal accessible in accordance with the provisions \
                 implementing Directive (EU) 2016/2102. This statement applies to every page \
                 under this address.",
                p.name
            ),
        }),
        h_status = view.pick("Stand der Vereinbarkeit", "Compliance status"),
        status = match status {
            "full" => view.pick(
                "Dieses Portal ist mit der BITV 2.0 (EN 301 549, WCAG 2.1 AA) vollständig \
                 vereinbar.",
                "This portal is fully compliant with BITV 2.0 (EN 301 549, WCAG 2.1 AA)."
            ),
            "none" => view.pick(
                "Dieses Portal ist mit der BITV 2.0 (EN 301 549, WCAG 2.1 AA) nicht vereinbar.",
                "This portal is not compliant with BITV 2.0 (EN 301 549, WCAG 2.1 AA)."
            ),
            _ => view.pick(
                "Dieses Portal ist mit der BITV 2.0 (EN 301 549, WCAG 2.1 AA) teilweise \
                 vereinbar; die folgenden Inhalte sind nicht barrierefrei.",
                "This portal is partially compliant with BITV 2.0 (EN 301 549, WCAG 2.1 AA); \
                 the following content is not accessible."
            ),
        },
        h_limits = view.pick("Nicht barrierefreie Inhalte", "Non-accessible content"),
    );
    let known = [
        view.pick(
            "Die Karte: Die Kartenfläche ist eine Grafik. Sie lässt sich mit der Tastatur \
             verschieben und zoomen, ihre Objekte sind aber für Screenreader nicht einzeln \
             erreichbar. Dieselben Daten stehen als Tabellen auf den Datensatzseiten; die \
             Adresssuche und die nächsten Defibrillatoren werden als Text ausgegeben.",
            "The map: the map area is a graphic. It can be panned and zoomed with the keyboard, \
             but screen readers cannot reach its features one by one. The same data is in \
             tables on the dataset pages; the address search and the nearest defibrillators \
             are given as text.",
        ),
        view.pick(
            "Die Downloads (GeoJSON, CSV, GeoPackage, FlatGeobuf) sind Daten für Programme, \
             keine Dokumente.",
            "The downloads (GeoJSON, CSV, GeoPackage, FlatGeobuf) are data for programs, not \
             documents.",
        ),
        view.pick(
            "Die Dokumentation der Programmierschnittstelle (/api.html) gibt es nur auf \
             Englisch.",
            "The API documentation (/api.html) is in English only.",
        ),
    ];
    for k in known {
        let _ = write!(out, "<li>{}</li>", escape(k));
    }
    for k in &legal.accessibility_limits {
        let _ = write!(out, "<li>{}</li>", escape(k));
    }
    out.push_str("</ul>");
    let contact = legal.accessibility_contact.as_ref().unwrap_or(&p.contact);
    let _ =
        write!(
        out,
        "<h2>{h_made}</h2><p>{made}</p><h2>{h_feedback}</h2><p>{feedback}</p><p>{contact}</p>\
         <h2>{h_enforce}</h2><p>{enforce}</p>",
        h_made = view.pick("Erstellung dieser Erklärung", "Preparation of this statement"),
        made = escape(&match view.lang {
            super::Lang::De => format!(
                "Diese Erklärung wurde am {date} erstellt. Grundlage ist eine Selbstbewertung: \
                 automatisierte Prüfung aller Seitenarten mit axe-core nach WCAG 2.1 A/AA und \
                 Prüfung der Bedienung mit der Tastatur (durch die Entwickler von kreisgeo); eine \
                 Prüfung durch Dritte ist noch nicht erfolgt."
            ),
            super::Lang::En => format!(
                "This statement was prepared on {date}. It is based on a self-assessment: \
                 automated testing of every kind of page with axe-core against WCAG 2.1 A/AA and \
                 keyboard testing (by kreisgeo's developers); no third-party audit yet."
            ),
        }),
        h_feedback = view.pick("Feedback und Kontakt", "Feedback and contact"),
        feedback = view.pick(
            "Sind Ihnen Mängel beim barrierefreien Zugang aufgefallen, oder brauchen Sie Inhalte \
             in barrierefreier Form? Schreiben Sie uns:",
            "Have you found barriers, or do you need content in an accessible form? Contact us:"
        ),
        contact = contact_html(contact),
        h_enforce = view.pick("Durchsetzungsverfahren", "Enforcement procedure"),
        enforce = enforcement(view, legal, land),
    );
}

fn enforcement(view: View, legal: &Legal, land: Option<crate::legal::Land>) -> String {
    let intro = view.pick(
        "Wenn Sie auf Ihre Rückmeldung keine zufriedenstellende Antwort erhalten, können Sie \
         sich an die Durchsetzungsstelle wenden:",
        "If you do not receive a satisfactory answer to your feedback, you can contact the \
         enforcement body:",
    );
    let body = match (&legal.enforcement_body, land) {
        (Some(b), _) => {
            let mut s = escape(&b.name);
            if let Some(u) = &b.url {
                let _ = write!(s, "<br><a href=\"{0}\">{0}</a>", escape(u));
            }
            if let Some(c) = &b.contact {
                let _ = write!(s, "<br>{}", escape(c));
            }
            s
        }
        (None, Some(l)) => {
            let mut s = escape(l.enforcement_body);
            if let Some(u) = l.enforcement_url {
                let _ = write!(s, "<br><a href=\"{0}\">{0}</a>", escape(u));
            }
            s
        }
        (None, None) => missing(view),
    };
    format!("{intro}<br>{body}")
}

/// The start page's essentials in Leichte Sprache: short sentences, one thought each, words
/// explained.
fn easy(out: &mut String, cx: &Context<'_>) {
    let p = cx.publisher;
    let mut ask = Vec::new();
    if let Some(e) = &p.contact.email {
        ask.push(format!(
            "<li>Schreiben Sie eine E-Mail an: <a href=\"mailto:{0}\">{0}</a></li>",
            escape(e)
        ));
    }
    if let Some(t) = &p.contact.phone {
        ask.push(format!("<li>Rufen Sie an: {}</li>", escape(t)));
    }
    if ask.is_empty() {
        ask.push(format!("<li>Fragen Sie: {}</li>", escape(&p.contact.name)));
    }
    let _ = write!(
        out,
        "<p>Das ist die Internet-Seite für Geo-Daten von: {name}.</p>\
         <p>Geo-Daten sind Daten über Orte.</p>\
         <h2>Was finden Sie hier?</h2><ul>\
         <li>Eine <a href=\"/map\">Karte</a>.</li>\
         <li>Orte mit einem Defi.<br>Defi ist kurz für Defibrillator.<br>\
         Ein Defi ist ein Gerät.<br>Es hilft, wenn das Herz von einem Menschen nicht mehr \
         richtig schlägt.</li>\
         <li>Flur-Stücke.<br>Ein Flur-Stück ist ein Stück Land.<br>Jedes Flur-Stück hat eine \
         Nummer.</li>\
         <li>Sonnen-Strom auf dem Dach.<br>Sie sehen: So viel Strom kann eine Solar-Anlage \
         auf einem Dach machen.</li></ul>\
         <h2>So geht die Karte</h2><ul>\
         <li>Suchen Sie Ihre Adresse.<br>Dann zeigt die Karte den Ort.</li>\
         <li>Klicken Sie auf einen Ort in der Karte.<br>Dann sehen Sie mehr über den Ort.</li>\
         <li>Sie suchen einen Defi in der Nähe?<br>Klicken Sie auf: Mein Standort.</li></ul>\
         <h2>Im Notfall</h2><p><strong>Rufen Sie sofort an: 112.</strong></p>\
         <h2>Sie haben Fragen?</h2><ul>{ask}</ul>",
        name = escape(&p.name),
        ask = ask.join(""),
    );
}
