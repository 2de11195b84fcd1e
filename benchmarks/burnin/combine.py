"""Fold a burn-in report and a matmul sweep into benchmarks/results/burnin-<gpu>.json, with the targets:
GEMM sustained >= 0.97 x the sweep's best and >= 78 % of spec peak; HBM triad >= 0.90 x spec; the whole
acceptance profile <= 15 minutes per node.

    python benchmarks/burnin/combine.py REPORT.json SWEEP.json COMMAND > burnin-<gpu>.json
"""

from __future__ import annotations

import json
import statistics
import sys


def main(report_path: str, sweep_path: str, command: str) -> int:
    report = json.load(open(report_path, encoding="utf-8"))
    sweep = json.load(open(sweep_path, encoding="utf-8"))
    ref = (report["node"]["reference"] or {}).get("figures", {})
    gemm = statistics.median(g["phases"]["compute"]["metrics"]["tflops_sustained"] for g in report["gpus"])
    triad = statistics.median(g["phases"]["memory"]["metrics"]["triad"]["gbps"] for g in report["gpus"]) / 1000
    peak, hbm = ref.get("bf16_tflops"), ref.get("hbm_tbps")
    checks = {
        "gemm_vs_sweep_best": {"value": gemm / sweep["best"]["tflops"], "target": 0.97},
        "gemm_vs_spec_peak": {"value": gemm / peak if peak else None, "target": 0.78},
        "triad_vs_spec": {"value": triad / hbm if hbm else None, "target": 0.90},
        "acceptance_minutes": {"value": report["run"]["duration_s"] / 60, "target_max": 15},
    }
    for c in checks.values():
        v = c["value"]
        c["met"] = None if v is None else (v <= c["target_max"] if "target_max" in c else v >= c["target"])
    out = {"command": command, "device": sweep["device"], "gpu_id": report["node"]["gpu_id"],
           "verdict": report["node"]["verdict"], "gemm_sustained_tflops": gemm, "triad_tbps": triad,
           "sweep_best": sweep["best"], "checks": checks, "report": report_path}
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0 if all(c["met"] is not False for c in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
