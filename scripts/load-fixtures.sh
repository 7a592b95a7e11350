#!/usr/bin/env bash
# Loads every dataset listed in fixtures/fixtures.tsv with `kreisgeo ingest`, its open-data
# metadata from fixtures/metadata/DATASET.json when there is one, and the example publisher.
# Usage: scripts/load-fixtures.sh KREISGEO_BINARY
# A file that is already loaded unchanged is skipped by kreisgeo itself (same sha256).
set -euo pipefail
kreisgeo=${1:?usage: load-fixtures.sh path/to/kreisgeo}
cd "$(dirname "$0")/.."
while IFS=$'\t' read -r file dataset kind title; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  "$kreisgeo" ingest "fixtures/$file" --dataset "$dataset" --kind "$kind" --title "$title"
  if [[ -f "fixtures/metadata/$dataset.json" ]]; then
    "$kreisgeo" datasets metadata "$dataset" --file "fixtures/metadata/$dataset.json"
  fi
done < fixtures/fixtures.tsv
"$kreisgeo" catalog publisher --file fixtures/publisher.json
# Further publishers (the municipalities the county runs the portal for) and their datasets.
for profile in fixtures/publishers/*.json; do
  "$kreisgeo" publishers set "$(basename "$profile" .json)" --file "$profile" > /dev/null
done
while IFS=$'\t' read -r dataset publisher; do
  [[ -z "$dataset" || "$dataset" == \#* ]] && continue
  "$kreisgeo" publishers assign "$dataset" "$publisher"
done < fixtures/publishers/datasets.tsv
