#!/usr/bin/env bash
# The solar cadastre of the four Wesel LoD2 tiles (issue 19): 1,126 roof polygons shaded by all
# 476 buildings under the DWD test reference year of Essen, release build, 2 cores. Prints the
# report's phase times, the cost per roof and the cores used (user/real).
#
#   benches/solar_wesel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/bench
mkdir -p "$dir"
cargo build --release --locked --quiet
k=target/release/kreisgeo
export KREISGEO_DATA_DIR=$PWD/$dir/pg
$k db start >/dev/null
trap '$k db stop >/dev/null 2>&1 || true' EXIT
run=$(date +%s)
$k ingest ../shared/data/lod2 --dataset "roofs-$run" --kind roofs >/dev/null 2>&1
/usr/bin/time -v $k solar compute --roofs "roofs-$run" \
  --weather ../shared/data/weather/TRY2015_514562070568_Jahr.dat --dataset "solar-$run" --json \
  > "$dir/solar.json" 2> "$dir/solar.log"
python3 - "$dir/solar.json" "$dir/solar.log" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
user = float(re.search(r"User time \(seconds\): ([0-9.]+)", log).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)", log).group(1)
parts = [float(p) for p in wall.split(":")]
real = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) == 3 else 0)
rss = int(re.search(r"Maximum resident set size \(kbytes\): ([0-9]+)", log).group(1)) // 1024
phases = dict(r["phases"])
print(f"roofs {r['roofs']}, obstacle triangles {r['obstacle_triangles']}, sun directions {r['sun_directions']}")
print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"]))
print(f"total {real:.1f} s wall, {user:.1f} s CPU ({user / real:.2f} cores busy), peak RSS {rss} MB")
per_roof = phases["roofs"] / r["roofs"]
print(f"per roof {per_roof * 1000:.1f} ms wall on this machine; 100,000 buildings "
      f"(~{2.37 * 100_000:,.0f} roof polygons at Wesel's 2.37 per building): "
      f"{per_roof * 236_600 / 60:.0f} min here")
PY
