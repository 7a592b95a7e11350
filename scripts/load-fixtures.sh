#!/usr/bin/env bash
# Loads every dataset listed in fixtures/fixtures.tsv with `kreisgeo ingest`.
# Usage: scripts/load-fixtures.sh KREISGEO_BINARY
# A file that is already loaded unchanged is skipped by kreisgeo itself (same sha256).
set -euo pipefail
kreisgeo=${1:?usage: load-fixtures.sh path/to/kreisgeo}
cd "$(dirname "$0")/.."
while IFS=$'\t' read -r file dataset kind title; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  "$kreisgeo" ingest "fixtures/$file" --dataset "$dataset" --kind "$kind" --title "$title"
done < fixtures/fixtures.tsv
