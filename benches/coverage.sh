#!/usr/bin/env bash
# AED coverage benchmark (issue 21): `kreisgeo aed coverage` over an OSM extract (default the
# Lauf extract of fixtures/osm) with AEDS defibrillators (default 500) placed on its walking
# network (the middles of walking edges, a deterministic choice; every third open on weekdays
# only, the rest around the clock), for every address of the extract. Prints the network's
# size, the addresses and the seconds per phase; run it with another extract to see how it
# grows with the network.
#
#   benches/coverage.sh [FILE.osm.pbf] [AEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
pbf=${1:-fixtures/osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf}
aeds=${2:-500}
dir=target/bench
mkdir -p "$dir"
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-coverage
export RUST_LOG=warn
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true' EXIT
export DATABASE_URL=$url
for d in aed-coverage aed osm; do $k datasets delete $d >/dev/null 2>&1 || true; done
$k ingest "$pbf" --dataset osm --kind osm >/dev/null 2>&1
table=$(psql "$url" -Atc "SELECT v.table_name FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version WHERE d.id = 'osm'")
psql "$url" -Atc "COPY (SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
    'type', 'Feature', 'properties', json_build_object('opening_hours',
      CASE WHEN n % 3 = 0 THEN 'Mo-Fr 08:00-18:00' ELSE '24/7' END),
    'geometry', ST_AsGeoJSON(ST_LineInterpolatePoint(geom, 0.5), 7)::json)))
  FROM (SELECT geom, row_number() OVER (ORDER BY md5(fid::text)) AS n FROM data.${table}_walk
        ORDER BY md5(fid::text) LIMIT $aeds) e) TO STDOUT" > "$dir/coverage_aeds.geojson"
$k ingest "$dir/coverage_aeds.geojson" --dataset aed --kind aed >/dev/null 2>&1
read -r edges km < <(psql "$url" -Atc "SELECT count(*), round(sum(length_m)::numeric / 1000, 1) FROM data.${table}_walk" | tr '|' ' ')
start=$(date +%s.%N)
report=$($k aed coverage --aed aed --network osm --at 2026-12-07T10:00 --json 2>/dev/null)
end=$(date +%s.%N)
echo "network: $pbf, $edges walking edges, $km km; $aeds AEDs"
python3 - "$report" "$start" "$end" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
total = float(sys.argv[3]) - float(sys.argv[2])
t, m = r["around_the_clock"], r["at_moment"]
print(f"addresses {r['address_count']}; around the clock: {t['defibrillators']} AEDs, "
      f"{t['within_threshold']} within {r['threshold_min']:g} min, {t['beyond_threshold']} beyond, "
      f"{t['unreachable']} unreachable, median {t['median_minutes']} min; "
      f"Monday 10:00: {m['defibrillators']} AEDs, {m['beyond_threshold']} beyond; {r['gap_areas']} gap areas")
print("phases: " + ", ".join(f"{p} {s:.2f} s" for p, s in r["phases"]))
print(f"coverage total (the command, start to end): {total:.2f} s")
PY
