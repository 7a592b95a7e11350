#!/usr/bin/env bash
# Address search benchmark (issue 20): the 102,981 official house coordinates of Essen
# (../shared/data/addresses, dl-de/by-2.0, Stadt Essen) loaded as kind addresses and searched
# through `GET /search` of a running kreisgeo.
#
#   benches/search.sh [QUERIES] [SECONDS]     defaults 2000 and 20
#
# Accuracy: QUERIES queries derived from the data by benches/search_queries.py (seed 1: a
# dropped or swapped letter, "Str."/"Straße"/"Strasse", ß/ss, ä/ae, lower case, "12 a"/"12A",
# with or without the town), asked one at a time; top-1 is right when the first hit is that
# street and house number. Latency: the same queries with wrk, 16 connections, SECONDS
# seconds, after one warm-up request (the index is built on the first search). Prints top-1
# accuracy, req/s and the p50/p95/p99 latencies. Needs wrk (package `wrk`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
queries=${1:-2000}
seconds=${2:-20}
dir=target/bench
mkdir -p "$dir"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
zip=../shared/data/addresses/hauskoordinaten_essen_2022-10-05_4326.zip
[[ -s $zip ]] || { echo "$zip is missing (../shared/data)" >&2; exit 1; }
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg-search
export KREISGEO_RATE_LIMIT=0
export KREISGEO_REQUESTS_PER_CLIENT=100000
export RUST_LOG=info,sqlx=warn,tracing_actix_web=warn
url=$($k db start)
trap '$k db stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT
DATABASE_URL=$url $k ingest "$zip" --dataset adressen --kind addresses >/dev/null 2>&1 || true

python3 benches/search_queries.py "$zip" "$queries" "$dir/search_queries"
port=8094
DATABASE_URL=$url $k serve --bind 127.0.0.1:$port >"$dir/search-serve.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
start=$(date +%s.%N)
curl -sf "http://127.0.0.1:$port/search?q=Kettwiger%20Str" >/dev/null
echo "index built on the first search in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e - s}') s"

python3 - "http://127.0.0.1:$port" "$dir/search_queries.tsv" "$dir/search_urls.txt" <<'PY'
import json, sys, urllib.parse, urllib.request
base, tsv, urls = sys.argv[1:4]
right = total = 0
wrong = []
norm = lambda s: "".join(s.lower().split())
with open(urls, "w") as out:
    for line in open(tsv):
        q, street, number = line.rstrip("\n").split("\t")
        path = "/search?limit=5&q=" + urllib.parse.quote(q)
        out.write(path + "\n")
        hits = json.load(urllib.request.urlopen(base + path))["features"]
        total += 1
        p = hits[0]["properties"] if hits else {}
        if p.get("street") == street and norm(p.get("housenumber", "")) == norm(number):
            right += 1
        else:
            wrong.append(f"  {q!r} -> {p.get('label')!r} (wanted {street} {number})")
print(f"top-1 accuracy {right}/{total} = {100 * right / total:.2f} %")
print("\n".join(wrong[:10]))
PY

cat > "$dir/search.lua" <<'LUA'
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
out=$(URLS=$dir/search_urls.txt wrk -t2 -c16 -d"${seconds}s" -s "$dir/search.lua" "http://127.0.0.1:$port" 2>&1)
read -r rps p50 p95 p99 errors < <(awk '/^RESULT/ {print $2, $3, $4, $5, $6}' <<<"$out")
printf '/search, 16 connections, %s s: %.0f req/s, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, %d errors\n' \
  "$seconds" "$rps" "$p50" "$p95" "$p99" "$errors"
