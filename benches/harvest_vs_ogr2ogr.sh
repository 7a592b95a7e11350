#!/usr/bin/env bash
# Harvest benchmark (issue 22): COUNT features (default 100,000 generated AEDs) served by one
# kreisgeo are copied over OGC API Features into PostGIS, end to end into a served version, by
# another kreisgeo (`sources run`, default page size) and by ogr2ogr (GDAL's OAPIF driver into
# its PostgreSQL driver, default settings but COPY). Prints seconds, features/s and the ratio;
# then the time to fill a register from two sources with the same features, merged.
#
#   benches/harvest_vs_ogr2ogr.sh [COUNT]
#
# Needs gdal-bin. Files and the database live in target/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
dir=target/bench
mkdir -p "$dir"
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-harvest
export KREISGEO_RATE_LIMIT=0 KREISGEO_REQUESTS_PER_CLIENT=64 RUST_LOG=warn
f=$dir/aed_$count.geojson
[[ -s $f ]] || $k generate --kind aed --count "$count" --seed 1 --out "$f"
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
export DATABASE_URL=$url
re='^postgres://([^:]+):([^@]+)@([^:]+):([0-9]+)/(.+)$'
[[ $url =~ $re ]] || { echo "unexpected URL $url" >&2; exit 1; }
pg="PG:user=${BASH_REMATCH[1]} password=${BASH_REMATCH[2]} host=${BASH_REMATCH[3]} port=${BASH_REMATCH[4]} dbname=${BASH_REMATCH[5]}"
psql "$url" -qc "CREATE SCHEMA IF NOT EXISTS ogr" >/dev/null
for d in aed aed-harvested aed-register; do $k datasets delete $d >/dev/null 2>&1 || true; done
psql "$url" -qc "DELETE FROM catalog.sources" >/dev/null
$k ingest "$f" --dataset aed --kind aed >/dev/null 2>&1
port=8094
$k serve --bind 127.0.0.1:$port >"$dir/harvest-serve.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
collection=http://127.0.0.1:$port/collections/aed
$k sources add --dataset aed-harvested --as aed --url "$collection" --allow-hosts 127.0.0.1 >/dev/null 2>&1

start=$(date +%s.%N)
$k sources run --dataset aed-harvested --allow-hosts 127.0.0.1 --json > "$dir/harvest-run.json" 2>/dev/null
end=$(date +%s.%N)
ks=$(echo "$end - $start" | bc)
kn=$(python3 -c "import json; print(json.load(open('$dir/harvest-run.json'))[0]['features'])")

run=$(date +%s)
start=$(date +%s.%N)
ogr2ogr -f PostgreSQL "$pg" "OAPIF:$collection" -nln "ogr.aed_$run" -lco GEOMETRY_NAME=geom 2> "$dir/ogr2ogr-harvest.log"
end=$(date +%s.%N)
os=$(echo "$end - $start" | bc)
on=$(psql "$url" -Atc "SELECT count(*) FROM ogr.aed_$run")
psql "$url" -qc "DROP TABLE ogr.aed_$run" >/dev/null

printf '%-10s %10s %10s %12s\n' copier features seconds features/s
printf '%-10s %10d %10.1f %12.0f\n' kreisgeo "$kn" "$ks" "$(echo "$kn / $ks" | bc -l)"
printf '%-10s %10d %10.1f %12.0f\n' ogr2ogr "$on" "$os" "$(echo "$on / $os" | bc -l)"
printf 'ratio kreisgeo/ogr2ogr: %.2f\n' "$(echo "($kn / $ks) / ($on / $os)" | bc -l)"

# A register fed by two sources (the same AEDs twice, as two neighbours may list them): both
# answers are read, kept and merged into one version of COUNT features.
$k sources add --dataset aed-register --as aed --url "$collection" --allow-hosts 127.0.0.1 >/dev/null 2>&1
$k sources add --dataset aed-register --as aed --url "$collection/items" --allow-hosts 127.0.0.1 >/dev/null 2>&1
start=$(date +%s.%N)
$k sources run --dataset aed-register --allow-hosts 127.0.0.1 --json > "$dir/register-run.json" 2>/dev/null
end=$(date +%s.%N)
rs=$(echo "$end - $start" | bc)
rn=$(psql "$url" -Atc "SELECT v.feature_count FROM catalog.datasets d JOIN catalog.versions v ON v.id = d.active_version WHERE d.id = 'aed-register'")
printf 'register of 2 sources x %d features: %.1f s (%.0f candidates/s), %d after merging\n' \
  "$kn" "$rs" "$(echo "2 * $kn / $rs" | bc -l)" "$rn"
