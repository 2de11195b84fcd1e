#!/usr/bin/env bash
# On a GPU machine (H100/H200, torch + nvidia-ml-py), from the repository root:
#   bash benchmarks/burnin/run_acceptance.sh
# Produces benchmarks/results/burnin-<gpu>.json: the acceptance profile's report (all GPUs at once), the
# torch.matmul shape sweep the GEMM phase is held against, and the targets (>= 0.97 x sweep best, >= 78 %
# of spec peak, triad >= 0.90 x spec, <= 15 minutes per node). Raw outputs stay in benchmarks/results/raw-<gpu>/.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CUDA_DEVICE_ORDER=PCI_BUS_ID PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
gpu=$(python -c "import torch; print(torch.cuda.get_device_name(0).lower().replace(' ', '-'))")
raw="benchmarks/results/raw-$gpu"
mkdir -p "$raw"
python benchmarks/burnin/matmul_sweep.py --out "$raw/matmul-sweep.json"
cmd="python -m aifactory.burnin run --profile acceptance --device-type cuda --format text --out $raw/report"
$cmd | tee "$raw/summary.txt"
rc=${PIPESTATUS[0]}
python benchmarks/burnin/combine.py "$raw/report/burnin-report.json" "$raw/matmul-sweep.json" "$cmd" \
  > "benchmarks/results/burnin-$gpu.json"
cat "benchmarks/results/burnin-$gpu.json"
echo "burn-in exit code: $rc"
