"""Fleet compare, multi-node pairing, scale-out rendering, and the command lines' handling of bad input."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import DATA, ROOT, run_cli
from typer.testing import CliRunner

from aifactory.burnin.compare import analyse
from aifactory.burnin.multinode import classify, first_round, leftover, repair_rounds, stragglers, suspects
from aifactory.burnin.scaleout import ScaleOut, k8s_objects, slurm_script
from aifactory.cli.main import app

runner = CliRunner()


def _fleet(report, tmp_path, slow_host="node5"):
    """Six hosts made from one real report; one host's GPU 0 runs 20 % slower."""
    paths = []
    for i in range(6):
        r = copy.deepcopy(report)
        r["node"]["hostname"] = f"node{i}"
        for g in r["gpus"]:
            g["phases"]["compute"]["metrics"]["tflops_sustained"] = 0.100 + 0.0005 * i
        if r["node"]["hostname"] == slow_host:
            r["gpus"][0]["phases"]["compute"]["metrics"]["tflops_sustained"] = 0.080
        path = tmp_path / f"node{i}" / "burnin-report.json"
        path.parent.mkdir()
        path.write_text(json.dumps(r))
        paths.append(path)
    return paths


def test_fleet_outlier_and_recalibrated_baseline(baseline_run, tmp_path):
    _fleet(baseline_run[1], tmp_path)
    result = runner.invoke(app, ["burnin", "compare", str(tmp_path), "--format", "json", "--out", str(tmp_path / "f")])
    assert 1 == result.exit_code, result.output
    fleet = json.loads(result.output)
    assert [("node5", 0, "tflops_sustained")] == [(o["hostname"], o["gpu"], o["metric"]) for o in fleet["outliers"]]
    base = next(iter(fleet["baselines"].values()))["tflops_sustained"]
    assert (12, 0.85 * base["median"]) == (base["samples"], pytest.approx(base["fail_below"]))
    assert (tmp_path / "f" / "burnin-fleet.json").exists()


def test_compare_rejects_what_is_not_a_report(tmp_path):
    bad = tmp_path / "burnin-report.json"
    bad.write_text('{"kind": "something else"}')
    result = runner.invoke(app, ["burnin", "compare", str(bad)])
    assert 2 == result.exit_code
    assert "not an aifactory burn-in report" in result.output
    assert "fix:" in result.output


def test_history_baseline_uses_only_accepted_runs(baseline_run):
    ok, failed = copy.deepcopy(baseline_run[1]), copy.deepcopy(baseline_run[1])
    failed["node"]["verdict"] = "FAIL"
    failed["run"]["started_at"] = "2099-01-01T00:00:00+00:00"
    fleet = analyse([("a", ok), ("b", failed)])
    assert ["FAIL"] == [n["verdict"] for n in fleet["nodes"]]  # the latest run per host is the node's state
    assert 2 == next(iter(fleet["baselines"].values()))["tflops_sustained"]["samples"]


def test_pairing_rounds_and_repairs():
    assert [(0, 1), (2, 3), (4, 5)] == first_round(7)
    assert [(6, 0)] == leftover(7)
    results = {
        (0, 1): {"busbw_gbps": 40.0, "exact": True},
        (2, 3): {"busbw_gbps": 4.0, "exact": True},
        (4, 5): {"busbw_gbps": 41.0, "exact": True},
    }
    bad = suspects(results, None)
    assert {(2, 3)} == bad
    rounds = repair_rounds(bad, [0, 1, 4, 5])
    assert [[(2, 0), (3, 1)]] == rounds
    results.update({(2, 0): {"busbw_gbps": 4.1, "exact": True}, (3, 1): {"busbw_gbps": 40.5, "exact": True}})
    bad |= {(2, 0)}
    assert {"bad_nodes": [2], "unresolved": []} == classify(results, bad)
    assert [3] == stragglers([1.0, 1.01, 0.99, 2.0])
    assert [] == stragglers([1.0, 1.001, 0.999])


def _pair_ranks(n, inject=None, timeout=90):
    env = {k: v for k, v in os.environ.items() if k != "AIFACTORY_BURNIN_INJECT"}
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(29600 + n), WORLD_SIZE=str(n), PYTHONPATH=str(ROOT))
    if inject:
        env["AIFACTORY_BURNIN_INJECT"] = inject
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "aifactory.burnin", "pairs", "--device-type", "cpu", "--format", "json"],
            env={**env, "RANK": str(r)},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(n)
    ]
    outs = [p.communicate(timeout=timeout) for p in procs]
    return [p.returncode for p in procs], json.loads(outs[0][0])


def test_two_local_ranks_pair_for_real_over_gloo():
    codes, result = _pair_ranks(2)
    assert ([0, 0], "PASS") == (codes, result["verdict"])
    assert [[0, 1]] == [p["pair"] for p in result["rounds"][0]]
    assert result["rounds"][0][0]["exact"] is True


@pytest.mark.slow
def test_slow_node_is_re_paired_and_named():
    codes, result = _pair_ranks(4, inject="slow:2")
    assert ([1, 1, 1, 1], "FAIL") == (codes, result["verdict"])
    assert [2] == [n["rank"] for n in result["bad_nodes"]]
    assert [2] == [n["rank"] for n in result["stragglers"]]
    assert [[2, 0], [3, 1]] == [p["pair"] for p in result["rounds"][1]]


def test_pairs_without_rendezvous_is_unusable_input():
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR")}
    proc = subprocess.run(
        [sys.executable, "-m", "aifactory.burnin", "pairs"],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 2 == proc.returncode
    assert "no rendezvous" in proc.stderr


def test_slurm_script_is_valid_bash_and_deterministic(tmp_path):
    text = slurm_script(ScaleOut(nodes=4, partition="gpu"))
    assert text == slurm_script(ScaleOut(nodes=4, partition="gpu"))
    script = tmp_path / "burnin.sbatch"
    script.write_text(text)
    assert 0 == subprocess.run(["bash", "-n", str(script)], check=False).returncode
    assert "#SBATCH --nodes=4" in text and "pairs --out /shared/burnin/fleet" in text


def test_kubernetes_objects_validate_strictly(tmp_path):
    import kubernetes_validate

    result = runner.invoke(app, ["burnin", "render", "k8s", "--nodes", "3", "--out", str(tmp_path / "k.yaml")])
    assert 0 == result.exit_code, result.output
    docs = list(yaml.safe_load_all((tmp_path / "k.yaml").read_text()))
    assert ["Service", "Job"] == [d["kind"] for d in docs]
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    job = k8s_objects(ScaleOut(nodes=3))[1]
    assert (3, "Indexed") == (job["spec"]["completions"], job["spec"]["completionMode"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--devices", "zero,one"], "is not a comma-separated list"),
        (["--phases", "compute,melt"], "unknown phase"),
        (["--thresholds", str(DATA / "broken.yaml")], "broken.yaml: malformed YAML"),
        (["--thresholds", str(DATA / "missing.yaml")], "thresholds file not found"),
        (["--blueprint", str(DATA / "missing-blueprint.yaml")], "missing-blueprint.yaml"),
    ],
)
def test_bad_input_exits_2_with_a_hint(args, message):
    result = runner.invoke(app, ["burnin", "run", "--device-type", "cpu", *args])
    assert 2 == result.exit_code, result.output
    assert message in result.output


def test_unknown_fault_in_the_hook_is_unusable_input():
    proc = run_cli(["run", "--device-type", "cpu"], inject="meltdown")
    assert 2 == proc.returncode
    assert "unknown fault 'meltdown'" in proc.stderr


def test_suite_imports_without_pydantic_click_or_typer():
    code = (
        "import sys\n"
        "for m in ('pydantic', 'click', 'typer', 'aifactory.blueprint', 'aifactory.catalog'):\n"
        "    sys.modules[m] = None\n"
        "import pkgutil, importlib, aifactory.burnin as b\n"
        "for m in pkgutil.walk_packages(b.__path__, 'aifactory.burnin.'):\n"
        "    if m.name != 'aifactory.burnin.__main__': importlib.import_module(m.name)\n"
        "from aifactory.burnin.main import main\n"
        "sys.exit(main(['render', 'slurm', '--nodes', '2']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert 0 == proc.returncode, proc.stderr
    assert "#SBATCH --nodes=2" in proc.stdout
