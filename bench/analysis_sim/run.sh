#!/usr/bin/env bash
# Simulated canary analysis (no sockets): false-failure rate of healthy canaries, time to Failed for bad ones.
# Pinned to one core; ~5-8 minutes for the defaults. Usage: bench/analysis_sim/run.sh [sim.py options]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec taskset -c "${BENCH_CPU:-1}" python3 bench/analysis_sim/sim.py "$@"
