#!/usr/bin/env bash
# The burn-in device check on a GPU machine with only torch and nvidia-ml-py (no install of the project),
# from the repository root; results in $OUT (or the folder given as the first argument):
#   bash benchmarks/burnin/run_acceptance.sh            # writes $OUT/device-check.json, exits 1 on a missed target
#   bash benchmarks/burnin/run_acceptance.sh --cpu-smoke /tmp/dc   # the same steps on the CPU, tiny sizes
# Every step is bounded by its own timeout and the whole check by a deadline under 8 minutes
# (see benchmarks/burnin/README.md). Extra arguments go to device_check.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
args=()
if [[ "${1:-}" == "--cpu-smoke" ]]; then args+=(--cpu-smoke); shift; fi
out="${1:-${OUT:-benchmarks/results/device-check}}"
[[ $# -gt 0 ]] && shift
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec python3 benchmarks/burnin/device_check.py --out "$out" "${args[@]}" "$@"
