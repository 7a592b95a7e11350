#!/usr/bin/env bash
# OSM ingest benchmark (issue 20): an OpenStreetMap extract (default the Lauf a.d. Pegnitz
# extract of fixtures/osm) loaded by kreisgeo (`ingest --kind osm`: basemap layers, addresses,
# walking network, indexes, one transaction) and by osm2pgsql (Debian package, its default
# output and style: planet_osm_point/line/polygon/roads) into the same embedded PostGIS, each
# RUNS times (default 5), alternating. Prints the median wall time, the ratio and the peak RSS
# of each process.
#
#   benches/osm_vs_osm2pgsql.sh [FILE.osm.pbf] [RUNS]
#
# Needs osm2pgsql and /usr/bin/time (packages `osm2pgsql`, `time`). The database lives in
# target/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
pbf=${1:-fixtures/osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf}
runs=${2:-5}
dir=target/bench
mkdir -p "$dir"
command -v osm2pgsql >/dev/null || { echo "osm2pgsql is needed: apt-get install osm2pgsql" >&2; exit 1; }
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-osm
export RUST_LOG=warn
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true' EXIT

wall() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'; }
rss() { grep 'Maximum resident' "$1" | awk '{print int($NF/1024)}'; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

: > "$dir/osm_k.txt"
: > "$dir/osm_o.txt"
for i in $(seq "$runs"); do
  # A new dataset each run: the same file again would be "unchanged".
  DATABASE_URL=$url /usr/bin/time -v $k ingest "$pbf" --dataset "osm-bench-$i" --kind osm --keep-versions 1 \
    > /dev/null 2> "$dir/osm_k.log"
  echo "$(wall "$dir/osm_k.log") $(rss "$dir/osm_k.log")" >> "$dir/osm_k.txt"
  DATABASE_URL=$url $k datasets delete "osm-bench-$i" >/dev/null 2>&1 || true
  /usr/bin/time -v osm2pgsql --create --database "$url" "$pbf" > /dev/null 2> "$dir/osm_o.log"
  echo "$(wall "$dir/osm_o.log") $(rss "$dir/osm_o.log")" >> "$dir/osm_o.txt"
done
ks=$(cut -d' ' -f1 "$dir/osm_k.txt" | median)
os=$(cut -d' ' -f1 "$dir/osm_o.txt" | median)
krss=$(cut -d' ' -f2 "$dir/osm_k.txt" | sort -n | tail -1)
orss=$(cut -d' ' -f2 "$dir/osm_o.txt" | sort -n | tail -1)
counts=$(psql "$url" -Atc "SELECT (SELECT count(*) FROM planet_osm_point) || ' points, ' || (SELECT count(*) FROM planet_osm_line) || ' lines, ' || (SELECT count(*) FROM planet_osm_polygon) || ' polygons'")
echo "input: $pbf ($(du -k "$pbf" | cut -f1) kB), $runs runs each"
printf 'kreisgeo ingest --kind osm  median %6.2f s  peak RSS %5d MB\n' "$ks" "$krss"
printf 'osm2pgsql (default output)  median %6.2f s  peak RSS %5d MB  (%s)\n' "$os" "$orss" "$counts"
awk -v k="$ks" -v o="$os" 'BEGIN { printf "kreisgeo is %.2fx as fast as osm2pgsql\n", o / k }'
