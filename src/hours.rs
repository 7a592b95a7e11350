//! Opening hours of OpenStreetMap (`opening_hours=*`), evaluated in German local time with
//! German public holidays (`PH`), by the opening-hours crate.

use chrono::{NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;
use opening_hours::localization::Country;
use opening_hours::{Context, OpeningHours, RuleKind};

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

/// Evaluates `hours` at the local time `at`.
pub fn state(hours: Option<&str>, at: NaiveDateTime) -> OpenState {
    let Some(text) = hours.map(str::trim).filter(|h| !h.is_empty()) else {
        return OpenState::Unknown;
    };
    let Ok(parsed) = text.parse::<OpeningHours>() else {
        return OpenState::Unknown;
    };
    let parsed = parsed.with_context(Context::default().with_holidays(Country::DE.holidays()));
    match parsed.state(at).0 {
        RuleKind::Open => OpenState::Open,
        RuleKind::Closed => OpenState::Closed,
        RuleKind::Unknown => OpenState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn osm_hours() {
        // 2026-11-23 is a Monday, 2026-11-22 a Sunday, 2026-12-25 Christmas (a holiday).
        assert_eq!(state(Some("24/7"), at("2026-11-22T03:00")), OpenState::Open);
        assert_eq!(
            state(Some("Mo-Fr 08:00-18:00"), at("2026-11-23T09:00")),
            OpenState::Open
        );
        assert_eq!(
            state(Some("Mo-Fr 08:00-18:00"), at("2026-11-23T19:00")),
            OpenState::Closed
        );
        assert_eq!(
            state(Some("Mo-Fr 08:00-18:00"), at("2026-11-22T09:00")),
            OpenState::Closed
        );
        assert_eq!(
            state(Some("Mo-Fr 09:00-17:00; PH off"), at("2026-12-25T10:00")),
            OpenState::Closed
        );
        assert_eq!(
            state(Some("Mo,Mi,Fr 7:30 - 12:00"), at("2026-11-23T09:00")),
            OpenState::Unknown
        );
        assert_eq!(state(None, at("2026-11-23T09:00")), OpenState::Unknown);
        assert_eq!(state(Some(""), at("2026-11-23T09:00")), OpenState::Unknown);
    }
}
