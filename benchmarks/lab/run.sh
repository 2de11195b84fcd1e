#!/bin/sh
# `lab up` cold (empty cache: debootstrap, the resolved manifest, the apt and PyPI mirrors, the burn-in venv and
# the podman image all built) and warm (everything cached),
# the first converge, and a second converge (target: at most 0.1 of the first): the default skip-fast one,
# then one with --full (every task runs). The text of `lab up` and `lab status` is kept in
# /tmp/aifactory-lab-{up,status}.txt (the README's tour shows them). Usage (root, no other lab running):
#   sh benchmarks/lab/run.sh > benchmarks/lab/results.json
set -eu
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
cold_cache=$(mktemp -d /var/tmp/aifactory-lab-cold-XXXXXX)
export AIFACTORY_LAB_CACHE="$cold_cache"
# Cold: the lab's own image is removed by its reference, so it is built again from the empty cache.
image=$($PY -c 'from aifactory.lab.image import LAB, image_ref; print(image_ref(LAB))')
podman image rm -f "$image" >/dev/null 2>&1 || true
start=$(date +%s)
$PY cli.py lab up --nodes 2 > /tmp/aifactory-lab-up-cold.txt
cold_s=$(( $(date +%s) - start ))
$PY cli.py lab status --format json > /tmp/aifactory-lab-status-cold.json
$PY cli.py lab down >&2
# Warm: the same cache, image and venv; new hosts.
start=$(date +%s)
$PY cli.py lab up --nodes 2 > /tmp/aifactory-lab-up.txt
up_s=$(( $(date +%s) - start ))
$PY cli.py lab status > /tmp/aifactory-lab-status.txt
$PY cli.py lab converge --format json > /tmp/aifactory-lab-reconverge.json
$PY cli.py lab converge --full --format json > /tmp/aifactory-lab-reconverge-full.json
$PY cli.py lab status --format json > /tmp/aifactory-lab-status.json
$PY - "$cold_s" "$up_s" <<'PY'
import json, sys
def load(path):  # progress lines may come first on stdout; the JSON document starts at the first "{" line
    text = open(path).read()
    return json.loads(text[text.index("{"):] if text.startswith("{") else text[text.index("\n{") + 1:])
again = load("/tmp/aifactory-lab-reconverge.json"); full = load("/tmp/aifactory-lab-reconverge-full.json")
cold = load("/tmp/aifactory-lab-status-cold.json")["timings"]
timings = load("/tmp/aifactory-lab-status.json")["timings"]
first = timings["converge_s"]
print(json.dumps({"command": "sh benchmarks/lab/run.sh",
    "machine": "2 cores, 24 GiB, Debian 12, no GPU; shared with other jobs while it ran (times are upper bounds)",
    "note": ("cold: an empty AIFACTORY_LAB_CACHE and the lab image removed, so debootstrap, manifest resolution "
             "(apt index download), the apt and PyPI mirror fill (.debs and wheels downloaded), the burn-in "
             "venv and the podman image are all built; warm: all of those cached, new hosts. Both converges "
             "install every role package from the lab's apt mirror and MLflow from its PyPI mirror onto bare "
             "hosts with no route out. second_converge_s is the default converge (hosts matching their record "
             "of the last converge join no further play); second_converge_full_s runs every task (--full)."),
    "cold_lab_up_wall_s": int(sys.argv[1]), "cold_first_converge_s": cold["converge_s"],
    "warm_lab_up_wall_s": int(sys.argv[2]), "warm_lab_up_s": timings["up_s"], "first_converge_s": first,
    "second_converge_s": again["seconds"], "second_converge_changed": again["changed"],
    "ratio": round(again["seconds"] / first, 3),
    "second_converge_full_s": full["seconds"], "second_converge_full_changed": full["changed"],
    "ratio_full": round(full["seconds"] / first, 2), "target_ratio": 0.1,
    "meets_target": again["seconds"] <= 0.1 * first and again["changed"] == 0}, indent=2, sort_keys=True))
PY
$PY cli.py lab down >&2
rm -rf "$cold_cache"
