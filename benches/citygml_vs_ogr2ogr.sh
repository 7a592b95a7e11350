#!/usr/bin/env bash
# CityGML ingest benchmark (issue 18): the four Wesel LoD2 tiles of ../shared/data/lod2,
# repeated with renamed gml:ids until the input is at least SIZE_MB (default 200), loaded by
# kreisgeo as roof polygons (--kind roofs) and by ogr2ogr (GDAL's GML driver) into the same
# PostGIS (the embedded one) in the same CRS (EPSG:25832; GDAL does not know the AdV compound
# URN, so it is assigned). Prints features/s and MB/s of each, the ratio, and the peak RSS.
#
#   benches/citygml_vs_ogr2ogr.sh [SIZE_MB]
#
# Needs gdal-bin and /usr/bin/time (package `time`). Files and the database live in target/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-200}
src=../shared/data/lod2
dir=target/bench
tiles=$dir/lod2_${size_mb}mb
mkdir -p "$tiles"
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg

# Copies whose ids differ, so that no building is taken for one already read.
copy=0
while [[ $(du -sm "$tiles" | cut -f1) -lt $size_mb ]]; do
  for t in "$src"/*.gml; do
    out=$tiles/c${copy}_$(basename "$t")
    [[ -s $out ]] || sed -e "s/gml:id=\"/gml:id=\"c${copy}_/g" -e "s/xlink:href=\"#/xlink:href=\"#c${copy}_/g" "$t" > "$out"
  done
  copy=$((copy + 1))
done
files=("$tiles"/*.gml)
mb=$(du -sm "$tiles" | cut -f1)
echo "input: ${#files[@]} CityGML files, $mb MB"

url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true' EXIT
re='^postgres://([^:]+):([^@]+)@([^:]+):([0-9]+)/(.+)$'
[[ $url =~ $re ]] || { echo "unexpected URL $url" >&2; exit 1; }
pg="PG:user=${BASH_REMATCH[1]} password=${BASH_REMATCH[2]} host=${BASH_REMATCH[3]} port=${BASH_REMATCH[4]} dbname=${BASH_REMATCH[5]}"
psql "$url" -qc "CREATE SCHEMA IF NOT EXISTS ogr" >/dev/null

seconds() { awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'; }
run=$(date +%s)

/usr/bin/time -v $k ingest "$tiles" --dataset "roofs-$run" --kind roofs --json \
  2> "$dir/kreisgeo.citygml.log" > "$dir/kreisgeo.citygml.json"
kn=$(sed -n 's/^  "features": \([0-9]*\),$/\1/p' "$dir/kreisgeo.citygml.json")
ks=$(grep 'Elapsed (wall clock)' "$dir/kreisgeo.citygml.log" | awk '{print $NF}' | seconds)
krss=$(grep 'Maximum resident' "$dir/kreisgeo.citygml.log" | awk '{print int($NF/1024)}')

# GDAL reads one file at a time (its GML driver first scans a file for its schema); the
# features it writes are the buildings, their geometry all surfaces of the building. Its PG
# driver cuts the flattened names of the part and address fields to 63 characters, which then
# collide, so it writes the building attributes kreisgeo has too (it still reads everything).
# One table per file: GDAL refuses -select with -append.
start=$(date +%s.%N)
orss=0
on=0
i=0
for f in "${files[@]}"; do
  table="ogr.citygml_${run}_$i"
  /usr/bin/time -v env PG_USE_COPY=YES ogr2ogr -f PostgreSQL "$pg" "$f" -oo WRITE_GFS=NO \
    -nln "$table" -a_srs EPSG:25832 -nlt CONVERT_TO_LINEAR -gt 100000 \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST \
    -select gml_id,function,rooftype,measuredheight 2> "$dir/ogr2ogr.citygml.log"
  r=$(grep 'Maximum resident' "$dir/ogr2ogr.citygml.log" | awk '{print int($NF/1024)}')
  if (( r > orss )); then orss=$r; fi
  i=$((i + 1))
done
os=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
for ((j = 0; j < i; j++)); do
  on=$((on + $(psql "$url" -Atc "SELECT count(*) FROM ogr.citygml_${run}_$j")))
done

printf '%-10s %10s %10s %12s %8s %10s\n' loader features seconds features/s MB/s peak_MB
printf '%-10s %10d %10.1f %12d %8.1f %10d\n' kreisgeo "$kn" "$ks" "$(awk -v n="$kn" -v s="$ks" 'BEGIN { printf "%d", n / s }')" \
  "$(awk -v m="$mb" -v s="$ks" 'BEGIN { print m / s }')" "$krss"
printf '%-10s %10d %10.1f %12d %8.1f %10d\n' ogr2ogr "$on" "$os" "$(awk -v n="$on" -v s="$os" 'BEGIN { printf "%d", n / s }')" \
  "$(awk -v m="$mb" -v s="$os" 'BEGIN { print m / s }')" "$orss"
awk -v kn="$kn" -v ks="$ks" -v on="$on" -v os="$os" \
  'BEGIN { printf "features/s kreisgeo/ogr2ogr: %.2f   input MB/s kreisgeo/ogr2ogr: %.2f\n", (kn / ks) / (on / os), os / ks }'
