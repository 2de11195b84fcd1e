"""Fault injection through AIFACTORY_BURNIN_INJECT: each fault gives the right verdict and reason code.

Faults that do not interfere are injected together into different workers of one run (each run costs
worker start-up, which dominates on a small machine); every test reads the worker its fault was aimed at.
"""

from __future__ import annotations

import os

import pytest

from aifactory.burnin import BurninInputError
from aifactory.burnin.inject import Injection, for_worker, parse
from tests.burnin.helpers import codes, cpu_run, validate


@pytest.fixture(scope="module")
def data_faults(tmp_path_factory):
    """NaN in worker 0, a flipped bit in worker 1, a slow worker 2, no NVML; 3 and 4 healthy (CPU workers
    sharing two cores differ by up to a quarter, so the robust z needs more than two healthy peers)."""
    return cpu_run(tmp_path_factory.mktemp("data"), "--devices", "0,1,2,3,4", inject="nan:0,sdc:1,slow:2,no-nvml")


@pytest.fixture(scope="module")
def process_faults(tmp_path_factory):
    """Worker 0's device missing, worker 1 hangs, worker 2 runs out of memory; 3 s phase budgets."""
    return cpu_run(
        tmp_path_factory.mktemp("proc"),
        "--devices",
        "0,1,2",
        "--phase-timeout",
        "3",
        "--gpu",
        "h100-sxm",
        inject="missing:0,hang:1,oom:2",
    )


def test_parse_hook():
    assert (Injection("sdc", 1), Injection("no-nvml", 0)) == parse("sdc:1,no-nvml")
    assert ("hang", "oom") == for_worker(parse("oom:2,hang:2,sdc:1"), 2)
    with pytest.raises(BurninInputError, match="unknown fault 'melt'"):
        parse("melt:1")
    with pytest.raises(BurninInputError, match="not a number"):
        parse("sdc:x")


def test_faulty_runs_fail_with_exit_1(data_faults, process_faults):
    for code, report, _ in (data_faults, process_faults):
        validate(report)
        assert (1, "FAIL") == (code, report["node"]["verdict"])


def test_flipped_bit_is_named_by_self_check_and_majority(data_faults):
    _, report, text = data_faults
    assert {"SDC_MISMATCH_SELF", "SDC_MISMATCH_PEER"} <= codes(report, 1)
    assert "FAIL" == report["gpus"][1]["phases"]["sdc"]["status"]
    assert not {"SDC_MISMATCH_SELF", "SDC_MISMATCH_PEER"} & (codes(report, 0) | codes(report, 2))
    assert "FAULTS INJECTED (test hook): nan:0, sdc:1, slow:2, no-nvml:0" in text


def test_nan_output_fails(data_faults):
    _, report, _ = data_faults
    assert "NAN_OUTPUT" in codes(report, 0)
    assert "FAIL" == report["gpus"][0]["phases"]["compute"]["status"]
    assert "NAN_OUTPUT" not in codes(report, 1) | codes(report, 2)


def test_slow_device_is_a_peer_outlier(data_faults):
    _, report, _ = data_faults
    outliers = [r for r in report["gpus"][2]["reasons"] if r["code"] == "PEER_OUTLIER" and r["phase"] == "compute"]
    assert ["fail"] == [r["severity"] for r in outliers]
    healthy = [r for g in (0, 1, 3, 4) for r in report["gpus"][g]["reasons"] if r["code"] == "PEER_OUTLIER"]
    assert [] == [r for r in healthy if r["phase"] == "compute"]


def test_missing_nvml_is_said_and_the_run_carries_on(data_faults):
    _, report, _ = data_faults
    assert "simulated by AIFACTORY_BURNIN_INJECT=no-nvml" in report["telemetry"]["detail"]
    nvml = [r for r in report["node"]["reasons"] if r["code"] == "NVML_UNAVAILABLE"]
    assert ["warn"] == [r["severity"] for r in nvml]
    assert "PASS" == report["gpus"][3]["phases"]["compute"]["status"]


def test_flipped_bit_under_load_is_caught_in_the_compute_loop(data_faults):
    # Review 9: the result of every batch is compared with the first one on the device (gpu-burn style).
    _, report, _ = data_faults
    loop = [r for r in report["gpus"][1]["reasons"] if r["code"] == "SDC_MISMATCH_LOOP"]
    assert ["compute"] == [r["phase"] for r in loop]
    compare = report["gpus"][3]["phases"]["compute"]["metrics"]["compare"]
    assert compare["compared"] > 2 and 0 == compare["mismatched_batches"]
    assert not any("SDC_MISMATCH_LOOP" in codes(report, g) for g in (0, 2, 3, 4))


def test_missing_device_fails_and_nothing_after_it_passes(process_faults):
    _, report, _ = process_faults
    phases = report["gpus"][0]["phases"]
    assert "ERROR" == phases["preflight"]["status"]
    assert "DEVICE_MISSING" in codes(report, 0)
    assert {"SKIPPED"} == {phases[p]["status"] for p in ("compute", "sdc", "memory", "collectives", "stress")}
    assert "FAIL" == report["gpus"][0]["verdict"]


def test_hung_worker_is_killed_after_its_budget(process_faults):
    _, report, _ = process_faults
    compute = report["gpus"][1]["phases"]["compute"]
    assert ("ERROR", "WORKER_TIMEOUT") == (compute["status"], compute["reasons"][0]["code"])
    pid = int(compute["error"].rsplit("PID ", 1)[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "SKIPPED_WORKER_DEAD" in codes(report, 1)


def test_out_of_memory_is_an_error_not_a_pass(process_faults):
    _, report, _ = process_faults
    compute = report["gpus"][2]["phases"]["compute"]
    assert ("ERROR", ["OOM"]) == (compute["status"], [r["code"] for r in compute["reasons"]])
    assert "out of memory" in compute["error"].lower()
    # The worker survives its error: later phases still measure.
    assert "PASS" == report["gpus"][2]["phases"]["sdc"]["status"]


def test_dead_workers_do_not_fail_their_healthy_peer(process_faults):
    # Review 15: workers 0 (missing) and 1 (hung, killed) are gone; worker 2 is the only live one. Before, the
    # collective phases were skipped as PEER_UNAVAILABLE on every GPU, failing healthy ones too.
    _, report, _ = process_faults
    phases = report["gpus"][2]["phases"]
    assert "NOT_APPLICABLE" == phases["collectives"]["status"]
    assert "PASS" == phases["stress"]["status"]
    assert not any(r["code"].startswith("SKIPPED") for r in report["gpus"][2]["reasons"] if r["phase"] == "stress")
    assert "SKIPPED_WORKER_DEAD" in codes(report, 0) and "SKIPPED_WORKER_DEAD" in codes(report, 1)


def test_a_gpu_node_that_runs_on_cpu_fails(process_faults):
    _, report, _ = process_faults
    expected = [r for r in report["node"]["reasons"] if r["code"] == "GPU_EXPECTED"]
    assert ["fail"] == [r["severity"] for r in expected]
