#!/usr/bin/env bash
# Installs the Debian packages kreisgeo needs, only those that are missing:
# PostgreSQL 15 + PostGIS 3 + pgRouting (the embedded database; walking routes) and DejaVu Sans
# (the basemap's labels), and with --test also GDAL's command-line
# tools (the tests check that GDAL's OGC API client reads kreisgeo), Chromium with chromedriver
# (the browser tests), nginx (the load balancer of the multi-node tests), pyosmium (libosmium's
# reading of OSM extracts, which the OSM ingest is checked against; in target/py-walk with
# networkx, the independent shortest paths the walking routes are checked against), in
# target/py-pygeoapi pygeoapi (a foreign OGC API Features server the harvest reads), in
# target/py-iso lxml, the ISO 19139 schemas of bas-metadata-library and the ISO 19119 service
# schemas (srv) of pycsw (the ISO metadata records are validated against them offline) and, in
# target/py, pyshacl
# from PyPI (the tests validate the DCAT-AP.de catalog with it), in target/py-contract schemathesis
# and openapi-python-client (the OpenAPI contract tests), and in target/tools cargo-deny
# from crates.io (the tests check the dependency policy in deny.toml with it); every crate of
# Cargo.lock is fetched first.
set -euo pipefail
cd "$(dirname "$0")/.."

test_tools=false
packages=(postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting fonts-dejavu-core)
if [[ "${1:-}" == "--test" ]]; then
  test_tools=true
  packages+=(gdal-bin python3-venv chromium chromium-driver nginx python3-pyosmium)
fi
command -v npm >/dev/null || packages+=(nodejs npm)

pyshacl() {
  $test_tools || return 0
  target/py/bin/python -c 'import pyshacl' 2>/dev/null && return 0
  echo "installing pyshacl into target/py" >&2
  rm -rf target/py
  python3 -m venv target/py
  target/py/bin/pip install --quiet --disable-pip-version-check pyshacl==0.40.1
}

# The OpenAPI contract tests' tools (tests/contract.rs): schemathesis fuzzes the running server
# from the document, openapi-python-client generates a client from it.
contract_tools() {
  $test_tools || return 0
  target/py-contract/bin/python -c 'import schemathesis, openapi_python_client' 2>/dev/null && return 0
  echo "installing schemathesis and openapi-python-client into target/py-contract" >&2
  rm -rf target/py-contract
  python3 -m venv target/py-contract
  target/py-contract/bin/pip install --quiet --disable-pip-version-check \
    schemathesis==4.32.5 openapi-python-client==0.29.1
}

# The solar tests' independent reference (tests/support/solar_check.py, issue 19): pvlib computes
# sun positions, Hay-Davies transposition, reflection losses and module temperature for comparison.
# The walking-route tests' independent shortest paths: networkx from PyPI over Debian's
# pyosmium (hence Debian's python3 and its site packages).
walk_tools() {
  $test_tools || return 0
  target/py-walk/bin/python -c 'import networkx, osmium; assert networkx.__version__ == "3.6.1"' 2>/dev/null && return 0
  echo "installing networkx into target/py-walk" >&2
  rm -rf target/py-walk
  /usr/bin/python3 -m venv --system-site-packages target/py-walk
  target/py-walk/bin/pip install --quiet --disable-pip-version-check networkx==3.6.1
}

solar_tools() {
  $test_tools || return 0
  target/py-solar/bin/python -c 'import pvlib, pandas; assert (pvlib.__version__, pandas.__version__) == ("0.16.1", "3.1.1")' 2>/dev/null && return 0
  echo "installing pvlib and pandas into target/py-solar" >&2
  rm -rf target/py-solar
  python3 -m venv target/py-solar
  target/py-solar/bin/pip install --quiet --disable-pip-version-check \
    pvlib==0.16.1 pandas==3.1.1
}

# The harvest tests' foreign OGC API server (tests/support/pygeoapi_serve.py): pygeoapi serving a
# GeoJSON file, which kreisgeo harvests and merges with other sources.
pygeoapi() {
  $test_tools || return 0
  target/py-pygeoapi/bin/python -c 'import pygeoapi; assert pygeoapi.__version__ == "0.21.0"' 2>/dev/null && return 0
  echo "installing pygeoapi into target/py-pygeoapi" >&2
  rm -rf target/py-pygeoapi
  python3 -m venv target/py-pygeoapi
  target/py-pygeoapi/bin/pip install --quiet --disable-pip-version-check pygeoapi==0.21.0
}

iso19139() {
  $test_tools || return 0
  target/py-iso/bin/python -c 'import lxml, importlib.util as u; assert u.find_spec("bas_metadata_library") and u.find_spec("pycsw")' 2>/dev/null && return 0
  echo "installing lxml and the ISO 19139 and 19119 schemas (bas-metadata-library, pycsw) into target/py-iso" >&2
  rm -rf target/py-iso
  python3 -m venv target/py-iso
  # The schemas only: the package's own dependencies are for its Python API, not needed here.
  target/py-iso/bin/pip install --quiet --disable-pip-version-check lxml==6.2.0
  target/py-iso/bin/pip install --quiet --disable-pip-version-check --no-deps bas-metadata-library==0.15.1
  # Only for the srv schemas it bundles (its profile apiso); never imported.
  target/py-iso/bin/pip install --quiet --disable-pip-version-check --no-deps pycsw==2.6.2
}

maplibre() {
  [[ -f web/node_modules/maplibre-gl/dist/maplibre-gl-csp.js && -f web/node_modules/axe-core/axe.min.js ]] && return 0
  echo "installing MapLibre GL JS (and axe-core for the tests) from npm into web/node_modules" >&2
  npm ci --prefix web --no-audit --no-fund --loglevel=error
}

# Every crate of the lock file, for every platform: cargo-deny's `cargo metadata --offline` needs
# them all, and a fresh machine's registry has none.
crates() {
  cargo fetch --locked --quiet
}

cargo_deny() {
  $test_tools || return 0
  [[ -x target/tools/bin/cargo-deny ]] && return 0
  echo "building cargo-deny into target/tools (a few minutes, once)" >&2
  cargo install --quiet --locked cargo-deny --version 0.20.2 --root target/tools
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "installing: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  # The Debian package would create and start a default cluster; kreisgeo runs its own.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
crates
pyshacl
contract_tools
solar_tools
walk_tools
pygeoapi
iso19139
cargo_deny
maplibre
