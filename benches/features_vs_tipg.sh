#!/usr/bin/env bash
# Serving benchmark: kreisgeo and TiPg (PyPI `tipg`, run by uvicorn) over the same PostGIS tables,
# two workers each and the same connection budget (16), measured one after the other so that
# they never compete for the two cores.
#
#   benches/features_vs_tipg.sh [PARCELS] [SECONDS]     defaults 1000000 and 20
#
# Measures GeoJSON item pages (limit 100 and 1000) over a deterministic list of bounding boxes
# (wrk, 16 connections), a full harvest of the parcel collection by following `next` links
# (limit 10000, one client), and, for kreisgeo, nearest-AED queries at 100,000 deterministic
# points. Prints req/s, features/s, p99 and the ratios. Needs wrk (package `wrk`) and python3;
# TiPg is installed into target/bench/tipg-venv from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
seconds=${2:-20}
dir=target/bench
mkdir -p "$dir"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked --quiet
k=$PWD/target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-serve
# Measured without the Web Mercator copies a server builds in the background after loads.
export KREISGEO_NO_TILE_TABLES=true
# A load generator is one client far over any per-client limit: measure the server, not the limit.
export KREISGEO_RATE_LIMIT=0
# The load generator is one address standing for many clients: no per-client share either.
export KREISGEO_REQUESTS_PER_CLIENT=100000
# nginx runs with access_log off, Martin logs no requests: compare like with like.
export RUST_LOG=info,sqlx=warn,tracing_actix_web=warn
if [[ ! -x $dir/tipg-venv/bin/uvicorn ]]; then
  python3 -m venv "$dir/tipg-venv"
  "$dir/tipg-venv/bin/pip" install -q tipg uvicorn
fi

parcels=$dir/parcels_$count.fgb
[[ -s $parcels ]] || $k generate --kind parcels --count "$count" --seed 1 --out "$parcels"
aeds=$dir/aed_10000.geojson
[[ -s $aeds ]] || $k generate --kind aed --count 10000 --seed 1 --out "$aeds"

url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
$k ingest "$parcels" --dataset parcels --kind parcels >/dev/null 2>&1
$k ingest "$aeds" --dataset aed --kind aed >/dev/null 2>&1
table=$(psql "$url" -Atc "SELECT table_name FROM catalog.versions v JOIN catalog.datasets d ON d.active_version = v.id WHERE d.id = 'parcels'")
psql "$url" -qc "VACUUM ANALYZE data.$table" >/dev/null

# Deterministic boxes of about 1.2 km inside the data's extent, and points for nearest.
read -r minx miny maxx maxy < <(psql "$url" -Atc "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(ST_Transform(geom, 4326)) e FROM data.$table) s" | tr '|' ' ')
python3 - "$minx" "$miny" "$maxx" "$maxy" "$dir" <<'EOF'
import random, sys
minx, miny, maxx, maxy = map(float, sys.argv[1:5]); out = sys.argv[5]
rng = random.Random(1)
w, h = 0.018, 0.011  # about 1.2 km at 53°N
with open(f"{out}/boxes.txt", "w") as f:
    for _ in range(1000):
        x = rng.uniform(minx, maxx - w); y = rng.uniform(miny, maxy - h)
        f.write(f"{x:.5f},{y:.5f},{x + w:.5f},{y + h:.5f}\n")
with open(f"{out}/points.txt", "w") as f:
    for _ in range(100000):
        f.write(f"{rng.uniform(minx, maxx):.5f},{rng.uniform(miny, maxy):.5f}\n")
EOF
cat > "$dir/urls.lua" <<'EOF'
local urls = {}
for line in io.lines(os.getenv("URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
EOF

# wrk over a URL list with CONNECTIONS (default 16) open: prints "req/s p99_ms"
load() {
  local urls=$1 out c=${3:-16}
  out=$(URLS=$urls wrk -t"$((c < 2 ? 1 : 2))" -c"$c" -d"${seconds}s" --latency -s "$dir/urls.lua" "$2" 2>&1)
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [[ -z $errors ]] || echo "  (non-2xx responses: $errors)" >&2
  echo "$rps $p99"
}

harvest() {
  python3 - "$1" <<'EOF'
import re, sys, time, urllib.request
url = sys.argv[1]; n = 0; t = time.time()
feature = re.compile(rb'"type":\s*"Feature"[,}]')
nxt = re.compile(rb'\{[^{}]*"rel":\s*"next"[^{}]*\}')
href = re.compile(rb'"href":\s*"([^"]+)"')
while url:
    body = urllib.request.urlopen(url).read()
    n += len(feature.findall(body))
    m = nxt.search(body)
    url = href.search(m.group(0)).group(1).decode() if m else None
print(f"{n} {time.time() - t:.2f}")
EOF
}

run_server() {  # name, base URL, collection path
  local name=$1 base=$2 coll=$3
  for limit in 100 1000; do
    sed "s|^|$coll/items?limit=$limit\&bbox=|" "$dir/boxes.txt" > "$dir/urls_${name}_${limit}.txt"
    read -r rps p99 < <(load "$dir/urls_${name}_${limit}.txt" "$base")
    printf '%-9s items limit=%-5s %10.1f req/s %12.0f features/s  p99 %7.1f ms\n' \
      "$name" "$limit" "$rps" "$(awk -v r="$rps" -v l="$limit" 'BEGIN{print r*l}')" "$p99"
    echo "$name $limit $rps $p99" >> "$dir/serve_results.txt"
  done
  read -r n s < <(harvest "$base$coll/items?limit=10000")
  printf '%-9s harvest %d features in %.1f s: %.0f features/s\n' "$name" "$n" "$s" "$(awk -v n="$n" -v s="$s" 'BEGIN{print n/s}')"
  echo "$name harvest $n $s" >> "$dir/serve_results.txt"
}

rm -f "$dir/serve_results.txt"
kport=8091
$k serve --bind 127.0.0.1:$kport --workers 2 >"$dir/kreisgeo-serve.log" 2>&1 &
kpid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$kport/" >/dev/null && break; sleep 0.2; done
run_server kreisgeo "http://127.0.0.1:$kport" "/collections/parcels"
sed "s|^|/collections/aed/nearest?limit=5\&point=|" "$dir/points.txt" > "$dir/urls_nearest.txt"
# A citizen app's load is many clients, not a saturating one: measured at 1, 4 and 16 open
# connections (16 saturates both cores here).
for c in 1 4 16; do
  read -r rps p99 < <(load "$dir/urls_nearest.txt" "http://127.0.0.1:$kport" "$c")
  printf '%-9s nearest AED (5), %2d connections %10.1f req/s  p99 %7.1f ms\n' kreisgeo "$c" "$rps" "$p99"
done
kill $kpid; wait $kpid 2>/dev/null || true

tport=8092
(cd "$dir" && DATABASE_URL=$url TIPG_DB_SCHEMAS='["data"]' TIPG_DB_MAX_CONN_SIZE=8 \
  tipg-venv/bin/uvicorn tipg.main:app --host 127.0.0.1 --port $tport --workers 2 --log-level warning) >"$dir/tipg.log" 2>&1 &
tpid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$tport/collections/data.$table" >/dev/null && break; sleep 0.3; done
run_server tipg "http://127.0.0.1:$tport" "/collections/data.$table"
kill $tpid; wait $tpid 2>/dev/null || true

awk '
  $2 == "harvest" { hs[$1] = $3 / $4; next }
  { r[$1 "," $2] = $3 }
  END {
    printf "ratio kreisgeo/tipg: limit=100 %.2f, limit=1000 %.2f, harvest %.2f\n",
      r["kreisgeo,100"] / r["tipg,100"], r["kreisgeo,1000"] / r["tipg,1000"], hs["kreisgeo"] / hs["tipg"]
  }' "$dir/serve_results.txt"
