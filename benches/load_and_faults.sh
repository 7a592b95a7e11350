#!/usr/bin/env bash
# Load and faults together (issue 7): five minutes of mixed traffic against a release build
# with PostgreSQL restarted twice and the AED dataset replaced, every answer checked.
# Loopback only; stops by itself. Arguments go to the program, e.g. --seconds 60.
# See benches/load_and_faults.rs for what it checks and prints.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec cargo bench --quiet --bench load_and_faults -- "$@"
