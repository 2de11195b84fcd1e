"""Wall time of `python cli.py validate blueprints/<largest>.yaml`, interpreter start-up included.

    .venv/bin/python benchmarks/validate/bench.py [--runs 15]

One warm-up run (fills the page cache and __pycache__), then N timed runs, each a fresh process. Peak RSS is
the largest child's maximum resident set (resource.getrusage(RUSAGE_CHILDREN) after each run). Writes
benchmarks/results/validate.json; the target is a median under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET_S = 1.0


def largest_blueprint() -> Path:
    return max(sorted((REPO / "blueprints").glob("*.yaml")), key=lambda p: p.stat().st_size)


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(cmd: list[str], cpu: list[float] | None = None) -> float:
    """Wall seconds of one fresh process; its CPU seconds (user+sys) go to `cpu`: on a shared machine the
    wall time includes waiting for a core, the CPU time does not."""
    cpu_before = _child_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, check=False, timeout=60)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_child_cpu() - cpu_before)
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "validate.json")
    args = parser.parse_args()
    target = largest_blueprint().relative_to(REPO)
    cmd = [sys.executable, "cli.py", "validate", str(target)]
    run_once(cmd)  # warm-up
    cpu: list[float] = []
    load_before = os.getloadavg()[0]
    times = [run_once(cmd, cpu) for _ in range(max(10, args.runs))]
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    median = statistics.median(times)
    record = {
        "benchmark": "validate",
        "command": f"python cli.py validate {target}",
        "runs": len(times),
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "times_s": [round(t, 4) for t in times],
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "cpu_median_s": round(statistics.median(cpu), 4),
        "target_median_s": TARGET_S,
        "meets_target": median < TARGET_S,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_avg_1m_before": round(load_before, 2), "load_avg_1m_after": round(os.getloadavg()[0], 2)},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"median {median:.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs; "
          f"CPU median {statistics.median(cpu):.3f} s; load {load_before:.1f}) -> {args.out}")


if __name__ == "__main__":
    main()
