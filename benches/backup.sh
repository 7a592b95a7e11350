#!/usr/bin/env bash
# Backups of a county-wide parcel layer with its bulk downloads (issue 24): time and size of
# `kreisgeo db backup` (dump, then read back), `db verify` and `db restore` into an empty data
# directory, and serving throughput while a scheduled backup runs against without one.
#
#   benches/backup.sh [PARCELS] [SECONDS]      default 1,000,000 parcels, 30 s per load run
#
# Own embedded PostgreSQL in target/bench/pg-backup (kept between runs), the restore in
# target/bench/pg-backup-restored (removed each run). Needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
count=${1:-1000000}
seconds=${2:-30}
dir=$PWD/target/bench
mkdir -p "$dir"
cargo build --release --locked --quiet
k=$PWD/target/release/kreisgeo
export KREISGEO_DATA_DIR=$dir/pg-backup
# Measured without the Web Mercator copies a server builds in the background after loads.
export KREISGEO_NO_TILE_TABLES=true
export KREISGEO_RATE_LIMIT=0 KREISGEO_REQUESTS_PER_CLIENT=100000
export RUST_LOG=info,sqlx=warn,tracing_actix_web=warn
parcels=$dir/parcels_$count.fgb
[[ -s $parcels ]] || $k generate --kind parcels --count "$count" --seed 1 --out "$parcels"
restored=$dir/pg-backup-restored
archive=$dir/backup-$count.pgdump
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  $k db stop >/dev/null 2>&1 || true
  KREISGEO_DATA_DIR=$restored $k db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
url=$($k db start)
if [[ $(psql "$url" -Atc "SELECT count(*) FROM catalog.datasets WHERE id = 'parcels'" 2>/dev/null) != 1 ]]; then
  echo "== loading $count parcels and building their downloads"
  $k ingest "$parcels" --dataset parcels --kind parcels >/dev/null 2>&1
  $k downloads build >/dev/null 2>&1
fi
psql "$url" -Atc "SELECT 'database: ' || pg_size_pretty(pg_database_size('kreisgeo')) || ', downloads: ' \
  || (SELECT count(*) FROM catalog.downloads) || ' files, ' \
  || pg_size_pretty((SELECT sum(bytes) FROM catalog.downloads))"

timed() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "  $label: %e s wall, %U s user, max RSS %M KiB" "$@" >/dev/null
}
echo "== backup, verify, restore"
rm -f "$archive" "$archive.manifest.json"
timed "db backup --no-verify (pg_dump)" "$k" db backup --no-verify "$archive"
echo "  archive: $(stat -c %s "$archive") bytes"
timed "db verify (read back)" "$k" db verify "$archive"
KREISGEO_DATA_DIR=$restored $k db stop >/dev/null 2>&1 || true
rm -rf "$restored"
timed "db restore (empty data directory, migrate)" env KREISGEO_DATA_DIR="$restored" "$k" db restore "$archive"
KREISGEO_DATA_DIR=$restored $k db stop >/dev/null 2>&1 || true
rm -rf "$restored"

echo "== serving during a scheduled backup ($seconds s of wrk, 16 connections)"
port=8095
lua=$dir/backup-load.lua
cat >"$lua" <<'LUA'
-- Pages of parcels in small boxes and z15 tiles around Lüneburg, in turn.
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then
    local lon = 10.1 + (n % 50) * 0.015
    local lat = 53.05 + (math.floor(n / 50) % 20) * 0.015
    return wrk.format("GET", string.format("/collections/parcels/items?limit=100&bbox=%.3f,%.3f,%.3f,%.3f",
      lon, lat, lon + 0.01, lat + 0.01))
  end
  local x = 17330 + (n % 40)
  local y = 10620 + (math.floor(n / 40) % 40)
  return wrk.format("GET", "/collections/parcels/tiles/WebMercatorQuad/15/" .. y .. "/" .. x)
end
LUA
serve() { # extra args...
  $k serve --bind 127.0.0.1:$port "$@" >"$dir/backup-serve.log" 2>&1 &
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && return; sleep 0.2; done
  echo "server did not start"; exit 1
}
load() { wrk -t2 -c16 -d"${seconds}s" -s "$lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|Non-2xx"; }
serve
echo "  without a backup (tiles rendered on first ask, then cached):"
load
kill %1; wait %1 2>/dev/null || true
backups=$dir/backups-$count
rm -rf "$backups"
# The first scheduled backup is due at once in an empty directory.
serve --backup-dir "$backups" --backup-every 24h --backup-keep 2
sleep 1
echo "  while the scheduled backup runs:"
load
if grep -q "scheduled backup verified" "$dir/backup-serve.log"; then
  echo "  (the backup ended before the load did)"
fi
while ! grep -qE "scheduled backup (verified|failed)" "$dir/backup-serve.log"; do sleep 2; done
grep -E "backup taken and read back|scheduled backup" "$dir/backup-serve.log" | sed 's/^/  /'
