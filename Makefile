# kreisgeo's front door. `make` lists the targets.
#   make run    install what is missing, build, load the fixtures into the embedded PostGIS, serve
#   make test   install what is missing, check formatting and lints, run the whole test suite
#   make deb    build target/deb/kreisgeo_VERSION_amd64.deb (binary, systemd unit, /etc/kreisgeo)

SHELL := /bin/bash
CARGO ?= cargo
BIND ?= 127.0.0.1:8080
# The tests' own PostgreSQL is started by the first test; its data directory is written here so
# that it is stopped after the suite.
TEST_PG_PATH := target/tmp/test-pg-path

.PHONY: help run build test lint openapi fixtures bench-ingest clean-db deb

help:
	@sed -n 's/^#   //p' Makefile

build:
	$(CARGO) build --release --locked

run:
	scripts/install-deps.sh
	$(CARGO) build --release --locked
	target/release/kreisgeo db start >/dev/null
	scripts/load-fixtures.sh target/release/kreisgeo || { target/release/kreisgeo db stop; exit 1; }
	target/release/kreisgeo db stop
	exec target/release/kreisgeo serve --bind $(BIND) --seed-max-zoom 10

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

test:
	scripts/install-deps.sh --test
	$(MAKE) lint
	status=0; $(CARGO) test --locked || status=$$?; \
	  if [[ $$status -eq 0 ]]; then \
	    if [[ $$(id -u) -eq 0 ]]; then $(CARGO) test --locked --test faults --test package -- --ignored --skip record_the_upgrade_fixture || status=$$?; \
	    else echo "NOT RUN: the full-disk test (tests/faults.rs) and the Debian package test (tests/package.rs) need root"; fi; fi; \
	  if [[ -x target/debug/kreisgeo && -s $(TEST_PG_PATH) ]]; then \
	    target/debug/kreisgeo db stop --data-dir "$$(cat $(TEST_PG_PATH))"; fi; \
	  exit $$status

deb:
	$(CARGO) build --release --locked
	scripts/build-deb.sh

# Regenerate openapi/openapi.json from the code (a test fails when it is stale).
openapi:
	$(CARGO) run --quiet -- openapi --out openapi/openapi.json

# Regenerate the synthetic fixtures (deterministic: the files must not change).
fixtures:
	$(CARGO) run --quiet -- generate --kind parcels --count 1000 --seed 1 --out fixtures/generated/parcels_lueneburg_1000_25832.fgb
	$(CARGO) run --quiet -- generate --kind solar --count 500 --seed 1 --out fixtures/generated/solar_lueneburg_500_25832.geojson
	$(CARGO) run --quiet -- generate --kind aed --count 200 --seed 1 --out fixtures/generated/aed_lueneburg_200_25832.geojson
