#!/usr/bin/env bash
# Installs the Debian packages kreisgeo needs, only those that are missing:
# PostgreSQL 15 + PostGIS 3 (the embedded database), and with --test also GDAL's command-line
# tools (the tests check that GDAL's OGC API client reads kreisgeo).
set -euo pipefail

packages=(postgresql-15 postgresql-15-postgis-3)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(gdal-bin)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
# The Debian package would create and start a default cluster; kreisgeo runs its own.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
