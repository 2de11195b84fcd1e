"""Benchmark `aifactory plan` from 8k to 128k GPUs: wall time (incl. interpreter start-up) and peak RSS.

Run from the repository root: `.venv/bin/python benchmarks/plan/run.py` (writes benchmarks/plan/results.json).
The design: dgx-h100-superpod scaled with --set to N GPUs on Quantum-X800 (Q3400, 288 logical 400G ports)
with 128-node SUs, since 64-port QM9700 tops out at 16,384 GPUs in three tiers.
"""

from __future__ import annotations

import json
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
SIZES = (8192, 16384, 32768, 65536, 131072)
RUNS = 5


def sets_for(gpus: int) -> list[str]:
    nodes = gpus // 8
    values = {
        "compute.nodes": nodes, "compute.nodes_per_su": 128, "compute.scalable_units": nodes // 128 + 1,
        "fabric.compute.switch": "q3400", "fabric.storage.switch": "q3400", "fabric.oob.switch": "sn4600c",
        "fabric.oob.link_speed": "100G", "cooling.facility_power": "300MW",
        "storage.filesystem.read_throughput": f"{gpus * 40 // 256 + 1}GB/s",
        "storage.filesystem.write_throughput": f"{gpus * 20 // 256 + 1}GB/s",
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
    base = [sys.executable, "cli.py", "plan", "dgx-h100-superpod"]
    results: dict[str, object] = {}
    tmp = tempfile.mkdtemp()
    for gpus in SIZES:
        json_args = [*base, *sets_for(gpus), "--format", "json"]
        out_dir = str(Path(tmp) / "out")
        out_args = [*base, *sets_for(gpus), "--out", out_dir]
        results[str(gpus)] = {"json": series(json_args, None), "out": series(out_args, out_dir),
                              "command": " ".join(json_args[1:])}
    shutil.rmtree(tmp, ignore_errors=True)
    small, big = results[str(SIZES[0])], results[str(SIZES[-1])]
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "system": platform.platform()},
        "runs_per_point": RUNS, "results": results,
        # 16x the GPUs; near-linear work shows as a ratio well under 16 for `out` (start-up is fixed).
        "growth_8k_to_128k": {k: round(big[k]["median_s"] / small[k]["median_s"], 2)  # type: ignore[index]
                              for k in ("json", "out")},
    }
    (Path(__file__).parent / "results.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(json.dumps(report["growth_8k_to_128k"]), json.dumps({k: v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
