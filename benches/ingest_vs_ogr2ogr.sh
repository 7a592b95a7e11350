#!/usr/bin/env bash
# Ingest benchmark: the same deterministic parcel file loaded by kreisgeo and by ogr2ogr into the
# same PostGIS (the embedded one), same target CRS (the file's, EPSG:25832: kreisgeo stores the
# source CRS and transforms when serving), spatial index built by both. Prints features/s for each, the ratio, and kreisgeo's peak RSS.
#
#   benches/ingest_vs_ogr2ogr.sh [COUNT]        default 1000000
#
# Needs gdal-bin and /usr/bin/time (package `time`). Files and the database live in target/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
dir=target/bench
mkdir -p "$dir"
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg

for ext in fgb geojson; do
  f=$dir/parcels_$count.$ext
  [[ -s $f ]] || $k generate --kind parcels --count "$count" --seed 1 --out "$f"
done

url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true' EXIT
# key=value form for GDAL's PG driver, from postgres://user:password@host:port/db
re='^postgres://([^:]+):([^@]+)@([^:]+):([0-9]+)/(.+)$'
[[ $url =~ $re ]] || { echo "unexpected URL $url" >&2; exit 1; }
pg="PG:user=${BASH_REMATCH[1]} password=${BASH_REMATCH[2]} host=${BASH_REMATCH[3]} port=${BASH_REMATCH[4]} dbname=${BASH_REMATCH[5]}"
psql "$url" -qc "CREATE SCHEMA IF NOT EXISTS ogr" >/dev/null

seconds() { awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'; }
run=$(date +%s)
printf '%-8s %-10s %10s %12s %10s\n' format loader seconds features/s peak_MB
for ext in fgb geojson; do
  f=$dir/parcels_$count.$ext
  /usr/bin/time -v $k ingest "$f" --dataset "bench-$ext-$run" --kind parcels 2> "$dir/kreisgeo.$ext.log" >/dev/null
  ks=$(grep 'Elapsed (wall clock)' "$dir/kreisgeo.$ext.log" | awk '{print $NF}' | seconds)
  krss=$(grep 'Maximum resident' "$dir/kreisgeo.$ext.log" | awk '{print int($NF/1024)}')
  /usr/bin/time -v env PG_USE_COPY=YES ogr2ogr -f PostgreSQL "$pg" "$f" -nln "ogr.parcels_${ext}_$run" \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -gt 100000 2> "$dir/ogr2ogr.$ext.log"
  os=$(grep 'Elapsed (wall clock)' "$dir/ogr2ogr.$ext.log" | awk '{print $NF}' | seconds)
  orss=$(grep 'Maximum resident' "$dir/ogr2ogr.$ext.log" | awk '{print int($NF/1024)}')
  kfs=$(awk -v n="$count" -v s="$ks" 'BEGIN { printf "%d", n / s }')
  ofs=$(awk -v n="$count" -v s="$os" 'BEGIN { printf "%d", n / s }')
  printf '%-8s %-10s %10.1f %12d %10d\n' "$ext" kreisgeo "$ks" "$kfs" "$krss"
  printf '%-8s %-10s %10.1f %12d %10d\n' "$ext" ogr2ogr "$os" "$ofs" "$orss"
  awk -v a="$kfs" -v b="$ofs" -v e="$ext" 'BEGIN { printf "%-8s ratio kreisgeo/ogr2ogr: %.2f\n", e, a / b }'
done

# The real files of ../shared/data (VG5000 Gemeinden as a zipped Shapefile with its DBF code page,
# the Swiss OSM defibrillators), when they are there: small, so the fixed costs show.
shared=../shared/data
if [[ -d $shared ]]; then
  real=$dir/real
  mkdir -p "$real"
  [[ -s $real/VG5000_GEM.zip ]] || (cd "$shared/boundaries" && zip -q -j "$OLDPWD/$real/VG5000_GEM.zip" VG5000_GEM.*)
  printf '\n%-44s %-10s %10s %12s\n' file loader seconds features/s
  for f in "$real/VG5000_GEM.zip" "$shared/aed/switzerland_osm_defibrillators_2020-12.geojson" \
           "$shared/boundaries/VG5000_KRS_25832.fgb"; do
    name=$(basename "$f")
    n=$($k ingest "$f" --dataset "real-$run-$RANDOM" --json 2>/dev/null | sed -n 's/^  "features": \([0-9]*\),$/\1/p')
    /usr/bin/time -v $k ingest "$f" --dataset "real-$run-$RANDOM" 2> "$dir/kreisgeo.real.log" >/dev/null
    ks=$(grep 'Elapsed (wall clock)' "$dir/kreisgeo.real.log" | awk '{print $NF}' | seconds)
    src=$f; [[ $f == *.zip ]] && src=/vsizip/$f/VG5000_GEM.shp
    /usr/bin/time -v env PG_USE_COPY=YES ogr2ogr -f PostgreSQL "$pg" "$src" -nln "ogr.real_$RANDOM" \
      -nlt PROMOTE_TO_MULTI -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST 2> "$dir/ogr2ogr.real.log"
    os=$(grep 'Elapsed (wall clock)' "$dir/ogr2ogr.real.log" | awk '{print $NF}' | seconds)
    printf '%-44s %-10s %10.2f %12d\n' "$name" kreisgeo "$ks" "$(awk -v n="$n" -v s="$ks" 'BEGIN { printf "%d", n / s }')"
    printf '%-44s %-10s %10.2f %12d\n' "$name" ogr2ogr "$os" "$(awk -v n="$n" -v s="$os" 'BEGIN { printf "%d", n / s }')"
  done
fi
