"""The GPU device check script runs (in its --cpu-smoke mode) and judges its targets; nothing it runs needs
pydantic, PyYAML or typer."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.burnin.helpers import ROOT
from tests.burnin.test_burnin_portable import _blocked

SCRIPT = ROOT / "benchmarks" / "burnin" / "device_check.py"
NOT_ON_GPU_BOX = {"yaml", "pydantic", "typer", "click"}


def _module():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(tmp_path: Path, *args: str, timeout: int = 300) -> tuple[int, dict]:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], cwd=ROOT,
                          env=_blocked(tmp_path, NOT_ON_GPU_BOX), capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads((out / "device-check.json").read_text())


def test_cpu_smoke_of_the_measuring_steps(tmp_path):
    code, doc = _run(tmp_path, "--cpu-smoke", "--steps", "nvml_probe,sweep,triad,sdc_hashes")
    assert (0, True, "cpu-smoke") == (code, doc["ok"], doc["mode"])
    steps = doc["steps"]
    assert "skipped" == steps["nvml_probe"]["status"]
    assert {"pass"} == {steps[s]["status"] for s in ("sweep", "triad", "sdc_hashes")}
    assert len(set(steps["sdc_hashes"]["hashes"])) == 1 and len(steps["sdc_hashes"]["hashes"]) == 3
    assert steps["sweep"]["result"]["best"]["tflops"] > 0
    assert "skipped" == doc["targets"]["triad_vs_spec_hbm"]["status"]
    assert "not_selected" == doc["targets"]["every_fault_caught"]["status"]


def test_a_step_the_deadline_leaves_out_fails_the_check(tmp_path):
    code, doc = _run(tmp_path, "--cpu-smoke", "--steps", "triad", "--deadline", "0.001")
    assert (1, "not_run") == (code, doc["steps"]["triad"]["status"])
    assert "step triad" in doc["failed"]


def test_bad_usage_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--steps", "melt", "--cpu-smoke", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert 2 == proc.returncode and "unknown step" in proc.stderr


def _judged(mod, tmp_path, sustained, best, triad_gbps, faults="pass", quick="pass"):
    check = mod.Check(tmp_path, smoke=False, deadline_s=60)
    check.steps = {
        "sweep": {"status": "pass", "result": {"device": "NVIDIA H200", "best": {"tflops": best}}},
        "sustained": {"status": "pass", "result": {"tflops_sustained": sustained}},
        "triad": {"status": "pass", "result": {"gbps": triad_gbps}},
        "quick": {"status": quick, "verdict": "PASS" if quick == "pass" else "WARN"},
        **{f"fault_{k}": {"status": faults} for k in ("sdc", "nan", "slow")},
    }
    return check.write(), json.loads((tmp_path / "device-check.json").read_text())


def test_targets_against_the_h200_figures(tmp_path):
    mod = _module()
    code, doc = _judged(mod, tmp_path, sustained=760.0, best=820.0, triad_gbps=4300.0)
    t = doc["targets"]
    assert 0 == code, doc["failed"]
    assert t["sustained_vs_spec_bf16"]["value"] == pytest.approx(760 / 989)
    assert t["triad_vs_spec_hbm"]["value"] == pytest.approx(4.3 / 4.8)
    both = t["peak_and_sustained"]
    assert (820.0, 760.0) == (both["peak_sweep_best_tflops"], both["sustained_tflops"])
    # Each target can fail on its own.
    for kwargs, target in (
        ({"sustained": 745.0, "best": 850.0, "triad_gbps": 4300.0}, "sustained_vs_sweep_best"),
        ({"sustained": 730.0, "best": 760.0, "triad_gbps": 4300.0}, "sustained_vs_spec_bf16"),
        ({"sustained": 760.0, "best": 820.0, "triad_gbps": 4100.0}, "triad_vs_spec_hbm"),
    ):
        code, doc = _judged(mod, tmp_path, **kwargs)
        assert 1 == code and [f"target {target}"] == doc["failed"] and doc["targets"][target]["met"] is False
    code, doc = _judged(mod, tmp_path, 760.0, 820.0, 4300.0, faults="fail", quick="fail")
    assert {"target every_fault_caught", "target quick_pass_no_warn", "step fault_sdc"} <= set(doc["failed"])


@pytest.mark.slow
def test_full_cpu_smoke(tmp_path):
    code, doc = _run(tmp_path, "--cpu-smoke", timeout=600)
    assert 0 == code, doc["failed"]
    steps = doc["steps"]
    for fault in ("fault_sdc", "fault_nan", "fault_slow"):
        assert "pass" == steps[fault]["status"], steps[fault]
    assert steps["hang"]["pid_gone"] and ["WORKER_TIMEOUT"] == steps["hang"]["codes"]
    assert "pass" == steps["quick"]["status"] and doc["targets"]["every_fault_caught"]["met"]
