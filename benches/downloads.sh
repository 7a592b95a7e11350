#!/usr/bin/env bash
# Bulk downloads of a county-wide parcel layer: how long building every file takes, how fast a
# whole file streams, and how little of a FlatGeobuf GDAL fetches for a bounding box.
#
#   benches/downloads.sh [PARCELS]     default 1,000,000
#
# Uses the embedded PostgreSQL of the serving benchmark (target/bench/pg-serve), loading the
# generated parcels if they are not there. Needs GDAL (ogrinfo) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
dir=target/bench
mkdir -p "$dir"
cargo build --release --locked --quiet
k=$PWD/target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-serve
# A load generator is one client far over any per-client limit: measure the server, not the limit.
export KREISGEO_RATE_LIMIT=0
# The load generator is one address standing for many clients: no per-client share either.
export KREISGEO_REQUESTS_PER_CLIENT=100000
# nginx runs with access_log off, Martin logs no requests: compare like with like.
export RUST_LOG=info,sqlx=warn,tracing_actix_web=warn
parcels=$dir/parcels_$count.fgb
[[ -s $parcels ]] || $k generate --kind parcels --count "$count" --seed 1 --out "$parcels"
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
$k ingest "$parcels" --dataset parcels --kind parcels >/dev/null 2>&1
psql "$url" -qc "DELETE FROM catalog.downloads" >/dev/null

echo "== building every file (GeoJSON, CSV, FlatGeobuf x2, GeoPackage x2) of every dataset"
/usr/bin/time -v "$k" downloads build 2>&1 |
  grep -E "download built|files built|Maximum resident" |
  sed -E 's/.*file=([^ ]+) bytes=([0-9]+) features=([0-9]+) seconds=([0-9.]+).*/  \1: \2 bytes, \3 features, \4 s/'

port=8093
$k serve --bind 127.0.0.1:$port >"$dir/downloads-serve.log" 2>&1 &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
base=http://127.0.0.1:$port/collections/parcels/downloads

echo "== streaming whole files"
for f in parcels.geojson parcels_25832.fgb parcels_25832.gpkg; do
  curl -s -o /dev/null -w "  $f: %{size_download} bytes in %{time_total} s\n" "$base/$f"
done

echo "== GDAL reading a 500 m box of the FlatGeobuf over HTTP ranges"
box=(594000 5900700 594500 5901200)
start=$(date +%s.%N)
CPL_CURL_VERBOSE=YES ogrinfo -ro -al -q -spat "${box[@]}" "/vsicurl/$base/parcels_25832.fgb" \
  >"$dir/ogrinfo.out" 2>"$dir/ogrinfo.err"
end=$(date +%s.%N)
read -r ranges bytes < <(grep '^Range: bytes=' "$dir/ogrinfo.err" |
  awk -F'[=-]' '{s += $3 - $2 + 1} END {print NR, s}')
expected=$(psql "$url" -Atc "SELECT count(*) FROM data.$(psql "$url" -Atc \
  "SELECT table_name FROM catalog.versions v JOIN catalog.datasets d ON d.active_version = v.id WHERE d.id = 'parcels'") \
  WHERE ST_Intersects(geom, ST_MakeEnvelope(${box[0]}, ${box[1]}, ${box[2]}, ${box[3]}, 25832))")
printf '  %d features (PostGIS: %d) in %.2f s, %d range requests, %d bytes\n' \
  "$(grep -c 'OGRFeature(' "$dir/ogrinfo.out")" "$expected" "$(echo "$end - $start" | bc)" "$ranges" "$bytes"
