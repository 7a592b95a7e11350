#!/usr/bin/env bash
# Vector tiles: kreisgeo, Martin and nginx serving kreisgeo's tiles as static files, over one
# deterministic list of tiles at z 8-16 weighted to z 12-15, from the same PostGIS tables
# (1,000,000 parcels, 100,000 roofs, 10,000 AEDs, stored in EPSG:25832 and EPSG:4326).
#
#   benches/tiles_vs_martin.sh [PARCELS] [SECONDS] [ROUNDS]     defaults 1000000, 20 and 3
#
# For each server: a cold pass (each tile once, one client, caches empty: the server has just
# started) and a warm run (wrk, 16 connections, SECONDS, over the same list, after the cold
# pass). The servers take turns (kreisgeo, Martin, nginx) in ROUNDS rounds (default 3), each
# started anew; the figures are each server's median over the rounds, so that one noisy run
# cannot decide a ratio. All requests send `Accept-Encoding: gzip`, as MapLibre does; nginx
# serves the gzip files kreisgeo produced (gzip_static). Prints req/s (all tiles, z12-16, and
# z14-16, where both tile servers draw every feature), p50, p99 and bytes per tile, and the
# ratios. Martin (1.14, the last release that builds with this machine's Rust) is installed
# into target/bench/martin with `cargo install martin --no-default-features --features
# postgres`; its tile cache is on (512 MB). Needs wrk, nginx (package nginx-light) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
seconds=${2:-20}
rounds=${3:-3}
dir=$PWD/target/bench
mkdir -p "$dir"
for tool in wrk nginx; do
  command -v $tool >/dev/null || { echo "$tool is needed (apt-get install wrk nginx-light)" >&2; exit 1; }
done
cargo build --release --locked --quiet
k=$PWD/target/release/kreisgeo
martin=$dir/martin/bin/martin
if [[ ! -x $martin ]]; then
  cargo install martin@1.14.0 --locked --no-default-features --features postgres --root "$dir/martin"
fi
export KREISGEO_DATA_DIR=$dir/pg-serve
# A load generator is one client far over any per-client limit: measure the server, not the limit.
export KREISGEO_RATE_LIMIT=0
# The load generator is one address standing for many clients: no per-client share either.
export KREISGEO_REQUESTS_PER_CLIENT=100000
# nginx runs with access_log off, Martin logs no requests: compare like with like.
export RUST_LOG=info,sqlx=warn,tracing_actix_web=warn

parcels=$dir/parcels_$count.fgb
[[ -s $parcels ]] || $k generate --kind parcels --count "$count" --seed 1 --out "$parcels"
roofs=$dir/solar_100000.fgb
[[ -s $roofs ]] || $k generate --kind solar --count 100000 --seed 1 --out "$roofs"
aeds=$dir/aed_10000.geojson
[[ -s $aeds ]] || $k generate --kind aed --count 10000 --seed 1 --out "$aeds"
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
$k ingest "$parcels" --dataset parcels --kind parcels >/dev/null 2>&1
$k ingest "$roofs" --dataset roofs --kind solar >/dev/null 2>&1
$k ingest "$aeds" --dataset aed --kind aed >/dev/null 2>&1
# Bulk downloads and the Web Mercator copies tiles draw from, now, not in a server's background
# while it is measured.
$k downloads build >/dev/null 2>&1
$k datasets tile-tables >/dev/null 2>&1
table() {
  psql "$url" -Atc "SELECT table_name FROM catalog.versions v JOIN catalog.datasets d ON d.active_version = v.id WHERE d.id = '$1'"
}
declare -A tables=([parcels]=$(table parcels) [roofs]=$(table roofs) [aed]=$(table aed))
# PostgreSQL's own work after a load (autovacuum of the new tables, the checkpoint of the WAL
# the load wrote) done now, not during whichever server's turn it happens to fall into: it had
# slowed single rounds by a third.
copies=$(psql "$url" -Atc "SELECT string_agg('data.' || quote_ident(v.tile_table), ', ') FROM catalog.versions v JOIN catalog.datasets d ON d.active_version = v.id WHERE v.tile_table IS NOT NULL")
psql "$url" -q -c "VACUUM (ANALYZE) data.${tables[parcels]}, data.${tables[roofs]}, data.${tables[aed]}${copies:+, $copies}" -c CHECKPOINT

# The tile list: "collection z x y", over the county, 60 % parcels, 30 % roofs, 10 % AEDs.
python3 - "$dir/tiles.txt" <<'PY'
import math, random, sys
rng = random.Random(7)
west, south, east, north = 10.05, 53.05, 11.0, 53.38   # the county's extent
weights = {8: 10, 9: 15, 10: 20, 11: 30, 12: 70, 13: 80, 14: 80, 15: 60, 16: 35}
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
with open(sys.argv[1], "w") as f:
    for z, k in weights.items():
        for _ in range(k):
            layer = rng.choices(["parcels", "roofs", "aed"], [6, 3, 1])[0]
            x, y = tile(rng.uniform(west, east), rng.uniform(south, north), z)
            f.write(f"{layer} {z} {x} {y}\n")
PY

cat > "$dir/urls.lua" <<'EOF'
local urls = {}
for line in io.lines(os.getenv("URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i], {["Accept-Encoding"] = "gzip"})
end
EOF

# URL paths per server.
python3 - "$dir" "${tables[parcels]}" "${tables[roofs]}" "${tables[aed]}" <<'PY'
import sys
d, parcels, roofs, aed = sys.argv[1:5]
martin = {"parcels": parcels, "roofs": roofs, "aed": aed}
lines = [l.split() for l in open(f"{d}/tiles.txt")]
with open(f"{d}/urls_kreisgeo_tiles.txt", "w") as f:
    for c, z, x, y in lines:
        f.write(f"/collections/{c}/tiles/WebMercatorQuad/{z}/{y}/{x}\n")
with open(f"{d}/urls_martin_tiles.txt", "w") as f:
    for c, z, x, y in lines:
        f.write(f"/{martin[c]}/{z}/{x}/{y}\n")
with open(f"{d}/urls_nginx_tiles.txt", "w") as f:
    for c, z, x, y in lines:
        f.write(f"/{c}/{z}/{x}/{y}.mvt\n")
PY

# Cold pass: each tile once, one client; prints "name all_rps z12_16_rps z14_16_rps p50_ms p99_ms
# bytes max_bytes".
cold() {
  python3 - "$1" "$2" "$3" "$dir/tiles.txt" <<'PY'
import sys, time, urllib.request, statistics, gzip
name, base, urls, tiles = sys.argv[1:5]
zooms = [int(l.split()[1]) for l in open(tiles)]
times, sizes, raw = [], [], []
for path, z in zip(open(urls).read().split(), zooms):
    req = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as r:
            body = r.read()
            encoding = r.headers.get("Content-Encoding")
            status = r.status
    except urllib.error.HTTPError as e:
        body, encoding, status = e.read(), None, e.code
    times.append((time.perf_counter() - t, z))
    sizes.append(len(body))
    plain = gzip.decompress(body) if encoding == "gzip" else body
    raw.append(len(plain) if status == 200 else 0)
all_s = sum(t for t, _ in times)
rate = lambda lo: (lambda ts: len(ts) / sum(ts))([t for t, z in times if z >= lo])
ms = sorted(t * 1000 for t, _ in times)
p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
print(name, f"{len(times) / all_s:.1f}", f"{rate(12):.1f}", f"{rate(14):.1f}", f"{p(0.5):.1f}",
      f"{p(0.99):.1f}", int(statistics.mean(sizes)), max(raw))
PY
}

warm() {  # name base urls -> "rps p50 p99 non2xx"
  local out
  out=$(URLS=$3 wrk -t2 -c16 -d"${seconds}s" --latency -s "$dir/urls.lua" "$2" 2>&1)
  python3 - "$1" <<PY
import re, sys
out = """$out"""
def ms(v):
    n = float(re.match(r"[\d.]+", v).group())
    return n / 1000 if v.endswith("us") else n * 1000 if v.endswith("s") and not v.endswith("ms") else n
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(sys.argv[1], rps, f"{p50:.2f}", f"{p99:.2f}", non2xx.group(1) if non2xx else 0)
PY
}

results=$dir/tiles_results.txt
: > "$results"

kport=8095
start_kreisgeo() {
  $k serve --bind 127.0.0.1:$kport --workers 2 >>"$dir/kreisgeo-tiles.log" 2>&1 &
  kpid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$kport/" >/dev/null && break; sleep 0.2; done
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# A pass that is not counted, so that every measured pass finds PostgreSQL's buffers and the
# page cache as warm as the others (the first server would otherwise pay for them).
start_kreisgeo
cold kreisgeo "http://127.0.0.1:$kport" "$dir/urls_kreisgeo_tiles.txt" >/dev/null
# The same tiles as static files for nginx: kreisgeo's gzip bytes, as a tile cache on disk.
rm -rf "$dir/static-tiles"
python3 - "http://127.0.0.1:$kport" "$dir/tiles.txt" "$dir/static-tiles" <<'PY'
import gzip, os, sys, urllib.request
base, tiles, root = sys.argv[1:4]
for line in open(tiles):
    c, z, x, y = line.split()
    req = urllib.request.Request(f"{base}/collections/{c}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                                 headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as r:
        body = r.read() if r.status == 200 else b""
        gz = r.headers.get("Content-Encoding") == "gzip"
    path = f"{root}/{c}/{z}/{x}/{y}.mvt"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # An empty tile (kreisgeo's 204) is an empty file for nginx.
    open(path, "wb").write(gzip.decompress(body) if gz else body)
    if gz:
        open(path + ".gz", "wb").write(body)
PY
stop $kpid

mport=8096
cat > "$dir/martin.yaml" <<EOF
listen_addresses: '127.0.0.1:$mport'
worker_processes: 2
cache_size_mb: 512
postgres:
  connection_string: '$url'
  pool_size: 16
  auto_publish:
    tables:
      from_schemas: data
EOF

nport=8098
mkdir -p "$dir/nginx"
# One left running by an earlier, interrupted run would hold the port.
[[ -s $dir/nginx/nginx.pid ]] && nginx -c "$dir/nginx/nginx.conf" -s stop 2>/dev/null || true
cat > "$dir/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  types { application/vnd.mapbox-vector-tile mvt; }
  server {
    listen 127.0.0.1:$nport;
    root $dir/static-tiles;
    gzip_static on;
  }
}
EOF

for round in $(seq "$rounds"); do
  # kreisgeo, just started: its tile cache is empty.
  start_kreisgeo
  echo "cold $round $(cold kreisgeo "http://127.0.0.1:$kport" "$dir/urls_kreisgeo_tiles.txt")" >> "$results"
  echo "warm $round $(warm kreisgeo "http://127.0.0.1:$kport" "$dir/urls_kreisgeo_tiles.txt")" >> "$results"
  stop $kpid

  # Martin, its cache on, just started.
  "$martin" --config "$dir/martin.yaml" >>"$dir/martin.log" 2>&1 &
  mpid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mport/catalog" >/dev/null && break; sleep 0.2; done
  echo "cold $round $(cold martin "http://127.0.0.1:$mport" "$dir/urls_martin_tiles.txt")" >> "$results"
  echo "warm $round $(warm martin "http://127.0.0.1:$mport" "$dir/urls_martin_tiles.txt")" >> "$results"
  stop $mpid

  # nginx, static files.
  nginx -c "$dir/nginx/nginx.conf"
  echo "cold $round $(cold nginx "http://127.0.0.1:$nport" "$dir/urls_nginx_tiles.txt")" >> "$results"
  echo "warm $round $(warm nginx "http://127.0.0.1:$nport" "$dir/urls_nginx_tiles.txt")" >> "$results"
  nginx -c "$dir/nginx/nginx.conf" -s stop
  sleep 0.5
done

python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kind, rnd, name, *v = line.split()
    runs.setdefault((kind, name), []).append([float(x) for x in v])
med = lambda kind, name, i: statistics.median(r[i] for r in runs[(kind, name)])
rounds = len(runs[("cold", "kreisgeo")])
print(f"median of {rounds} interleaved rounds")
print(f"{'':9} {'cold req/s':>10} {'z12-16':>8} {'z14-16':>8} {'p50 ms':>7} {'p99 ms':>7} {'bytes/tile':>10}"
      f" {'largest':>9} | {'warm req/s':>10} {'p50 ms':>7} {'p99 ms':>7}")
for n in ["kreisgeo", "martin", "nginx"]:
    c = [med("cold", n, i) for i in range(7)]
    w = [med("warm", n, i) for i in range(4)]
    print(f"{n:9} {c[0]:>10.1f} {c[1]:>8.1f} {c[2]:>8.1f} {c[3]:>7.1f} {c[4]:>7.1f} {c[5]:>10.0f} {c[6]:>9.0f} |"
          f" {w[0]:>10.0f} {w[1]:>7.2f} {w[2]:>7.2f}" + (f"  ({w[3]:.0f} non-2xx)" if w[3] else ""))
ratio = lambda kind, a, b, i: med(kind, a, i) / med(kind, b, i)
print(f"ratios (of medians): cold z14-16 kreisgeo/martin {ratio('cold', 'kreisgeo', 'martin', 2):.2f}, "
      f"cold z12-16 kreisgeo/martin {ratio('cold', 'kreisgeo', 'martin', 1):.2f}, "
      f"warm kreisgeo/martin {ratio('warm', 'kreisgeo', 'martin', 0):.2f}, "
      f"warm kreisgeo/nginx {ratio('warm', 'kreisgeo', 'nginx', 0):.2f}")
for r in range(rounds):
    k, m = runs[("cold", "kreisgeo")][r], runs[("cold", "martin")][r]
    wk, wn = runs[("warm", "kreisgeo")][r], runs[("warm", "nginx")][r]
    print(f"  round {r + 1}: cold z14-16 {k[2] / m[2]:.2f}, cold z12-16 {k[1] / m[1]:.2f}, "
          f"warm kreisgeo/nginx {wk[0] / wn[0]:.2f}")
PY
