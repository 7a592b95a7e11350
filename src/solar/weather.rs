//! Typical meteorological years as counties get them: PVGIS TMY (CSV and JSON as PVGIS
//! exports them, hourly UTC, each month from its own source year) and the DWD's test reference
//! years (TRY `.dat`, hours 1…24 in MEZ, direct and diffuse horizontal irradiance). A file that
//! is malformed or incomplete is refused with its line and column.

use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

/// One hour of weather.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hour {
    /// The start of the hour the values describe, UTC.
    pub start: NaiveDateTime,
    /// Global horizontal irradiance, W/m².
    pub ghi: f64,
    /// Diffuse horizontal irradiance, W/m².
    pub dhi: f64,
    /// Direct normal irradiance, W/m², where the file gives it (PVGIS); the DWD gives the
    /// direct horizontal `ghi - dhi`, made normal with the sun's position.
    pub dni: Option<f64>,
    /// Air temperature at 2 m, °C.
    pub temp_air: f64,
    /// Wind speed at 10 m, m/s.
    pub wind_speed: f64,
}

/// Where the weather was observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Site {
    /// Latitude and longitude (WGS 84, degrees).
    LatLon { latitude: f64, longitude: f64 },
    /// A point in ETRS89 / LCC Europe (EPSG:3034), as the DWD gives its grid cells.
    Lcc { x: f64, y: f64 },
}

/// A typical year.
#[derive(Debug, Clone)]
pub struct Weather {
    /// What the file is: `PVGIS TMY (CSV)`, `PVGIS TMY (JSON)`, `DWD TRY`.
    pub source: &'static str,
    pub site: Site,
    /// Metres above sea level.
    pub elevation: f64,
    /// 8760 hours in calendar order (by month, day and hour, whatever year each came from).
    pub hours: Vec<Hour>,
    /// The moment within each hour that its sun position is taken at, in hours after its
    /// start: what PVGIS says its irradiance time offset is (the satellite's scan time, about
    /// 10 minutes past the hour: its beam normal fits G(h) − Gd(h) best there), the middle of
    /// the hour for the DWD's hourly means.
    pub sun_offset_hours: f64,
    /// The source line to name in the dataset's metadata.
    pub attribution: &'static str,
    /// The terms the weather data may be reused under.
    pub license: &'static str,
}

/// A weather file that cannot be read: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}: line {line}, column {column}: {message}")]
pub struct WeatherError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

pub const PVGIS_ATTRIBUTION: &str = "PVGIS © European Union, 2001-2024";
pub const DWD_ATTRIBUTION: &str = "Quelle: Deutscher Wetterdienst";
pub const PVGIS_LICENSE: &str =
    "reuse under the Commission's reuse policy, Decision 2011/833/EU (CC BY 4.0)";
pub const DWD_LICENSE: &str = "GeoNutzV (Nutzungsbestimmungen für Geodaten des Bundes)";

/// Hours of a typical year.
pub const HOURS: usize = 8760;

/// Reads a PVGIS TMY (CSV or JSON) or a DWD TRY, told apart by content.
pub fn read(path: &Path) -> Result<Weather, WeatherError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| WeatherError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let err = |line: usize, column: usize, message: String| WeatherError {
        file: file.clone(),
        line,
        column,
        message,
    };
    let weather = if text.trim_start().starts_with('{') {
        pvgis_json(&text).map_err(|(l, c, m)| err(l, c, m))?
    } else if text
        .lines()
        .any(|l| l.trim_start().starts_with("time(UTC)"))
    {
        pvgis_csv(&text).map_err(|(l, c, m)| err(l, c, m))?
    } else if text.lines().any(|l| l.starts_with("***")) {
        dwd_try(&text).map_err(|(l, c, m)| err(l, c, m))?
    } else {
        return Err(err(
            1,
            1,
            "neither a PVGIS TMY (CSV or JSON) nor a DWD test reference year".into(),
        ));
    };
    Ok(weather)
}

type Failure = (usize, usize, String);

/// Puts hours of a TMY into calendar order and checks that it is a whole year: 8760 hours,
/// each hour of a common year once, with plausible values.
fn whole_year(mut hours: Vec<Hour>, last_line: usize) -> Result<Vec<Hour>, Failure> {
    if hours.len() != HOURS {
        return Err((
            last_line,
            1,
            format!("{} hourly rows, a typical year has {HOURS}", hours.len()),
        ));
    }
    for h in &hours {
        let plausible = (0.0..=1500.0).contains(&h.ghi)
            && (0.0..=1500.0).contains(&h.dhi)
            && h.dni.is_none_or(|d| (0.0..=1500.0).contains(&d))
            && (-80.0..=70.0).contains(&h.temp_air)
            && (0.0..=100.0).contains(&h.wind_speed);
        if !plausible {
            return Err((
                last_line,
                1,
                format!(
                    "the hour starting {} has implausible values (irradiance 0–1500 W/m², \
                     air −80–70 °C, wind 0–100 m/s)",
                    h.start
                ),
            ));
        }
    }
    hours.sort_by_key(|h| (h.start.month(), h.start.day(), h.start.hour()));
    // Each hour of a common year once, in a row: no hour twice, none missing.
    let mut expected = NaiveDate::from_ymd_opt(TRY_YEAR, 1, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN);
    for h in &hours {
        let got = (h.start.month(), h.start.day(), h.start.hour());
        let want = (expected.month(), expected.day(), expected.hour());
        if got != want {
            return Err((
                last_line,
                1,
                format!(
                    "the hours do not make one year: {:02}-{:02} {:02}:00 is there twice or \
                     {:02}-{:02} {:02}:00 is missing",
                    got.0, got.1, got.2, want.0, want.1, want.2
                ),
            ));
        }
        expected += Duration::hours(1);
    }
    Ok(hours)
}

/// An irradiance time offset in hours, within the hour.
fn offset_within_hour(offset: Option<f64>, line: usize) -> Result<Option<f64>, Failure> {
    match offset {
        Some(o) if !(0.0..1.0).contains(&o) => Err((
            line,
            1,
            format!("irradiance time offset {o} h is not within the hour (0 to 1)"),
        )),
        other => Ok(other),
    }
}

/// An elevation in metres that can be one.
fn elevation_in_range(elevation: f64, line: usize) -> Result<f64, Failure> {
    if (-500.0..=9000.0).contains(&elevation) {
        Ok(elevation)
    } else {
        Err((line, 1, format!("elevation {elevation} m is not on Earth")))
    }
}

fn number(field: &str, line: usize, column: usize, name: &str) -> Result<f64, Failure> {
    match field.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err((
            line,
            column,
            format!("{name} '{}' is not a number", field.trim()),
        )),
    }
}

/// `YYYYMMDD:HHMM`, UTC.
fn pvgis_time(s: &str, line: usize, column: usize) -> Result<NaiveDateTime, Failure> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y%m%d:%H%M").map_err(|_| {
        (
            line,
            column,
            format!("time '{}' is not YYYYMMDD:HHMM", s.trim()),
        )
    })
}

/// The PVGIS columns a TMY must have, by name.
const PVGIS_COLUMNS: [&str; 6] = ["time(UTC)", "T2m", "G(h)", "Gb(n)", "Gd(h)", "WS10m"];

fn pvgis_csv(text: &str) -> Result<Weather, Failure> {
    let mut latitude = None;
    let mut longitude = None;
    let mut elevation = 0.0;
    let mut offset = None;
    let mut header: Option<Vec<String>> = None;
    let mut hours = Vec::with_capacity(HOURS);
    let mut last = 0;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches('\r');
        if let Some(columns) = &header {
            if !line.starts_with(|c: char| c.is_ascii_digit()) {
                break;
            }
            last = n;
            let fields: Vec<&str> = line.split(',').collect();
            let at = |name: &str| columns.iter().position(|c| c == name).unwrap_or(usize::MAX);
            let field = |name: &str| -> Result<(&str, usize), Failure> {
                let c = at(name);
                fields
                    .get(c)
                    .map(|f| (*f, c + 1))
                    .ok_or_else(|| (n, fields.len() + 1, format!("the row has no {name}")))
            };
            let (t, tc) = field("time(UTC)")?;
            let value = |name: &str| -> Result<f64, Failure> {
                let (f, c) = field(name)?;
                number(f, n, c, name)
            };
            hours.push(Hour {
                start: pvgis_time(t, n, tc)?,
                ghi: value("G(h)")?.max(0.0),
                dhi: value("Gd(h)")?.max(0.0),
                dni: Some(value("Gb(n)")?.max(0.0)),
                temp_air: value("T2m")?,
                wind_speed: value("WS10m")?.max(0.0),
            });
            continue;
        }
        let value_after = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.rsplit(':').next())
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        if line.starts_with("Latitude") {
            latitude = value_after("Latitude");
        } else if line.starts_with("Longitude") {
            longitude = value_after("Longitude");
        } else if line.starts_with("Elevation") {
            elevation = value_after("Elevation").unwrap_or(0.0);
        } else if line
            .to_ascii_lowercase()
            .starts_with("irradiance time offset")
        {
            offset = line
                .rsplit(':')
                .next()
                .and_then(|v| v.trim().parse::<f64>().ok());
        } else if line.starts_with("time(UTC)") {
            let columns: Vec<String> = line.split(',').map(|c| c.trim().to_string()).collect();
            for required in PVGIS_COLUMNS {
                if !columns.iter().any(|c| c == required) {
                    return Err((n, 1, format!("the header has no column {required}")));
                }
            }
            header = Some(columns);
        }
    }
    if header.is_none() {
        return Err((1, 1, "no header line starting with time(UTC)".into()));
    }
    let (Some(latitude), Some(longitude)) = (latitude, longitude) else {
        return Err((
            1,
            1,
            "no Latitude and Longitude lines before the data".into(),
        ));
    };
    Ok(Weather {
        source: "PVGIS TMY (CSV)",
        site: Site::LatLon {
            latitude,
            longitude,
        },
        elevation,
        hours: whole_year(hours, last)?,
        // PVGIS 5.2 files say no offset; its hourly series stamp the same values at HH:10.
        sun_offset_hours: offset.unwrap_or(10.0 / 60.0),
        attribution: PVGIS_ATTRIBUTION,
        license: PVGIS_LICENSE,
    })
}

fn pvgis_json(text: &str) -> Result<Weather, Failure> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| (e.line(), e.column(), format!("not JSON: {e}")))?;
    let location = &doc["inputs"]["location"];
    let (Some(latitude), Some(longitude)) = (
        location["latitude"].as_f64(),
        location["longitude"].as_f64(),
    ) else {
        return Err((1, 1, "inputs.location has no latitude and longitude".into()));
    };
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err((
            1,
            1,
            format!("{latitude}, {longitude} is not a place on Earth"),
        ));
    }
    let offset = offset_within_hour(location["irradiance_time_offset"].as_f64(), 1)?;
    let elevation = elevation_in_range(location["elevation"].as_f64().unwrap_or(0.0), 1)?;
    let Some(rows) = doc["outputs"]["tmy_hourly"].as_array() else {
        return Err((1, 1, "no outputs.tmy_hourly array".into()));
    };
    let mut hours = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        // No line numbers inside one JSON value: the record's position is the "line".
        let n = i + 1;
        let value = |name: &str| -> Result<f64, Failure> {
            row[name].as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
                (
                    n,
                    1,
                    format!("record {n} of tmy_hourly has no number {name}"),
                )
            })
        };
        let time = row["time(UTC)"]
            .as_str()
            .ok_or_else(|| (n, 1, format!("record {n} of tmy_hourly has no time(UTC)")))?;
        hours.push(Hour {
            start: pvgis_time(time, n, 1)?,
            ghi: value("G(h)")?.max(0.0),
            dhi: value("Gd(h)")?.max(0.0),
            dni: Some(value("Gb(n)")?.max(0.0)),
            temp_air: value("T2m")?,
            wind_speed: value("WS10m")?.max(0.0),
        });
    }
    let last = hours.len();
    Ok(Weather {
        source: "PVGIS TMY (JSON)",
        site: Site::LatLon {
            latitude,
            longitude,
        },
        elevation,
        hours: whole_year(hours, last)?,
        sun_offset_hours: offset.unwrap_or(10.0 / 60.0),
        attribution: PVGIS_ATTRIBUTION,
        license: PVGIS_LICENSE,
    })
}

/// The year a DWD TRY's hours are put in (a TRY has none; 2015 is not a leap year).
const TRY_YEAR: i32 = 2015;

fn dwd_try(text: &str) -> Result<Weather, Failure> {
    let mut elevation = 0.0;
    let mut data = false;
    let mut hours = Vec::with_capacity(HOURS);
    let mut site = None;
    let mut last = 0;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches('\r');
        if !data {
            if line.starts_with("***") {
                data = true;
            } else if let Some(rest) = line.strip_prefix("Hoehenlage") {
                elevation = rest
                    .trim_start_matches([' ', ':'])
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        last = n;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 17 {
            return Err((
                n,
                fields.len() + 1,
                format!("{} fields, a TRY row has 17", fields.len()),
            ));
        }
        // RW HW MM DD HH t p WR WG N x RF B D A E IL
        let value = |c: usize, name: &str| number(fields[c], n, c + 1, name);
        let (x, y) = (value(0, "RW")?, value(1, "HW")?);
        site.get_or_insert(Site::Lcc { x, y });
        let (month, day, hour) = (value(2, "MM")?, value(3, "DD")?, value(4, "HH")?);
        if month.fract() != 0.0
            || day.fract() != 0.0
            || !(1.0..=12.0).contains(&month)
            || !(1.0..=31.0).contains(&day)
        {
            return Err((n, 3, format!("{month}-{day} is not a date")));
        }
        if !(1.0..=24.0).contains(&hour) || hour.fract() != 0.0 {
            return Err((n, 5, format!("hour {hour} is not 1 to 24")));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let date = NaiveDate::from_ymd_opt(TRY_YEAR, month as u32, day as u32)
            .ok_or_else(|| (n, 3, format!("{month}-{day} is not a date")))?;
        // Hour HH (MEZ = UTC+1) is the hour ending at HH: it starts at HH-1 MEZ, HH-2 UTC.
        #[allow(clippy::cast_possible_truncation)]
        let start = date.and_time(chrono::NaiveTime::MIN) + Duration::hours(hour as i64 - 2);
        let direct = value(12, "B")?.max(0.0);
        let diffuse = value(13, "D")?.max(0.0);
        hours.push(Hour {
            start,
            ghi: direct + diffuse,
            dhi: diffuse,
            dni: None,
            temp_air: value(5, "t")?,
            wind_speed: value(8, "WG")?.max(0.0),
        });
    }
    if !data {
        return Err((1, 1, "no line starting with *** before the data".into()));
    }
    let Some(site) = site else {
        return Err((last.max(1), 1, "no data rows".into()));
    };
    Ok(Weather {
        source: "DWD TRY",
        site,
        elevation: elevation_in_range(elevation, 1)?,
        hours: whole_year(hours, last)?,
        sun_offset_hours: 0.5,
        attribution: DWD_ATTRIBUTION,
        license: DWD_LICENSE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kreisgeo-weather-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const CSV_HEAD: &str = "Latitude (decimal degrees): 52.496\r\nLongitude (decimal degrees): 13.414\r\nElevation (m): 37.0\r\nmonth,year\r\n1,2020\r\ntime(UTC),T2m,RH,G(h),Gb(n),Gd(h),IR(h),WS10m,WD10m,SP\r\n";

    #[test]
    fn a_malformed_or_short_year_is_refused_with_line_and_column() {
        let bad = write(
            "bad.csv",
            &format!(
                "{CSV_HEAD}20200101:0000,4.19,87.73,0.0,-0.0,x,285.25,3.28,270.0,102957.0\r\n"
            ),
        );
        let e = read(&bad).unwrap_err();
        assert_eq!((e.line, e.column), (7, 6), "{e}");
        assert!(e.message.contains("Gd(h)"), "{e}");
        let short = write(
            "short.csv",
            &format!("{CSV_HEAD}20200101:0000,4.19,87.73,0.0,-0.0,0.0,285.25,3.28,270.0,102957.0\r\n\r\nT2m: 2-m air temperature\r\n"),
        );
        let e = read(&short).unwrap_err();
        assert!(e.message.contains("1 hourly rows"), "{e}");
        let no_columns = write("cols.csv", "Latitude: 1\nLongitude: 2\ntime(UTC),T2m\n");
        let e = read(&no_columns).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let dwd = write(
            "try.dat",
            "Hoehenlage        : 102 Meter ueber NN\n***\n3802500 2745500  1  1 25   0.3  997 106  5.5 7  3.0  78    0    0 272 -300  1\n",
        );
        let e = read(&dwd).unwrap_err();
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(read(&write("x.txt", "hello")).is_err());
        let offset = write(
            "offset.json",
            r#"{"inputs":{"location":{"latitude":52.5,"longitude":13.4,"elevation":37,"irradiance_time_offset":-1e300}},"outputs":{"tmy_hourly":[]}}"#,
        );
        let e = read(&offset).unwrap_err();
        assert!(e.message.contains("not within the hour"), "{e}");
    }
}
