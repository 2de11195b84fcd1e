"""The time budget is a promise: split budgets, a node deadline, partial reports a killed run leaves behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from aifactory.burnin.profiles import PHASES, PROFILE_NAMES, dispatches, get_profile, worst_case_s
from aifactory.burnin.runner import NodeRun
from aifactory.burnin.telemetry import Nvml
from tests.burnin.fakes import FAKE_ENV, FakeNvml, node
from tests.burnin.helpers import ROOT, validate

FAKE = "tests.burnin.fakes:fake_worker"
FIFTEEN_MIN = 15 * 60


def test_acceptance_on_eight_gpus_fits_fifteen_minutes_by_construction():
    # Review 5: pcie and p2p used to get the whole phase budget once per GPU, in series: 2060 s worst case.
    p = get_profile("acceptance", "cuda")
    assert worst_case_s(p, 8) + p.reserve_s <= p.node_budget_s
    assert p.node_budget_s + 60 <= FIFTEEN_MIN  # a minute left for the parent's own start and the report
    assert 23 == sum(dispatches(name, 8) for name in PHASES)
    # The serial phases split their budget: eight GPUs alone plus once all together.
    assert p.dispatch_budget_s("pcie", 8) * 9 == pytest.approx(p.phases["pcie"].budget_s)
    for name in PROFILE_NAMES:
        for kind in ("cuda", "cpu"):
            q = get_profile(name, kind)
            assert worst_case_s(q, 8) + q.reserve_s <= q.node_budget_s, (name, kind)


def test_scaling_keeps_the_proportions_and_the_promise():
    p = get_profile("acceptance", "cuda")
    s = p.scaled(84.0)
    assert s.phases["compute"].budget_s == pytest.approx(p.phases["compute"].budget_s / 10)
    assert s.phases["compute"].params["min_s"] == pytest.approx(9.0)
    assert s.phases["compute"].params["n"] == 8192  # sizes are not durations
    assert worst_case_s(s, 8) + s.reserve_s <= s.node_budget_s
    t = p.with_timeout(400)  # an operator's --phase-timeout grows the node budget with it
    assert worst_case_s(t, 8) + t.reserve_s <= t.node_budget_s


def _cuda_node_run(monkeypatch, mode: str, budget: float, updates: list[list[str]]) -> tuple[NodeRun, float]:
    gpus = node(8)
    monkeypatch.setenv(FAKE_ENV, json.dumps({"uuids": [g.uuid for g in gpus], "mode": mode}))
    profile = get_profile("acceptance", "cuda").scaled(budget)
    run = NodeRun(profile, list(range(8)), (), nvml=Nvml(lib=FakeNvml(gpus)), worker_target=FAKE,
                  mp_context="fork", on_update=lambda r: updates.append(list(r.done)))
    t = time.monotonic()
    run.run()
    return run, time.monotonic() - t


def test_slowest_healthy_eight_gpu_node_finishes_inside_its_budget(monkeypatch):
    # Every dispatch answers at 90 % of its budget: the longest a healthy node can take. Scaled 1:70.
    updates: list[list[str]] = []
    run, took = _cuda_node_run(monkeypatch, "slowest", 12.0, updates)
    assert took <= 12.0
    assert not run.node["deadline_hit"]
    for w in run.workers:
        assert {"ok"} == {w.phases[p]["status"] for p in PHASES}, w.phases
    assert list(PHASES) == updates[-1] and len(updates) == len(PHASES)


def test_hung_node_is_cut_at_the_deadline(monkeypatch):
    updates: list[list[str]] = []
    run, took = _cuda_node_run(monkeypatch, "hang", 6.0, updates)
    assert took <= 6.0
    compute = run.workers[3].phases["compute"]
    assert ("timeout", True) == (compute["error_type"], "killed PID" in compute["error"])
    assert "WORKER_DEAD" == run.workers[3].phases["stress"]["reason_code"]


def test_a_killed_run_leaves_a_partial_report(tmp_path):
    # Review 5: the report was written only at the end, so a run killed by Slurm's time limit left nothing.
    script = f"""
import json, os, sys
sys.path.insert(0, {str(ROOT)!r})
from aifactory.burnin import suite
from tests.burnin.fakes import FAKE_ENV, FakeNvml, node
gpus = node(2)
os.environ[FAKE_ENV] = json.dumps({{"uuids": [g.uuid for g in gpus], "mode": "slowest"}})
suite._device_plan = lambda opts: ("cuda", [0, 1])
from aifactory.burnin.telemetry import Nvml
opts = suite.SuiteOptions(profile="acceptance", node_budget_s=30.0, gpu_id="h200-sxm")
suite.run_suite(opts, out={str(tmp_path)!r}, nvml=Nvml(lib=FakeNvml(gpus)), worker_target={FAKE!r},
                mp_context="fork")
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True)
    path = tmp_path / "burnin-report.json"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if path.exists() and len(json.loads(path.read_text())["run"]["completed_phases"]) >= 3:
                break
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group this test started, by its id
        proc.wait(timeout=10)
    report = json.loads(path.read_text())
    validate(report)
    assert report["run"]["partial"] is True
    assert ["preflight", "compute", "sdc"] == report["run"]["completed_phases"][:3]
    assert "FAIL" == report["node"]["verdict"] and "REPORT_PARTIAL" in {r["code"] for r in report["node"]["reasons"]}
    last = report["gpus"][0]["phases"]["stress"]
    assert ("SKIPPED", "SKIPPED_NOT_REACHED") == (last["status"], last["reasons"][0]["code"])
    assert (tmp_path / "burnin-summary.txt").read_text().count("PARTIAL REPORT") == 1
    assert not (tmp_path / "burnin-junit.xml").exists()
