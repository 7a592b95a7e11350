//! Opening hours of OpenStreetMap (`opening_hours=*`), evaluated in German local time with
//! German public holidays (`PH`), by the opening-hours crate.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;
use compact_calendar::CompactCalendar;
use opening_hours::localization::Country;
use opening_hours::{Context, ContextHolidays, OpeningHours, RuleKind};

/// Whether something is open at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    Open,
    Closed,
    /// No hours, hours that do not parse, or hours that say `unknown`: never reported as open.
    Unknown,
}

/// The current local time in Germany.
pub fn now_in_germany() -> NaiveDateTime {
    Utc::now().with_timezone(&Berlin).naive_local()
}

/// A German Land, by the first two digits of the official municipality key (AGS/ARS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Land(u8);

impl Land {
    /// The Land of a Kreisschlüssel, AGS or ARS (`03355` → Niedersachsen).
    pub fn of_key(key: &str) -> Option<Self> {
        key.get(..2)
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|n| (1..=16).contains(n))
            .map(Self)
    }

    /// [`Land::parse`] for a command-line option: the error lists the Länder.
    pub fn parse_arg(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| {
            format!("'{s}' is not a German Land (SH, HH, NI, HB, NW, HE, RP, BW, BY, SL, BE, BB, MV, SN, ST, TH)")
        })
    }

    /// By its abbreviation (`NI`, `BY` …) or its two-digit key.
    pub fn parse(s: &str) -> Option<Self> {
        const CODES: [&str; 16] = [
            "SH", "HH", "NI", "HB", "NW", "HE", "RP", "BW", "BY", "SL", "BE", "BB", "MV", "SN",
            "ST", "TH",
        ];
        let s = s.trim();
        CODES
            .iter()
            .position(|c| c.eq_ignore_ascii_case(s))
            .map(|i| Self(i as u8 + 1))
            .or_else(|| Self::of_key(&format!("{s:0>2}")).filter(|_| s.len() <= 2))
    }

    /// The public holidays of this Land in `year` that are not nationwide.
    fn holidays(self, year: i32) -> Vec<NaiveDate> {
        use chrono::Datelike;
        let day = |m, d| NaiveDate::from_ymd_opt(year, m, d);
        let easter = easter_sunday(year);
        let after_easter = |days| easter.map(|e| e + chrono::Days::new(days));
        let in_lands = |lands: &[u8]| lands.contains(&self.0);
        let mut days = Vec::new();
        // Heilige Drei Könige: BW, BY, ST.
        if in_lands(&[8, 9, 15]) {
            days.push(day(1, 6));
        }
        // Internationaler Frauentag: Berlin since 2019, Mecklenburg-Vorpommern since 2023.
        if (self.0 == 11 && year >= 2019) || (self.0 == 13 && year >= 2023) {
            days.push(day(3, 8));
        }
        // Ostersonntag and Pfingstsonntag: Brandenburg.
        if self.0 == 12 {
            days.push(easter);
            days.push(after_easter(49));
        }
        // Fronleichnam: BW, BY, HE, NW, RP, SL.
        if in_lands(&[5, 6, 7, 8, 9, 10]) {
            days.push(after_easter(60));
        }
        // Mariä Himmelfahrt: Saarland (in Bavaria only in its Catholic municipalities).
        if self.0 == 10 {
            days.push(day(8, 15));
        }
        // Weltkindertag: Thüringen since 2019.
        if self.0 == 16 && year >= 2019 {
            days.push(day(9, 20));
        }
        // Reformationstag: the eastern Länder, and the northern ones since 2018.
        if in_lands(&[12, 13, 14, 15, 16]) || (in_lands(&[1, 2, 3, 4]) && year >= 2018) {
            days.push(day(10, 31));
        }
        // Allerheiligen: BW, BY, NW, RP, SL.
        if in_lands(&[5, 7, 8, 9, 10]) {
            days.push(day(11, 1));
        }
        // Buß- und Bettag: Sachsen, the Wednesday before 23 November.
        if self.0 == 14 {
            days.push(day(11, 22).map(|d| {
                let back = (d.weekday().num_days_from_monday() + 7 - 2) % 7;
                d - chrono::Days::new(u64::from(back))
            }));
        }
        days.into_iter().flatten().collect()
    }
}

/// Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// The nationwide holidays and those of `land` (the years around `at`, which the rules of a
/// week or a month may reach).
fn holidays(land: Option<Land>, at: NaiveDateTime) -> ContextHolidays {
    use chrono::Datelike;
    let national = Country::DE.holidays();
    let Some(land) = land else {
        return national;
    };
    let mut calendar: CompactCalendar = national.get_public().clone();
    for year in at.year() - 1..=at.year() + 1 {
        for day in land.holidays(year) {
            calendar.insert(day);
        }
    }
    ContextHolidays::new(
        std::sync::Arc::new(calendar),
        std::sync::Arc::new(national.get_school().clone()),
    )
}

/// The moment and the holidays opening hours are judged by: built once for a question, then
/// asked for every candidate (the Land's calendar is a copy of the nationwide one with its own
/// days added, too dear to make per row).
pub struct Moment {
    at: NaiveDateTime,
    context: Context,
}

impl Moment {
    /// The local time `at`, with the public holidays of `land` (nationwide ones only without
    /// it).
    pub fn new(at: NaiveDateTime, land: Option<Land>) -> Self {
        Self {
            at,
            context: Context::default().with_holidays(holidays(land, at)),
        }
    }

    /// Whether `hours` say open at this moment.
    pub fn state(&self, hours: Option<&str>) -> OpenState {
        let Some(text) = hours.map(str::trim).filter(|h| !h.is_empty()) else {
            return OpenState::Unknown;
        };
        let Ok(parsed) = text.parse::<OpeningHours>() else {
            return OpenState::Unknown;
        };
        match parsed.with_context(self.context.clone()).state(self.at).0 {
            RuleKind::Open => OpenState::Open,
            RuleKind::Closed => OpenState::Closed,
            RuleKind::Unknown => OpenState::Unknown,
        }
    }
}

impl Moment {
    /// Whether `hours` say open from this moment on for at least a year without a break: the
    /// defibrillators that can be counted on at any hour (`24/7`, `Mo-Su 00:00-24:00`); hours
    /// closed on public holidays are not.
    pub fn always_open(&self, hours: Option<&str>) -> bool {
        if self.state(hours) != OpenState::Open {
            return false;
        }
        let Some(Ok(parsed)) = hours.map(|h| h.trim().parse::<OpeningHours>()) else {
            return false;
        };
        let year = self.at + chrono::Duration::days(366);
        parsed
            .with_context(self.context.clone())
            .next_change(self.at)
            .is_none_or(|change| change > year)
    }
}

/// Evaluates `hours` at the local time `at`, with the public holidays of `land` (nationwide
/// ones only without it).
pub fn state(hours: Option<&str>, at: NaiveDateTime, land: Option<Land>) -> OpenState {
    Moment::new(at, land).state(hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn around_the_clock() {
        let m = Moment::new(at("2026-12-05T03:00"), Land::parse("BY"));
        for always in ["24/7", "Mo-Su 00:00-24:00", " 24/7 "] {
            assert!(m.always_open(Some(always)), "{always}");
        }
        for not in [
            "Mo-Fr 08:00-18:00",
            "24/7; PH off",
            "Mo-Sa 00:00-24:00",
            "",
            "nonsense",
            "24/7 closed",
        ] {
            assert!(!m.always_open(Some(not)), "{not}");
        }
        assert!(!m.always_open(None));
    }

    #[test]
    fn easter_and_lands() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
        assert_eq!(Land::parse("NI"), Land::of_key("03355"));
        assert_eq!(Land::parse("03"), Land::parse("ni"));
        assert_eq!(Land::parse("9"), Land::parse("BY"));
        assert_eq!(Land::parse("XX"), None);
        assert_eq!(Land::of_key("17000"), None);
    }

    /// Every holiday that only some Länder keep: closed there (`PH off`), open elsewhere.
    #[test]
    fn land_holidays() {
        let hours = Some("Mo-Su 09:00-17:00; PH off");
        let land = |code| Land::parse(code);
        for (day, closed_in, open_in) in [
            (
                "2026-01-06T10:00",
                &["BW", "BY", "ST"][..],
                &["NI", "NW"][..],
            ),
            ("2025-03-08T10:00", &["BE", "MV"], &["NI", "BB"]),
            ("2022-03-08T10:00", &["BE"], &["MV"]),
            ("2025-04-20T10:00", &["BB"], &["NI", "BE"]),
            ("2025-06-08T10:00", &["BB"], &["NI"]),
            (
                "2025-06-19T10:00",
                &["BW", "BY", "HE", "NW", "RP", "SL"],
                &["NI", "SN"],
            ),
            ("2025-08-15T10:00", &["SL"], &["NI", "HE"]),
            ("2025-09-20T10:00", &["TH"], &["SN", "NI"]),
            (
                "2025-10-31T10:00",
                &["NI", "HB", "HH", "SH", "BB", "MV", "SN", "ST", "TH"],
                &["BY", "NW", "BE"],
            ),
            ("2016-10-31T10:00", &["SN"], &["NI"]),
            (
                "2025-11-01T10:00",
                &["BW", "BY", "NW", "RP", "SL"],
                &["NI", "HE"],
            ),
            ("2025-11-19T10:00", &["SN"], &["NI", "BY"]),
            ("2026-11-18T10:00", &["SN"], &["TH"]),
        ] {
            for code in closed_in {
                assert_eq!(
                    state(hours, at(day), land(code)),
                    OpenState::Closed,
                    "{day} {code}"
                );
            }
            for code in open_in {
                assert_eq!(
                    state(hours, at(day), land(code)),
                    OpenState::Open,
                    "{day} {code}"
                );
            }
            // Without a Land, only the nationwide holidays.
            assert_eq!(state(hours, at(day), None), OpenState::Open, "{day}");
        }
        // Nationwide holidays stay holidays everywhere.
        for code in ["NI", "BY", "BE"] {
            assert_eq!(
                state(hours, at("2025-10-03T10:00"), land(code)),
                OpenState::Closed
            );
        }
    }

    #[test]
    fn osm_hours() {
        // 2026-11-23 is a Monday, 2026-11-22 a Sunday, 2026-12-25 Christmas (a holiday).
        assert_eq!(
            state(Some("24/7"), at("2026-11-22T03:00"), None),
            OpenState::Open
        );
        assert_eq!(
            state(Some("Mo-Fr 08:00-18:00"), at("2026-11-23T09:00"), None),
            OpenState::Open
        );
        assert_eq!(
            state(Some("Mo-Fr 08:00-18:00"), at("2026-11-23T19:00"), None),
            OpenState::Closed
        );
        assert_eq!(
            state(Some("Mo-Fr 08:00-18:00"), at("2026-11-22T09:00"), None),
            OpenState::Closed
        );
        assert_eq!(
            state(
                Some("Mo-Fr 09:00-17:00; PH off"),
                at("2026-12-25T10:00"),
                None
            ),
            OpenState::Closed
        );
        assert_eq!(
            state(Some("Mo,Mi,Fr 7:30 - 12:00"), at("2026-11-23T09:00"), None),
            OpenState::Unknown
        );
        assert_eq!(
            state(None, at("2026-11-23T09:00"), None),
            OpenState::Unknown
        );
        assert_eq!(
            state(Some(""), at("2026-11-23T09:00"), None),
            OpenState::Unknown
        );
    }
}
