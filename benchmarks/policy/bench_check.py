"""Wall time of `aifactory policy check` on the largest reference blueprint, start-up included (a fresh
interpreter each run), median of N runs. Writes benchmarks/policy/results.json.

    .venv/bin/python benchmarks/policy/bench_check.py [N]
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def largest_blueprint() -> Path:
    return max((ROOT / "blueprints").glob("*.yaml"), key=lambda p: (p.stat().st_size, p.name))


def main(runs: int) -> dict[str, object]:
    target = largest_blueprint().relative_to(ROOT)
    cmd = [sys.executable, "cli.py", "policy", "check", str(target), "--format", "json"]
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=60, check=False)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        assert done.returncode in (0, 1), done.stderr
    imported = subprocess.run([sys.executable, "-X", "importtime", "cli.py", "policy", "check", str(target)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60, check=False).stderr
    return {
        "command": " ".join(["python", *cmd[1:]]),
        "runs": runs, "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
        "max_s": round(max(times), 3), "target_s": 1.0,
        "median_cpu_s": round(statistics.median(cpu), 3), "load_avg_1m": round(os.getloadavg()[0], 2),
        "heavy_imports": sorted({m for m in ("pulumi", "jsonschema", "torch", "ansible_runner")
                                 if f" {m}\n" in imported or f" {m}." in imported}),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
    }


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
    (Path(__file__).parent / "results.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
