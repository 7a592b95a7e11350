#!/usr/bin/env bash
# Regenerates the upgrade fixture: a backup written by an earlier kreisgeo, and what that
# kreisgeo served, for tests/faults.rs (`a_backup_of_an_earlier_release_is_served_identically`).
#
#   scripts/make-upgrade-fixture.sh REV        e.g. the previous release's tag or commit
#
# Builds REV in a worktree (into target/upgrade-build: sharing target/ would let REV's build
# script outputs stand in for this checkout's), loads two
# datasets there (parcels in two versions, AEDs), builds their downloads and an API key, serves
# them with REV's binary and records what a client sees (the recording is the test suite's
# own code: an ignored test in tests/faults.rs), then dumps REV's database with this
# checkout's `kreisgeo db backup` (which migrates nothing). Writes fixtures/upgrade/REV.pgdump,
# its manifest and REV.expected.json.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: make-upgrade-fixture.sh REV}
short=$(git rev-parse --short=7 "$rev")
here=$PWD
work=$(mktemp -d /tmp/kreisgeo-upgrade-XXXX)
chmod 755 "$work"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  KREISGEO_DATA_DIR=$work/pg "$work/kreisgeo-old" db stop >/dev/null 2>&1 || true
  git -C "$here" worktree remove --force "$work/src" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach "$work/src" "$rev" >/dev/null
(cd "$work/src" && CARGO_TARGET_DIR=$here/target/upgrade-build cargo build --quiet --bin kreisgeo)
cp target/upgrade-build/debug/kreisgeo "$work/kreisgeo-old"
old=$work/kreisgeo-old
cargo build --quiet --bin kreisgeo
new=$here/target/debug/kreisgeo
export KREISGEO_DATA_DIR=$work/pg
unset DATABASE_URL
# Running on its own, so that it outlives the server below for the dump.
"$old" db start >/dev/null
"$old" generate --kind parcels --count 300 --seed 7 --out "$work/parcels-a.fgb"
"$old" generate --kind parcels --count 250 --seed 8 --out "$work/parcels-b.fgb"
"$old" ingest "$work/parcels-a.fgb" --dataset parcels --kind parcels --title "Flurstücke"
"$old" ingest "$work/parcels-b.fgb" --dataset parcels --kind parcels --title "Flurstücke"
"$old" ingest fixtures/generated/aed_lueneburg_200_25832.geojson --dataset aed --kind aed --title "Defibrillatoren"
"$old" downloads build
key=$("$old" keys create --name "upgrade fixture")
port=18437
"$old" serve --bind 127.0.0.1:$port --rate-limit 0 >"$work/serve.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
out=fixtures/upgrade/$short
KREISGEO_UPGRADE_RECORD="http://127.0.0.1:$port" KREISGEO_UPGRADE_KEY=$key \
  KREISGEO_UPGRADE_OUT=$here/$out.expected.json KREISGEO_UPGRADE_REV=$(git rev-parse "$rev") \
  KREISGEO_UPGRADE_CLI=$old \
  cargo test --quiet --test faults record_the_upgrade_fixture -- --ignored >/dev/null
kill %1; wait %1 2>/dev/null || true
DATABASE_URL=$("$old" db url) "$new" db backup "$here/$out.pgdump"
echo "wrote $out.pgdump, its manifest and $out.expected.json"
