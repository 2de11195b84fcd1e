#!/bin/sh
# Lab-up wall time, the first converge, and a second converge (target: at most a quarter of the first):
# the default skip-fast one, then one with --full (every task runs). The text of `lab up` and `lab status`
# is kept in /tmp/aifactory-lab-{up,status}.txt (the README's tour shows them). Usage (root):
#   sh benchmarks/lab/run.sh > benchmarks/lab/results.json
set -eu
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
start=$(date +%s)
$PY cli.py lab up --nodes 2 > /tmp/aifactory-lab-up.txt
up_s=$(( $(date +%s) - start ))
$PY cli.py lab status > /tmp/aifactory-lab-status.txt
$PY cli.py lab converge --format json > /tmp/aifactory-lab-reconverge.json
$PY cli.py lab converge --full --format json > /tmp/aifactory-lab-reconverge-full.json
$PY cli.py lab status --format json > /tmp/aifactory-lab-status.json
$PY - "$up_s" <<'PY'
import json, sys
def load(path):  # progress lines may come first on stdout; the JSON document starts at the first "{" line
    text = open(path).read()
    return json.loads(text[text.index("{"):] if text.startswith("{") else text[text.index("\n{") + 1:])
again = load("/tmp/aifactory-lab-reconverge.json"); full = load("/tmp/aifactory-lab-reconverge-full.json")
timings = load("/tmp/aifactory-lab-status.json")["timings"]
first = timings["converge_s"]
print(json.dumps({"command": "sh benchmarks/lab/run.sh", "lab_up_wall_s": int(sys.argv[1]),
    "lab_up_s": timings["up_s"], "first_converge_s": first, "second_converge_s": again["seconds"],
    "second_converge_changed": again["changed"], "ratio": round(again["seconds"] / first, 2),
    "second_converge_full_s": full["seconds"], "second_converge_full_changed": full["changed"],
    "ratio_full": round(full["seconds"] / first, 2), "target_ratio": 0.25,
    "meets_target": again["seconds"] <= 0.25 * first}, indent=2, sort_keys=True))
PY
$PY cli.py lab down >&2
