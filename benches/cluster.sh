#!/usr/bin/env bash
# Scaling out (issue 9): one node vs two nodes, each pinned to one core, over the same
# PostgreSQL primary and streaming replica behind nginx (scripts/cluster.sh), on loopback;
# and how long a version switch takes to reach every node. Stops by itself.
# Arguments go to the program, e.g. --seconds 60 --clients 24. See benches/cluster.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test >/dev/null
cargo build --release --quiet
exec cargo bench --quiet --bench cluster -- "$@"
