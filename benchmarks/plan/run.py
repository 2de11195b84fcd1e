"""Benchmark `aifactory plan` from 8k to 1M GPUs: wall time (incl. interpreter start-up) and peak RSS.

Run from the repository root: `.venv/bin/python benchmarks/plan/run.py` (writes benchmarks/plan/results.json).
The design: the 1,048,576-GPU example blueprints/scale/dgx-h200-1gw.yaml (Quantum-X800 Q3400, 288 logical
400G ports, 144-node SUs, pods of several SUs) scaled down with --set compute.nodes=N/8. Each point runs
`plan --format json` and `plan --out` (every artifact) RUNS times in a child process; the figures are the
median wall time and the child's peak RSS (getrusage via wait4). Targets (issue 16): json under 2 s, --out
under 30 s and 2 GiB at 1M GPUs, growth from 131,072 to 1,048,576 GPUs (8x) no worse than linear.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = (8192, 131072, 262144, 524288, 1048576)
RUNS = 5


def sets_for(gpus: int) -> list[str]:
    """The scaled design's settings: its storage meets the 'better' tier (40/20 GB/s per 256-GPU SU, design/storage
    TIERS) with 1 % headroom, since the tier counts the SU's GPU slots, which round up past the GPUs."""
    nodes = gpus // 8
    values = {
        "compute.nodes": nodes, "compute.scalable_units": 1,
        "storage.filesystem.read_throughput": f"{math.ceil(gpus * 40 / 256 * 1.01)}GB/s",
        "storage.filesystem.write_throughput": f"{math.ceil(gpus * 20 / 256 * 1.01)}GB/s",
    }
    return [arg for k, v in values.items() for arg in ("--set", f"{k}={v}")]


def measure(args: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS KiB, exit code) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def series(args: list[str], out_dir: str | None) -> dict[str, object]:
    walls, rss, codes = [], [], set()
    for _ in range(RUNS):
        if out_dir:
            shutil.rmtree(out_dir, ignore_errors=True)
        wall, peak, code = measure(args)
        walls.append(wall)
        rss.append(peak)
        codes.add(code)
    return {"median_s": round(statistics.median(walls), 3), "runs_s": [round(w, 3) for w in walls],
            "peak_rss_mib": round(max(rss) / 1024, 1), "exit_codes": sorted(codes)}


def main() -> None:
    base = [sys.executable, "cli.py", "plan", "blueprints/scale/dgx-h200-1gw.yaml"]
    results: dict[str, object] = {}
    tmp = tempfile.mkdtemp()
    for gpus in SIZES:
        json_args = [*base, *sets_for(gpus), "--format", "json"]
        out_dir = str(Path(tmp) / "out")
        out_args = [*base, *sets_for(gpus), "--out", out_dir]
        results[str(gpus)] = {"json": series(json_args, None), "out": series(out_args, out_dir),
                              "command": " ".join(json_args[1:])}
    shutil.rmtree(tmp, ignore_errors=True)
    small, big = results["131072"], results[str(SIZES[-1])]
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "system": platform.platform()},
        "runs_per_point": RUNS, "results": results,
        # 8x the GPUs: linear growth or better is a ratio of at most 8 (start-up is a fixed part of each run).
        "growth_131k_to_1m": {k: round(big[k]["median_s"] / small[k]["median_s"], 2)  # type: ignore[index]
                              for k in ("json", "out")},
    }
    (Path(__file__).parent / "results.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(json.dumps(report["growth_131k_to_1m"]), json.dumps({k: v for k, v in results.items()}, indent=1))
    # Each point must plan as a valid design (exit 0): a finding would time a different path.
    bad = {g: r[m]["exit_codes"] for g, r in results.items() for m in ("json", "out")  # type: ignore[index]
           if r[m]["exit_codes"] != [0]}  # type: ignore[index]
    if bad:
        sys.exit(f"not every design planned with exit 0: {bad}")


if __name__ == "__main__":
    main()
