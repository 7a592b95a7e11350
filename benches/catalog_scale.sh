#!/usr/bin/env bash
# The catalog at Land scale (issue 27): 500 and then 5,000 datasets under 50 publishers
# (benches/catalog_scale.rs loads them, small GeoJSON files with their downloads) on the
# embedded PostgreSQL, served by the release binary. At each size:
#   - CKAN package_show (random ids; the first pass reads the catalog, the second the cache), /catalog/datasets/{id} (DCAT-AP.de, RDF/XML), package_search
#     with q and fq (organization, tags, metadata_modified), and /collections (first page): wrk,
#     16 connections, SECONDS seconds each, p50/p99 and req/s;
#   - a complete harvest in the CKAN harvester's pattern (package_search pages of 1,000, then
#     package_show per id, one client) and one following the DCAT catalog's Hydra pages;
#   - GDAL's ogrinfo on OAPIF: how many collections it lists, and how long it takes.
#
#   benches/catalog_scale.sh [SECONDS] [SMALL] [LARGE]     defaults 15, 500 and 5000
#
# Needs wrk (package `wrk`), python3 and ogrinfo (gdal-bin). The database stays in
# target/bench/pg-catalog between runs (delete it to start afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
small=${2:-500}
large=${3:-5000}
dir=target/bench
mkdir -p "$dir"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
command -v ogrinfo >/dev/null || { echo "ogrinfo is needed: apt-get install gdal-bin" >&2; exit 1; }
cargo build --release --locked --quiet
cargo bench --no-run --quiet --bench catalog_scale 2>/dev/null
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-catalog
# Measured without the Web Mercator copies a server builds in the background after loads.
export KREISGEO_NO_TILE_TABLES=true
export KREISGEO_RATE_LIMIT=0
export KREISGEO_REQUESTS_PER_CLIENT=1000000
export RUST_LOG=warn
url=$($k db start)
port=8097
base=http://127.0.0.1:$port
server=
stop_server() { [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; server=; }
trap 'stop_server; $k db stop >/dev/null 2>&1 || true' EXIT

cat > "$dir/catalog.lua" <<'LUA'
local urls = {}
for line in io.lines(os.getenv("URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    summary.requests))
end
LUA

measure() { # NAME URLFILE
  local out rps p50 p99 errors requests
  out=$(URLS=$2 wrk -t2 -c16 -d"${seconds}s" -s "$dir/catalog.lua" "$base" 2>&1)
  read -r rps p50 p99 errors requests < <(awk '/^RESULT/ {print $2, $3, $4, $5, $6}' <<<"$out")
  printf '  %-34s %8.0f req/s   p50 %7.2f ms   p99 %7.2f ms   %d errors of %d\n' \
    "$1" "$rps" "$p50" "$p99" "$errors" "$requests"
}

for n in $(printf '%s\n' "$small" "$large" | uniq); do
  echo "== $n datasets"
  start=$(date +%s.%N)
  DATABASE_URL=$url cargo bench --quiet --bench catalog_scale -- --datasets "$n" --publishers 50
  echo "  loaded in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.0f", e - s}') s"
  stop_server
  DATABASE_URL=$url $k serve --bind 127.0.0.1:$port >"$dir/catalog-serve-$n.log" 2>&1 &
  server=$!
  for _ in $(seq 150); do curl -sf "$base/" >/dev/null && break; sleep 0.2; done
  start=$(date +%s.%N)
  curl -sf "$base/api/3/action/package_search?rows=1" >/dev/null
  echo "  first search (index already current): $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e - s}') s"

  python3 - "$n" "$dir" <<'PY'
import random, sys, urllib.parse
n, d = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1)
ids = [f"datensatz-{rnd.randrange(n):05d}" for _ in range(2000)]
open(f"{d}/catalog-show.txt", "w").write("".join(f"/api/3/action/package_show?id={i}\n" for i in ids))
open(f"{d}/catalog-dcat.txt", "w").write("".join(f"/catalog/datasets/{i}\n" for i in ids))
topics = ["Spielplätze", "Bildung", "Haltestellen", "Baumkataster", "Ladesäulen", "Wahllokale"]
searches = []
for k in range(600):
    q = {"q": rnd.choice(topics), "rows": "10"}
    g = f"gemeinde-{rnd.randrange(1, 51):02d}"
    q["fq"] = rnd.choice([f"organization:{g}", f"tags:{rnd.choice(['Bildung', 'Umwelt', 'Verkehr'])}",
                          f"organization:{g} +metadata_modified:[2020-01-01T00:00:00Z TO *]"])
    searches.append("/api/3/action/package_search?" + urllib.parse.urlencode(q))
open(f"{d}/catalog-search.txt", "w").write("\n".join(searches) + "\n")
open(f"{d}/catalog-collections.txt", "w").write("/collections\n")
PY
  measure "package_show (first ask)" "$dir/catalog-show.txt"
  measure "package_show (asked again)" "$dir/catalog-show.txt"
  measure "/catalog/datasets/{id}" "$dir/catalog-dcat.txt"
  measure "package_search (q + fq)" "$dir/catalog-search.txt"
  measure "/collections (first page)" "$dir/catalog-collections.txt"

  python3 - "$base" <<'PY'
import json, re, sys, time, urllib.request
base = sys.argv[1]
get = lambda path: urllib.request.urlopen(base + path, timeout=60).read()
start = time.time()
names, offset = [], 0
while True:
    page = json.loads(get(f"/api/3/action/package_search?rows=1000&start={offset}&sort=name%20asc"))["result"]
    names += [p["name"] for p in page["results"]]
    offset += 1000
    if offset >= page["count"]:
        break
for name in names:
    assert json.loads(get(f"/api/3/action/package_show?id={name}"))["success"]
print(f"  CKAN harvest (search pages of 1,000, then package_show each): {len(names)} packages in {time.time() - start:.1f} s")
start = time.time()
path, pages, datasets = "/catalog.ttl", 0, 0
while path:
    text = get(path).decode()
    pages += 1
    datasets += len(re.findall(r"\sa dcat:Dataset|rdf:type dcat:Dataset|a <http://www.w3.org/ns/dcat#Dataset>", text))
    m = re.search(r'(?:hydra:nextPage|<http://www.w3.org/ns/hydra/core#nextPage>) ["<]([^">]+)[">]', text)
    path = m.group(1).replace(base, "") if m else None
print(f"  DCAT harvest (Hydra pages, Turtle): {pages} pages, {datasets} datasets in {time.time() - start:.1f} s")
PY
  start=$(date +%s.%N)
  layers=$(ogrinfo -ro -q "OAPIF:$base" 2>/dev/null | grep -c "datensatz-" || true)
  echo "  ogrinfo OAPIF: $layers collections listed in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}') s"
done
