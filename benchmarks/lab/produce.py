"""What the lab factory produces, measured: training time of the lab's language model across the two compute nodes,
serving tokens/s and p50/p99 latency of KServe's model server under the rendered benchmark job, and one iteration
(the successor's training time, the switch, the requests in flight). Medians over repeated benchmark jobs.

Needs root and a lab with its production (`aifactory lab up --nodes 2`); leaves the lab up. Usage:
    .venv/bin/python benchmarks/lab/produce.py --repeat 5 > benchmarks/lab/produce.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

from aifactory.lab import produce
from aifactory.lab.config import lab_design
from aifactory.lab.state import LabState
from aifactory.lab.venv import venv_dir


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5, help="benchmark jobs to run")
    args = ap.parse_args()
    state = LabState.load()
    if state is None or state.production.get("bench") is None:
        sys.exit("no lab with its production: run `aifactory lab up --nodes 2` first")
    design = lab_design(len([h for h in state.containers if h != state.controller]))
    env = str(venv_dir())
    files = produce.render(state, design)
    bench = produce._one(files, r"slurm/bench-[^/]+\.sbatch")
    runs = []
    for i in range(args.repeat):
        print(f"benchmark job {i + 1}/{args.repeat}", file=sys.stderr)
        runs.append(produce.last_json(produce.sbatch(state, env, bench)["output"]))
    it = produce.iterate(state, design, env, lambda s: print(s, file=sys.stderr), steps=150, fresh=False)
    prod = state.production
    load = produce.last_json_args(files[bench])
    cpu = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    out = {
        "command": f"benchmarks/lab/produce.py --repeat {args.repeat} (after `aifactory lab up --nodes 2`)",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{cpu} CPU cores shared by the lab's 3 podman hosts, {platform.machine()}, no GPU",
        "model": {"parameters": prod["train"]["parameters"], "kind": "byte-level causal transformer, aifactory.tinylm"},
        "training": {
            "first_model_job_s": prod["train"]["seconds"],
            "first_model_train_loop_s": prod["train"]["train_seconds"],
            "first_model_steps": prod["train"]["steps"],
            "processes": prod["train"]["processes"],
            "train_tokens_per_s": prod["train"]["train_tokens_per_s"],
            "successor_job_s": it["successor"]["seconds"],
            "successor_train_loop_s": it["successor"]["train_seconds"],
        },
        "serving": {
            "engine": "KServe Python model server (V1 protocol), CPU",
            "load": {k: int(v) for k, v in load.items()},
            "requests_per_job": runs[0]["completed"],
            "jobs": len(runs),
            "output_tokens_per_s": [r["output_tokens_per_s"] for r in runs],
            "p50_e2el_ms": [r["p50_e2el_ms"] for r in runs],
            "p99_e2el_ms": [r["p99_e2el_ms"] for r in runs],
            "median_output_tokens_per_s": round(statistics.median(r["output_tokens_per_s"] for r in runs), 1),
            "median_p50_e2el_ms": round(statistics.median(r["p50_e2el_ms"] for r in runs), 1),
            "median_p99_e2el_ms": round(statistics.median(r["p99_e2el_ms"] for r in runs), 1),
            "plan_tokens_per_s": prod["plan"]["tokens_per_s"],
            "plan_note": prod["plan"]["reason"],
            "tokens_per_joule": prod["energy"]["tokens_per_joule"],
            "energy_note": prod["energy"].get("reason") or prod["energy"].get("source"),
        },
        "iteration": {
            "promoted": it["decision"]["promoted"],
            "switch_s": it["switch_seconds"],
            "requests": it["traffic"]["completed"],
            "failed": it["traffic"]["failed"],
            "versions": it["traffic"]["versions"],
            "p99_e2el_ms_during": it["traffic"]["p99_e2el_ms"],
        },
    }
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
