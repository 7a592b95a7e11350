#!/usr/bin/env python3
"""Independent reference for kreisgeo's solar cadastre (issue 19), built on pvlib from PyPI.

usage (from the repository root, after scripts/install-deps.sh --test):
  target/py-solar/bin/python tests/support/solar_check.py tmy FILE
  target/py-solar/bin/python tests/support/solar_check.py poa FILE --surfaces "30,180;45,90" [--albedo 0.2]
  target/py-solar/bin/python tests/support/solar_check.py yield FILE --surfaces "30,180" [--albedo 0.2]
                             [--losses 14] [--gamma -0.35] [--kwp-per-m2 0.2] [--a-r 0.16]
  target/py-solar/bin/python tests/support/solar_check.py shade [FILE] [--grid 0.25]

  common option: --sun-offset-min M   override the time convention (see TIME CONVENTION); for
                                      sensitivity studies only, the tests use the default.

FILE is a PVGIS TMY (CSV or JSON exactly as PVGIS exports them) or a DWD test reference year
(TRY 2015 `.dat`). `shade` defaults to the Berlin PVGIS TMY in ../shared/data/weather.
Surfaces are "tilt,azimuth" pairs separated by ";": tilt in degrees from horizontal (0..90),
azimuth in degrees clockwise from north (90 east, 180 south, 270 west).

Prints exactly one JSON document on stdout. Exit codes: 0 ok, 1 usage (bad arguments),
2 input refused (unreadable, malformed or incomplete weather file; the message names the line
and, where there is one, the column).

Why this exists: the Rust tests compare kreisgeo's own solar model against figures computed
here. Nothing here is shared with, generated from or modelled on the Rust code. The weather
files are read with pvlib's own PVGIS reader; the DWD TRY reader is written here from the file's
own header. Sun position, transposition, reflection losses and module temperature are pvlib's
functions, called as documented, so a mistake in kreisgeo is unlikely to be repeated here.

TIME CONVENTION (the Rust side must do the same; every JSON answer repeats it in "convention"):
  * PVGIS TMY (CSV and JSON): each record is labelled HH:00 UTC, but its irradiance is not an
    average over the hour: PVGIS-SARAH values are satellite observations taken a few minutes
    after the full hour. PVGIS 5.3 states the shift in the file ("Irradiance Time Offset (h)" in
    the CSV header, inputs.location.irradiance_time_offset in the JSON; 0.1761 h for 45 N 8 E).
    The sun position of a record is taken at  timestamp + that offset.  Files without the line
    (PVGIS <= 5.2, such as the Berlin CSV) get 10 minutes, the HH:10 time stamp under which
    PVGIS 5.2's hourly series publishes the same SARAH values.
    Evidence, from the files themselves: PVGIS derived each Gb(n) from the horizontal beam
    G(h) - Gd(h) with its own sun position; G(h) - Gd(h) = Gb(n) * cos(zenith(t)) is best
    satisfied at t = HH:10.5 for the JSON (the stated 0.1761 h) and HH:11 for Berlin (RMS
    residual 0.5-0.65 W/m2; 1.1 W/m2 at HH:10), while HH:00 leaves 9-11 W/m2 and HH:30
    16-20 W/m2. Taking the middle of the hour would pair the file's DNI with a sun position
    PVGIS did not use (it moves east/west surfaces by up to 5 %, south ones by < 0.1 %).
    The years are kept as the file gives them (each month in its source year, so the series is
    not chronological); no leap day occurs in the three sample files.
  * DWD TRY: records are labelled HH = 1..24 in MEZ (UTC+1, no daylight saving, header line
    "HH Stunde (MEZ)"), and HH is the END of the hour the values describe (hour 1 = 00:00-01:00
    MEZ, hour 24 = 23:00-24:00 MEZ). The sun position is taken at the middle of that hour,
    HH - 0.5 h MEZ = HH - 1.5 h UTC, in the nominal year 2015 (the file has no year; 2015 is not
    a leap year, like the file's 8760 hours). Evidence: the irradiance-weighted centre of each
    day lies 4 minutes from solar noon with this reading (34 min off with the sun at HH - 1 h MEZ,
    26 min with HH MEZ), and the correlation with a clear-sky model peaks within 5 min of
    HH - 1.5 h UTC.
  * Zenith used everywhere (transposition, angle of incidence, DNI from horizontal beam, the
    shading rays): the geometric (true, unrefracted) zenith of pvlib's NREL SPA
    (solarposition.get_solarposition, method 'nrel_numpy', the file's latitude, longitude and
    elevation, delta_t 67 s). PVGIS's own Gb(n) is more consistent with the true than with the
    refracted zenith at low sun, and it keeps pressure and temperature out of the comparison.
  * dni_extra: pvlib.irradiance.get_extra_radiation (solar constant 1366.1 W/m2, Spencer 1971
    Earth-Sun distance for the day of year of the sun-position instant).

MODEL DETAILS the Rust side must share (all pvlib 0.16.1 behaviour):
  * Hay-Davies: anisotropy index A = DNI / dni_extra; circumsolar = DHI * A * Rb with
    Rb = max(cos AOI, 0) / max(cos zenith, 0.01745); isotropic = DHI * (1 - A) * (1 + cos tilt)/2
    (each clipped at 0); beam = max(DNI * cos AOI, 0); ground = GHI * albedo * (1 - cos tilt)/2.
  * Shading and reflection losses treat the circumsolar part like the beam (it comes from the
    sun's direction); the isotropic and ground parts are neither shaded nor given the beam IAM.
  * Reflection losses (yield): Martin-Ruiz a_r = 0.16 on beam + circumsolar by the angle of
    incidence; Martin-Ruiz diffuse factors (pvlib.iam.martin_ruiz_diffuse, c1 = 0.4244,
    c2 = a_r/2 - 0.154) on the isotropic sky and ground parts, because PVGIS applies them too.
"""
import argparse
import json
import math
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

# pvlib / pandas deprecation chatter would go to stderr only, but keep stderr for real errors.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

HOURS = 8760
# The Berlin TMY of the shared sample data: default weather for `shade` (the scene of issue 19).
DEFAULT_SHADE_WEATHER = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "weather"
                         / "tmy_52.496_13.414_2005_2020.csv")
# PVGIS <= 5.2 files carry no irradiance time offset; its hourly series stamps SARAH at HH:10.
PVGIS_FALLBACK_OFFSET_H = 10.0 / 60.0
# DWD TRY: the hour labelled HH (MEZ) ends at HH; its middle is 30 min before the label.
DWD_SUN_OFFSET_H = -0.5
DWD_NOMINAL_YEAR = 2015
MEZ_UTC_OFFSET_H = 1


class Refused(Exception):
    """A weather file this reference will not interpret (exit 2)."""


class Usage(Exception):
    """Bad command-line arguments (exit 1)."""


# --- weather ------------------------------------------------------------------------------------

class Weather:
    """Hourly records in file order, plus where the sun is for each of them.

    frame columns: ghi, dni, dhi, temp_air, wind_speed (W/m2, degC, m/s); index: the record's
    label converted to UTC. sun_times: the instant used for the sun position of each record.
    """

    def __init__(self, source, latitude, longitude, elevation, frame, sun_times, labels, lines,
                 convention, extra=None):
        self.source = source
        self.latitude = latitude
        self.longitude = longitude
        self.elevation = elevation
        self.frame = frame
        self.sun_times = sun_times
        self.labels = labels   # the record's time exactly as written in the file
        self.lines = lines     # 1-based line of each record (JSON: 0-based index in tmy_hourly)
        self.convention = convention
        self.extra = extra or {}
        self._solpos = None

    def solar_position(self):
        if self._solpos is None:
            sp = pvlib.solarposition.get_solarposition(
                self.sun_times, self.latitude, self.longitude, altitude=self.elevation,
                method="nrel_numpy")
            # Positional: the PVGIS index is not chronological but is unique; keep file order.
            self._solpos = pd.DataFrame({
                "zenith": sp["zenith"].to_numpy(),
                "azimuth": sp["azimuth"].to_numpy(),
            }, index=self.frame.index)
        return self._solpos

    def dni_extra(self):
        return pd.Series(pvlib.irradiance.get_extra_radiation(self.sun_times).to_numpy(),
                         index=self.frame.index)


def sniff(path):
    try:
        head = path.open("rb").read(200)
    except OSError as e:
        raise Refused(f"{path}: cannot read: {e.strerror}")
    text = head.lstrip()
    if text.startswith(b"{"):
        return "pvgis-json"
    if text.startswith(b"Latitude"):
        return "pvgis-csv"
    if text.startswith(b"Koordinatensystem"):
        return "dwd-try"
    raise Refused(f"{path}: line 1: neither a PVGIS TMY (CSV/JSON) nor a DWD TRY .dat")


def read_weather(path, sun_offset_min=None):
    path = Path(path)
    kind = sniff(path)
    if kind == "dwd-try":
        return read_dwd_try(path, sun_offset_min)
    return read_pvgis(path, kind, sun_offset_min)


def read_pvgis(path, kind, sun_offset_min):
    fmt = "json" if kind == "pvgis-json" else "csv"
    try:
        data, meta = pvlib.iotools.read_pvgis_tmy(str(path), pvgis_format=fmt, map_variables=True)
    except Exception as e:  # pvlib raises whatever its parser meets; all mean "malformed"
        raise Refused(f"{path}: pvlib.iotools.read_pvgis_tmy refused it: {type(e).__name__}: {e}")

    inputs = meta.get("inputs", {})
    loc = inputs.get("location", inputs)  # JSON nests the location, the CSV reader does not
    try:
        lat, lon, elev = float(loc["latitude"]), float(loc["longitude"]), float(loc["elevation"])
    except (KeyError, TypeError, ValueError):
        raise Refused(f"{path}: no latitude/longitude/elevation in the header")
    stated = loc.get("irradiance_time_offset", inputs.get("irradiance time offset"))

    need = ["ghi", "dni", "dhi", "temp_air", "wind_speed"]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise Refused(f"{path}: columns missing: {missing}")
    frame = data[need].astype(float)
    # pvlib reads exactly 8760 rows of a CSV; a short file fails there or leaves NaN/garbage.
    if len(frame) != HOURS:
        raise Refused(f"{path}: {len(frame)} hourly records, expected {HOURS}")
    bad = frame.isna().any(axis=1).to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        where = (f"tmy_hourly[{k}]" if kind == "pvgis-json"
                 else f"line {pvgis_record_lines(path, kind)[k]}")
        raise Refused(f"{path}: {where}: missing or non-numeric value (record {k + 1} of {HOURS}; "
                      "a short file also ends here)")
    mdh = list(zip(frame.index.month, frame.index.day, frame.index.hour))
    if len(set(mdh)) != HOURS:
        raise Refused(f"{path}: month/day/hour not unique over the {HOURS} records")
    # Night beam is written as -0.0 in the CSV; numerically it is 0, keep it so.
    frame = frame + 0.0

    if sun_offset_min is not None:
        offset_h = sun_offset_min / 60.0
        rule = f"overridden: sun at timestamp + {sun_offset_min} min"
    elif stated is not None:
        offset_h = float(stated)
        rule = (f"sun at timestamp (UTC) + the file's irradiance time offset {offset_h} h "
                "(PVGIS-SARAH values are observations a few minutes after the hour)")
    else:
        offset_h = PVGIS_FALLBACK_OFFSET_H
        rule = ("sun at timestamp (UTC) + 10 min: the file states no irradiance time offset "
                "(PVGIS <= 5.2), 10 min is the HH:10 stamp PVGIS 5.2 gives the same SARAH values")
    sun_times = frame.index + pd.Timedelta(hours=offset_h)

    labels = [t.strftime("%Y%m%d:%H%M") for t in frame.index]
    lines = pvgis_record_lines(path, kind)
    conv = {
        "rule": rule + "; each month in its source year as the file gives it; true (unrefracted) "
                       "zenith from pvlib NREL SPA (nrel_numpy, delta_t 67 s)",
        "sun_offset_h": offset_h,
        "file_irradiance_time_offset_h": None if stated is None else float(stated),
        "timestamps": "UTC as written",
    }
    return Weather(kind, lat, lon, elev, frame, sun_times, labels, lines, conv,
                   {"months_selected": meta.get("months_selected")})


def pvgis_record_lines(path, kind):
    """1-based line numbers of the data rows (CSV) or array positions (JSON), for the report."""
    if kind == "pvgis-json":
        return list(range(HOURS))
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if line.startswith(b"time(UTC)"):
                return list(range(n + 1, n + 1 + HOURS))
    raise Refused(f"{path}: no 'time(UTC)' header line")


# DWD TRY 2015 `.dat`: the header describes its own columns (names on the line before "***",
# units and ranges in "Reihenfolge der Parameter"). Columns are located by those names, not by
# position, so a TRY of another vintage with a different column order is read or refused, never
# misread.
DWD_REQUIRED = {"MM", "DD", "HH", "t", "WG", "B", "D", "RW", "HW"}


def read_dwd_try(path, sun_offset_min):
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise Refused(f"{path}: cannot read: {e.strerror}")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise Refused(f"{path}: line {line}: non-ASCII byte (the DWD header transliterates umlauts)")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [l[:-1] if l.endswith("\r") else l for l in lines]

    star = next((i for i, l in enumerate(lines) if l.startswith("***")), None)
    if star is None or star == 0:
        raise Refused(f"{path}: no '***' line ending the header")
    names = lines[star - 1].split()
    missing = DWD_REQUIRED - set(names)
    if missing:
        raise Refused(f"{path}: line {star}: column names {sorted(missing)} missing from '{lines[star - 1].strip()}'")
    col = {n: i for i, n in enumerate(names)}

    header = "\n".join(lines[:star])
    # Time zone: the HH description must say MEZ; anything else is a file we do not understand.
    hh = re.search(r"^HH\s+Stunde\s*\((\w+)\)", header, re.M)
    if not hh or hh.group(1) != "MEZ":
        raise Refused(f"{path}: header does not describe HH as 'Stunde (MEZ)'")
    # Units of B and D must be W/m^2 (older TRY versions differ in layout, not in this).
    for name in ("B", "D"):
        m = re.search(rf"^{name}\s+.*\[W/m\^2\]", header, re.M)
        if not m:
            raise Refused(f"{path}: header gives no [W/m^2] unit for column {name}")
    elev = re.search(r"^Hoehenlage\s*:\s*(-?\d+(?:\.\d+)?)\s*Meter", header, re.M)
    if not elev:
        raise Refused(f"{path}: no 'Hoehenlage' line in the header")
    elevation = float(elev.group(1))
    rw_h = re.search(r"^Rechtswert\s*:\s*(\d+)", header, re.M)
    hw_h = re.search(r"^Hochwert\s*:\s*(\d+)", header, re.M)
    if not rw_h or not hw_h:
        raise Refused(f"{path}: no Rechtswert/Hochwert lines in the header")
    rw, hw = int(rw_h.group(1)), int(hw_h.group(1))

    records = []
    ints = {"RW", "HW", "MM", "DD", "HH"}
    for i in range(star + 1, len(lines)):
        line = lines[i]
        lineno = i + 1
        if not line.strip():
            raise Refused(f"{path}: line {lineno}: empty line inside the data")
        tokens = [(m.group(0), m.start() + 1) for m in re.finditer(r"\S+", line)]
        if len(tokens) != len(names):
            raise Refused(f"{path}: line {lineno}: {len(tokens)} fields, the header names {len(names)}")
        rec = {}
        for name, (tok, column) in zip(names, tokens):
            try:
                rec[name] = int(tok) if name in ints else float(tok)
            except ValueError:
                raise Refused(f"{path}: line {lineno}, column {column}: '{tok}' is not a number ({name})")
            rec[name + "@"] = column
        if rec["RW"] != rw or rec["HW"] != hw:
            raise Refused(f"{path}: line {lineno}, column 1: grid cell {rec['RW']}/{rec['HW']} differs from the header's {rw}/{hw}")
        for name in ("B", "D"):
            if rec[name] < 0:
                raise Refused(f"{path}: line {lineno}, column {rec[name + '@']}: negative {name}")
        rec["line"] = lineno
        records.append(rec)

    # The records must be the hours of one non-leap year in order: hour k ends k hours after
    # 1 Jan 00:00 MEZ. Checking every label catches gaps, duplicates and a leap day alike, and
    # names the first line out of step; the count is checked after that.
    start = pd.Timestamp(DWD_NOMINAL_YEAR, 1, 1)
    for k, rec in enumerate(records[:HOURS]):
        end = start + pd.Timedelta(hours=k + 1)
        expect = (end.month, end.day, end.hour) if end.hour != 0 else \
            ((end - pd.Timedelta(days=1)).month, (end - pd.Timedelta(days=1)).day, 24)
        got = (rec["MM"], rec["DD"], rec["HH"])
        if got != expect:
            raise Refused(f"{path}: line {rec['line']}, column {rec['MM@']}: month/day/hour "
                          f"{got[0]:02d}-{got[1]:02d} {got[2]:02d}, expected "
                          f"{expect[0]:02d}-{expect[1]:02d} {expect[2]:02d}")
    if len(records) != HOURS:
        raise Refused(f"{path}: {len(records)} hourly records, expected {HOURS}")

    # Label (end of the hour, MEZ) -> UTC. Hour 24 is midnight at the END of that day.
    label_utc = pd.DatetimeIndex(
        [start + pd.Timedelta(hours=k + 1 - MEZ_UTC_OFFSET_H) for k in range(HOURS)], tz="UTC")
    if sun_offset_min is not None:
        offset_h = sun_offset_min / 60.0
        rule = f"overridden: sun at label (UTC) + {sun_offset_min} min"
    else:
        offset_h = DWD_SUN_OFFSET_H
        rule = ("HH (MEZ = UTC+1) ends the hour the values describe; sun at the middle of that "
                "hour, HH - 0.5 h MEZ = HH - 1.5 h UTC, nominal year 2015")
    sun_times = label_utc + pd.Timedelta(hours=offset_h)

    lat, lon = lcc_epsg3034_inverse(rw, hw)
    B = np.array([r["B"] for r in records])
    D = np.array([r["D"] for r in records])
    frame = pd.DataFrame({
        "ghi": B + D,   # the TRY has no global column: global = direct + diffuse horizontal
        "dni": np.nan,
        "dhi": D,
        "temp_air": [r["t"] for r in records],
        "wind_speed": [r["WG"] for r in records],
    }, index=label_utc)
    w = Weather("dwd-try", lat, lon, elevation, frame, sun_times,
                [f"{r['MM']:02d}-{r['DD']:02d} {r['HH']:02d} MEZ" for r in records],
                [r["line"] for r in records],
                {"rule": rule + "; true (unrefracted) zenith from pvlib NREL SPA (nrel_numpy, "
                                "delta_t 67 s)",
                 "sun_offset_h": offset_h, "timestamps": "label HH MEZ converted to UTC (end of the hour)"})
    # DNI from the direct horizontal: B / cos(zenith), by pvlib.irradiance.dni, which leaves
    # NaN where the result is negative or the sun is at or below 88 deg zenith with B > 0; those
    # hours get DNI 0 (their horizontal beam is dropped and reported). No clear-sky cap: that
    # would need a clear-sky model and a turbidity climatology on both sides.
    zen = w.solar_position()["zenith"]
    dni = pvlib.irradiance.dni(frame["ghi"], frame["dhi"], zen)
    dropped = dni.isna() & (pd.Series(B, index=frame.index) > 0)
    frame["dni"] = dni.fillna(0.0) + 0.0   # + 0.0 turns the -0.0 of 0/cos(z > 90) into 0
    w.extra = {
        "coordinates": {"epsg3034_rw_hw": [rw, hw], "from": "inverse Lambert conformal conic "
                        "EPSG:3034 (the header names only 'Lambert konform konisch')"},
        "latitude_longitude_from_filename": filename_latlon(path),
        "dni_rule": "DNI = B / cos(true zenith at the sun-position instant) by "
                    "pvlib.irradiance.dni (zenith >= 88 deg or negative -> 0)",
        "beam_dropped_hours": int(dropped.sum()),
        "beam_dropped_kwh_m2a": round(float(B[dropped.to_numpy()].sum()) / 1000.0, 4),
    }
    return w


def lcc_epsg3034_inverse(easting, northing):
    """EPSG:3034 (ETRS89 / LCC Europe; GRS80, parallels 35/65 N, origin 52 N 10 E,
    false easting 4 000 000, false northing 2 800 000) to latitude/longitude (Snyder 1987, 15)."""
    a, f = 6378137.0, 1 / 298.257222101
    e = math.sqrt(2 * f - f * f)
    p1, p2, p0, l0 = (math.radians(v) for v in (35.0, 65.0, 52.0, 10.0))

    def m(p):
        return math.cos(p) / math.sqrt(1 - (e * math.sin(p)) ** 2)

    def t(p):
        return math.tan(math.pi / 4 - p / 2) / ((1 - e * math.sin(p)) / (1 + e * math.sin(p))) ** (e / 2)

    n = (math.log(m(p1)) - math.log(m(p2))) / (math.log(t(p1)) - math.log(t(p2)))
    F = m(p1) / (n * t(p1) ** n)
    r0 = a * F * t(p0) ** n
    x, y = easting - 4_000_000.0, r0 - (northing - 2_800_000.0)
    r = math.copysign(math.hypot(x, y), n)
    tt = (r / (a * F)) ** (1 / n)
    lon = math.atan2(x, y) / n + l0
    phi = math.pi / 2 - 2 * math.atan(tt)
    for _ in range(30):
        phi = math.pi / 2 - 2 * math.atan(tt * ((1 - e * math.sin(phi)) / (1 + e * math.sin(phi))) ** (e / 2))
    return math.degrees(phi), math.degrees(lon)


def filename_latlon(path):
    """DWD names the files TRY<year>_<lat*1e4:06><lon*1e4:06>_<Jahr|Somm|Wint>.dat."""
    m = re.match(r"TRY\d{4}_(\d{6})(\d{6})_", path.name)
    if not m:
        return None
    return [int(m.group(1)) / 1e4, int(m.group(2)) / 1e4]


# --- model --------------------------------------------------------------------------------------

def parse_surfaces(spec):
    out = []
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            tilt, az = (float(v) for v in part.split(","))
        except ValueError:
            raise Usage(f"--surfaces: '{part}' is not 'tilt,azimuth'")
        if not (0.0 <= tilt <= 90.0):
            raise Usage(f"--surfaces: tilt {tilt} outside 0..90")
        if not (0.0 <= az < 360.0):
            raise Usage(f"--surfaces: azimuth {az} outside 0..360 (clockwise from north)")
        out.append((tilt, az))
    if not out:
        raise Usage("--surfaces: no surface given")
    return out


def transpose(w, tilt, azimuth, albedo):
    """Hourly in-plane components by Hay-Davies, as pvlib computes them (W/m2, file order)."""
    sp = w.solar_position()
    f = w.frame
    dni_extra = w.dni_extra()
    total = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sp["zenith"], sp["azimuth"], f["dni"], f["ghi"], f["dhi"],
        dni_extra=dni_extra, albedo=albedo, model="haydavies")
    # The split of the sky diffuse into circumsolar and isotropic parts: the circumsolar part
    # comes from the sun's direction, so shading and reflection losses treat it like the beam.
    parts = pvlib.irradiance.haydavies(
        tilt, azimuth, f["dhi"], f["dni"], dni_extra, sp["zenith"], sp["azimuth"],
        return_components=True)
    aoi = pvlib.irradiance.aoi(tilt, azimuth, sp["zenith"], sp["azimuth"])
    return {
        "global": total["poa_global"].to_numpy(),
        "beam": total["poa_direct"].to_numpy(),
        "sky_diffuse": total["poa_sky_diffuse"].to_numpy(),
        "ground_diffuse": total["poa_ground_diffuse"].to_numpy(),
        "circumsolar": parts["poa_circumsolar"].to_numpy(),
        "isotropic": parts["poa_isotropic"].to_numpy(),
        "aoi": aoi.to_numpy(),
    }


def iso_utc(t):
    """ISO 8601 UTC with milliseconds only when the instant has them (0.1761 h = 10 min 33.96 s)."""
    ms = t.microsecond // 1000
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ms:03d}" if ms else "") + "Z"


def kwh(x):
    return round(float(np.sum(x)) / 1000.0, 4)


def cmd_tmy(w):
    f = w.frame

    def rec(i):
        return {
            "time": f.index[i].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sun_time": iso_utc(w.sun_times[i]),
            "label": w.labels[i],
            "line": w.lines[i],
            "ghi": float(f["ghi"].iloc[i]),
            "dni": round(float(f["dni"].iloc[i]), 4),
            "dhi": float(f["dhi"].iloc[i]),
            "temp_air": float(f["temp_air"].iloc[i]),
            "wind_speed": float(f["wind_speed"].iloc[i]),
        }

    out = {
        "source": w.source,
        "latitude": round(w.latitude, 6),
        "longitude": round(w.longitude, 6),
        "elevation": w.elevation,
        "hours": len(f),
        "ghi_kwh_m2a": kwh(f["ghi"]),
        "dni_kwh_m2a": kwh(f["dni"]),
        "dhi_kwh_m2a": kwh(f["dhi"]),
        "temp_air_mean": round(float(f["temp_air"].mean()), 4),
        "first": rec(0),
        "last": rec(len(f) - 1),
        "convention": w.convention,
    }
    out.update(w.extra)
    return out


def cmd_poa(w, surfaces, albedo):
    res = []
    for tilt, az in surfaces:
        c = transpose(w, tilt, az, albedo)
        res.append({
            "tilt": tilt, "azimuth": az,
            "poa_kwh_m2a": kwh(c["global"]),
            "poa_beam": kwh(c["beam"]),
            "poa_sky_diffuse": kwh(c["sky_diffuse"]),
            "poa_circumsolar": kwh(c["circumsolar"]),
            "poa_isotropic": kwh(c["isotropic"]),
            "poa_ground_diffuse": kwh(c["ground_diffuse"]),
        })
    return {"source": w.source, "albedo": albedo, "model": "haydavies", "surfaces": res,
            "convention": w.convention}


def cmd_yield(w, surfaces, albedo, losses, gamma, kwp_per_m2, a_r, u0, u1):
    f = w.frame
    res = []
    for tilt, az in surfaces:
        c = transpose(w, tilt, az, albedo)
        # Reflection (angle-of-incidence) losses as PVGIS applies them: Martin & Ruiz for the
        # beam AND for the diffuse light (PVGIS 5 multiplies sky-diffuse and ground-reflected
        # irradiance by the Martin-Ruiz diffuse factors, c1 = 4/(3 pi), c2 = a_r/2 - 0.154,
        # exactly pvlib.iam.martin_ruiz_diffuse). The Hay-Davies circumsolar part comes from
        # the sun's direction and gets the beam factor; the isotropic part the sky factor.
        iam_beam = pvlib.iam.martin_ruiz(c["aoi"], a_r=a_r)
        iam_diff = pvlib.iam.martin_ruiz_diffuse(tilt, a_r=a_r)
        effective = ((c["beam"] + c["circumsolar"]) * iam_beam
                     + c["isotropic"] * float(iam_diff["sky"])
                     + c["ground_diffuse"] * float(iam_diff["ground"]))
        # Faiman heats the module with the incident (pre-reflection) in-plane irradiance, the
        # file's 2 m air temperature and its 10 m wind speed, as pvlib's ModelChain feeds it.
        t_mod = pvlib.temperature.faiman(c["global"], f["temp_air"].to_numpy(),
                                         f["wind_speed"].to_numpy(), u0=u0, u1=u1)
        # DC power of 1 kWp: 1 kW at 1000 W/m2 effective, linear in irradiance, corrected by
        # the power temperature coefficient; one hour of it is kWh/kWp.
        p = effective / 1000.0 * (1.0 + gamma / 100.0 * (t_mod - 25.0))
        dc = float(np.sum(p))
        spec = dc * (1.0 - losses / 100.0)
        res.append({
            "tilt": tilt, "azimuth": az,
            "specific_yield_kwh_kwp": round(spec, 4),
            "dc_kwh_kwp_before_losses": round(dc, 4),
            "poa_kwh_m2a": kwh(c["global"]),
            "effective_kwh_m2a": kwh(effective),
            "iam_loss_pct": round(100.0 * (1 - np.sum(effective) / np.sum(c["global"])), 4)
            if np.sum(c["global"]) > 0 else 0.0,
            "kwh_per_m2_module_a": round(spec * kwp_per_m2, 4),
            "module_temp_weighted_mean": round(float(np.sum(t_mod * effective) / np.sum(effective)), 4)
            if np.sum(effective) > 0 else None,
        })
    return {
        "source": w.source,
        "surfaces": res,
        "parameters": {
            "albedo": albedo, "transposition": "haydavies", "losses_pct": losses,
            "gamma_pct_per_k": gamma, "kwp_per_m2": kwp_per_m2,
            "iam": {"model": "pvlib.iam.martin_ruiz (beam, circumsolar) + "
                             "pvlib.iam.martin_ruiz_diffuse (isotropic sky, ground)", "a_r": a_r},
            "temperature": {"model": "pvlib.temperature.faiman(poa_global, temp_air, wind_speed)",
                            "u0": u0, "u1": u1},
            "power": "effective/1000 * (1 + gamma/100 * (T_module - 25)), summed over the hours, "
                     "then * (1 - losses/100)",
        },
        "convention": w.convention,
    }


# --- shading ------------------------------------------------------------------------------------
# The synthetic scene of issue 19, in a local metric frame (x east, y north, z up):
#   wall: the vertical rectangle x in [-50, 50], y = 0, z in [0, 20] (100 m long, 20 m high,
#         running east-west);
#   roof: the horizontal square x in [-5, 5], y in [10, 20], z = 0 (its south edge 10 m north of
#         the wall), sampled at the centres of a grid of `grid` m cells.
# A sample point P is shaded in an hour when the ray P + t*s (t > 0, s the unit vector to the
# sun) meets the wall rectangle: it can only do so with the sun in the southern half of the sky
# (s_y < 0), at t = -P_y / s_y, and it is blocked when the hit point has -50 <= x <= 50 and
# 0 <= z <= 20. The shaded share of the points removes that share of the hour's beam and
# circumsolar irradiance; the isotropic sky and ground-reflected parts are left unchanged.
WALL = {"x_min": -50.0, "x_max": 50.0, "y": 0.0, "z_min": 0.0, "z_max": 20.0}
ROOF = {"x_min": -5.0, "x_max": 5.0, "y_min": 10.0, "y_max": 20.0, "z": 0.0}


def shaded_fraction(zenith, azimuth, points, wall):
    el = np.radians(90.0 - zenith)
    az = np.radians(azimuth)
    sx, sy, sz = np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)
    frac = np.zeros(len(zenith))
    if wall is None:
        return frac
    px, py, pz = points
    for i in np.nonzero((zenith < 90.0) & (sy < 0.0))[0]:
        t = (wall["y"] - py) / sy[i]              # > 0: points lie north of the wall
        hx = px + t * sx[i]
        hz = pz + t * sz[i]
        blocked = (hx >= wall["x_min"]) & (hx <= wall["x_max"]) & (hz >= wall["z_min"]) & (hz <= wall["z_max"])
        frac[i] = blocked.mean()
    return frac


def cmd_shade(w, grid, albedo):
    n_x = int(round((ROOF["x_max"] - ROOF["x_min"]) / grid))
    n_y = int(round((ROOF["y_max"] - ROOF["y_min"]) / grid))
    xs = ROOF["x_min"] + grid * (np.arange(n_x) + 0.5)
    ys = ROOF["y_min"] + grid * (np.arange(n_y) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    points = (gx.ravel(), gy.ravel(), np.full(gx.size, ROOF["z"]))

    c = transpose(w, 0.0, 180.0, albedo)
    sp = w.solar_position()
    zen, azi = sp["zenith"].to_numpy(), sp["azimuth"].to_numpy()
    bc = c["beam"] + c["circumsolar"]
    total = np.sum(c["global"])

    def case(wall):
        frac = shaded_fraction(zen, azi, points, wall)
        shaded_bc = bc * (1.0 - frac)
        lost = np.sum(bc) - np.sum(shaded_bc)
        return {
            "beam_circumsolar_kwh_m2a_unshaded": kwh(bc),
            "beam_circumsolar_kwh_m2a_shaded": kwh(shaded_bc),
            "beam_loss_pct": round(100.0 * lost / np.sum(bc), 4),
            "total_unshaded_kwh_m2a": kwh(c["global"]),
            "total_shaded_kwh_m2a": round((total - lost) / 1000.0, 4),
            "total_loss_pct": round(100.0 * lost / total, 4),
            "hours_with_shade": int(np.sum(frac > 0)),
            "hours_fully_shaded": int(np.sum(frac >= 1.0)),
        }

    return {
        "scene": {
            "frame": "local metric, x east, y north, z up (metres)",
            "wall": dict(WALL, description="vertical rectangle, 100 m long east-west along y = 0, 20 m high"),
            "roof": dict(ROOF, tilt=0.0, description="horizontal 10 m x 10 m square, south edge 10 m north of the wall"),
            "sampling": f"{n_x} x {n_y} = {gx.size} points at the centres of {grid} m cells",
            "shading_rule": "share of points whose ray to the sun meets the wall removes that share "
                            "of beam + circumsolar (Hay-Davies); isotropic sky and ground-reflected "
                            "unchanged; hours with the sun at or below the horizon lose nothing",
            "albedo": albedo,
        },
        "source": w.source,
        "with_wall": case(WALL),
        "no_wall": case(None),
        "convention": w.convention,
    }


# --- command line -------------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def main(argv):
    ap = Parser(prog="solar_check.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=Parser)

    def common(p, file_required=True):
        if file_required:
            p.add_argument("file")
        else:
            p.add_argument("file", nargs="?", default=str(DEFAULT_SHADE_WEATHER))
        p.add_argument("--albedo", type=float, default=0.2)
        p.add_argument("--sun-offset-min", type=float, default=None)

    p = sub.add_parser("tmy")
    p.add_argument("file")
    p.add_argument("--sun-offset-min", type=float, default=None)
    p = sub.add_parser("poa")
    common(p)
    p.add_argument("--surfaces", required=True)
    p = sub.add_parser("yield")
    common(p)
    p.add_argument("--surfaces", required=True)
    p.add_argument("--losses", type=float, default=14.0)
    p.add_argument("--gamma", type=float, default=-0.35)
    p.add_argument("--kwp-per-m2", type=float, default=0.2)
    p.add_argument("--a-r", type=float, default=0.16)
    p.add_argument("--u0", type=float, default=25.0)    # pvlib's faiman defaults
    p.add_argument("--u1", type=float, default=6.84)
    p = sub.add_parser("shade")
    common(p, file_required=False)
    p.add_argument("--grid", type=float, default=0.25)

    a = ap.parse_args(argv)
    if hasattr(a, "albedo") and not (0.0 <= a.albedo <= 1.0):
        raise Usage("--albedo must be within 0..1")
    if a.cmd == "yield" and not (0.0 <= a.losses < 100.0):
        raise Usage("--losses must be within 0..100 (percent)")
    if a.cmd == "yield" and a.a_r <= 0:
        raise Usage("--a-r must be positive")
    if a.cmd == "shade" and not (0.0 < a.grid <= 5.0 and abs(10.0 / a.grid - round(10.0 / a.grid)) < 1e-9):
        raise Usage("--grid must divide 10 m (e.g. 0.25, 0.5, 1)")

    surfaces = parse_surfaces(a.surfaces) if hasattr(a, "surfaces") else None
    w = read_weather(a.file, a.sun_offset_min)
    if a.cmd == "tmy":
        return cmd_tmy(w)
    if a.cmd == "poa":
        return cmd_poa(w, surfaces, a.albedo)
    if a.cmd == "yield":
        return cmd_yield(w, surfaces, a.albedo, a.losses, a.gamma, a.kwp_per_m2, a.a_r, a.u0, a.u1)
    return cmd_shade(w, a.grid, a.albedo)


if __name__ == "__main__":
    try:
        result = main(sys.argv[1:])
    except Usage as e:
        print(f"solar_check.py: usage: {e}", file=sys.stderr)
        sys.exit(1)
    except Refused as e:
        print(f"solar_check.py: refused: {e}", file=sys.stderr)
        sys.exit(2)
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
