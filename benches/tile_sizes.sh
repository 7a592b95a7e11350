#!/usr/bin/env bash
# Tile sizes and render times of a county-wide parcel layer at every zoom: the generated parcels
# (default 1,000,000) served by kreisgeo; for each zoom of WebMercatorQuad (0-16) and AdV_25832
# (0-11) the 3x3 tiles around the county's centre, first render (cache miss) and cached. Prints
# the largest tile and the slowest answers per zoom; the target is under 500 kB at any zoom.
#
#   benches/tile_sizes.sh [PARCELS]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
dir=target/bench
mkdir -p "$dir"
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
parcels=$dir/parcels_$count.fgb
[[ -s $parcels ]] || $k generate --kind parcels --count "$count" --seed 1 --out "$parcels"
$k db start >/dev/null
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
$k ingest "$parcels" --dataset parcels --kind parcels >/dev/null 2>&1
port=8094
$k serve --bind 127.0.0.1:$port --workers 2 >"$dir/tile-sizes.log" 2>&1 &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
python3 - "$port" <<'PY'
import math, sys, time, urllib.request
port = sys.argv[1]
base = f"http://127.0.0.1:{port}/collections/parcels/tiles"
lon, lat = 10.45, 53.22                       # Lüneburg county centre
x25832, y25832 = 597_000.0, 5_897_000.0       # the same place in UTM 32N
def fetch(url):
    t = time.time()
    with urllib.request.urlopen(url) as r:
        b = r.read()
    return len(b), time.time() - t
def merc(z):
    n = 2 ** z
    x = (lon + 180) / 360 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return [(int(y) + dy, int(x) + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
def adv(z):
    side = 1_252_344.27142433 / 2 ** z
    x = (x25832 + 46_133.17) / side
    y = (6_301_219.54 - y25832) / side
    return [(int(y) + dy, int(x) + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
print(f"{'set':16} {'z':>3} {'largest kB':>11} {'slowest render s':>17} {'slowest cached ms':>18}")
worst = 0
for tms, zooms, tiles in (("WebMercatorQuad", range(0, 17), merc), ("AdV_25832", range(0, 12), adv)):
    for z in zooms:
        n = 2 ** z
        largest, render, cached = 0, 0.0, 0.0
        for row, col in tiles(z):
            if not (0 <= row < n and 0 <= col < n):
                continue
            url = f"{base}/{tms}/{z}/{row}/{col}"
            size, t1 = fetch(url)
            _, t2 = fetch(url)
            largest, render, cached = max(largest, size), max(render, t1), max(cached, t2)
        worst = max(worst, largest)
        print(f"{tms:16} {z:>3} {largest / 1000:>11.1f} {render:>17.2f} {cached * 1000:>18.1f}")
print(f"largest tile: {worst / 1000:.1f} kB ({'under' if worst < 500_000 else 'OVER'} 500 kB)")
PY
