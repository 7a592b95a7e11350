#!/usr/bin/env bash
# Walking-route benchmark (issue 21): `/collections/aed/nearest?mode=walk&limit=5` over an OSM
# extract's walking network (default the Lauf extract of fixtures/osm) with AEDS defibrillators
# (default 500) placed on it (the middles of walking edges, a deterministic choice) and start
# points at the extract's addresses; wrk, 16 connections, SECONDS seconds (default 20).
# Prints the network's size, req/s and the p50/p95/p99 latencies; run it with another extract
# to see how they grow with the network.
#
#   benches/walk.sh [FILE.osm.pbf] [AEDS] [SECONDS]
#
# Needs wrk (package `wrk`); pgRouting comes with scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
pbf=${1:-fixtures/osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf}
aeds=${2:-500}
seconds=${3:-20}
dir=target/bench
mkdir -p "$dir"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-walk
export KREISGEO_RATE_LIMIT=0
export KREISGEO_REQUESTS_PER_CLIENT=100000
export RUST_LOG=warn
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
export DATABASE_URL=$url
$k datasets delete osm >/dev/null 2>&1 || true
$k ingest "$pbf" --dataset osm --kind osm >/dev/null 2>&1
table=$(psql "$url" -Atc "SELECT v.table_name FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version WHERE d.id = 'osm'")
psql "$url" -Atc "COPY (SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
    'type', 'Feature', 'properties', json_build_object('opening_hours', '24/7'),
    'geometry', ST_AsGeoJSON(ST_LineInterpolatePoint(geom, 0.5), 7)::json)))
  FROM (SELECT geom FROM data.${table}_walk ORDER BY md5(fid::text) LIMIT $aeds) e) TO STDOUT" > "$dir/walk_aeds.geojson"
$k datasets delete aed >/dev/null 2>&1 || true
$k ingest "$dir/walk_aeds.geojson" --dataset aed --kind aed >/dev/null 2>&1
psql "$url" -Atc "SELECT '/collections/aed/nearest?mode=walk&limit=5&point=' || round(ST_X(geom)::numeric, 6) || ',' || round(ST_Y(geom)::numeric, 6)
  FROM data.$table WHERE layer = 'address' ORDER BY md5(fid::text) LIMIT 2000" > "$dir/walk_urls.txt"
read -r edges km < <(psql "$url" -Atc "SELECT count(*), round(sum(length_m)::numeric / 1000, 1) FROM data.${table}_walk" | tr '|' ' ')

port=8095
RUST_LOG=warn,kreisgeo::routing=info $k serve --bind 127.0.0.1:$port >"$dir/walk-serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port$(head -1 "$dir/walk_urls.txt")" >/dev/null
cat > "$dir/walk.lua" <<'LUA'
local urls = {}
for line in io.lines(os.getenv("URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
out=$(URLS=$dir/walk_urls.txt wrk -t2 -c16 -d"${seconds}s" -s "$dir/walk.lua" "http://127.0.0.1:$port" 2>&1)
read -r rps p50 p95 p99 errors < <(awk '/^RESULT/ {print $2, $3, $4, $5, $6}' <<<"$out")
echo "network: $pbf, $edges walking edges, $km km; $aeds AEDs"
printf 'mode=walk limit=5, 16 connections, %s s: %.0f req/s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %d errors\n' \
  "$seconds" "$rps" "$p50" "$p95" "$p99" "$errors"
# The distances kept in memory, how long they took, and the server's peak memory.

grep -oE 'nodes=[0-9]+ entries=[0-9]+ seconds=[0-9.]+' "$dir/walk-serve.log" | tail -1 || true
echo "server peak RSS: $(awk '/VmHWM/ {print $2 / 1024 " MB"}' /proc/$server/status)"
