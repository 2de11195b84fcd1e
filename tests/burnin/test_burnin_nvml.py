"""NVML on real nodes, with a fake binding: versions, UUID mapping, containers, XIDs, energy, a wedged driver."""

from __future__ import annotations

import json
import time

import pytest

from aifactory.burnin.checks import Context, check_throttle
from aifactory.burnin.profiles import get_profile
from aifactory.burnin.runner import NodeRun, foreign_processes
from aifactory.burnin.telemetry import Nvml, NvmlHung, Sampler, norm_pci, norm_uuid
from aifactory.burnin.thresholds import Thresholds
from tests.burnin.fakes import FAKE_ENV, FakeNvml, node

FAKE = "tests.burnin.fakes:fake_worker"


def _run(monkeypatch, lib, uuids, n_workers, budget=6.0, mode="ok", phases=None):
    monkeypatch.setenv(FAKE_ENV, json.dumps({"uuids": uuids, "mode": mode}))
    profile = get_profile("quick", "cuda").scaled(budget)
    run = NodeRun(profile, list(range(n_workers)), (), phases or ("preflight", "compute"),
                  nvml=Nvml(lib=lib, call_timeout_s=1.0), worker_target=FAKE, mp_context="fork")
    run.sampler.period_s = 0.02
    return run.run()


@pytest.mark.parametrize("reasons", ["event", "legacy", "pre535"])
def test_throttle_mask_is_read_on_every_binding_and_driver(reasons):
    # Review 1: an nvidia-ml-py older than 12.535 has no ...ClocksEventReasons attribute; the old code looked it
    # up outside _try, the AttributeError killed the sampler at its first sample. Pre-R535 drivers answer None.
    gpus = node(1)
    gpus[0].mask = 0x44
    nvml = Nvml(lib=FakeNvml(gpus, reasons=reasons))
    assert 0x44 == nvml.sample(gpus[0])["throttle_mask"]


def test_no_throttle_reasons_at_all_fails_the_gpu_instead_of_passing_it():
    nvml = Nvml(lib=FakeNvml(node(1), reasons="none"))
    sample = {"t": 0, "gpu": 0, "phase": "compute", **nvml.sample(nvml.lib.gpus[0])}
    assert sample["throttle_mask"] is None
    ctx = Context(Thresholds(), None, "cuda", 1)
    codes = [r["code"] for r in check_throttle([sample], ctx, 60.0, 0, expected=True)]
    assert ["THROTTLE_UNMEASURED"] == codes
    assert ["TELEMETRY_MISSING"] == [r["code"] for r in check_throttle([], ctx, 60.0, 0, expected=True)]
    assert [] == check_throttle([], ctx, 60.0, 0, expected=False)  # no NVML: said once at node level


def test_a_failing_sample_does_not_stop_the_sampler():
    gpus = node(1)
    nvml = Nvml(lib=FakeNvml(gpus))
    real, calls = nvml.sample, []

    def flaky(h):
        calls.append(h)
        if len(calls) == 1:
            raise AttributeError("module 'pynvml' has no attribute 'nvmlDeviceGetCurrentClocksEventReasons'")
        return real(h)

    nvml.sample = flaky
    sampler = Sampler(nvml, period_s=0.01)
    sampler.start({0: gpus[0]})
    time.sleep(0.2)
    sampler.stop()
    assert sampler.errors == 1 and len(sampler.samples) >= 3
    assert "AttributeError" in sampler.last_error


def test_uuid_and_pci_normalisation():
    assert norm_uuid("GPU-58E9BA38-8a72-11ee") == norm_uuid("58e9ba38-8a72-11ee") == "58e9ba38-8a72-11ee"
    assert norm_pci("00000000:18:00.0") == norm_pci("0000:18:00") == "0000:18:00"
    assert norm_pci("junk") is None


def test_workers_are_matched_to_nvml_devices_by_uuid_not_index(monkeypatch):
    # Review 2: CUDA_VISIBLE_DEVICES=2,0 on a shared Slurm node makes CUDA ordinal 0 NVML device 2. Before, NVML
    # device 0's temperature, counters and identity were filed under the worker of NVML device 2.
    gpus = node(4)
    lib = FakeNvml(gpus)
    torch_style = [norm_uuid(gpus[2].uuid).upper(), norm_uuid(gpus[0].uuid)]  # torch: no "GPU-" prefix
    run = _run(monkeypatch, lib, torch_style, 2)
    assert [2, 0] == [w.nvml["nvml_index"] for w in run.workers]
    assert [gpus[2].uuid, gpus[0].uuid] == [w.nvml["identity"]["uuid"] for w in run.workers]
    temps = {s["gpu"]: s["temp_c"] for s in run.sampler.samples}
    assert {0: gpus[2].temp, 1: gpus[0].temp} == temps


def test_a_worker_nvml_cannot_place_is_reported(monkeypatch):
    from aifactory.burnin.suite import SuiteOptions, _node_reasons

    gpus = node(2)
    run = _run(monkeypatch, FakeNvml(gpus), ["deadbeef-0000", gpus[1].uuid], 2)
    assert [0] == run.node["unmapped"]
    ctx = Context(Thresholds(), None, "cuda", 2)
    reasons = _node_reasons(run, ctx, SuiteOptions(thresholds=Thresholds(bf16_tflops_min=600)), 1.0)
    assert "fail" == next(r["severity"] for r in reasons if r["code"] == "NVML_UNMAPPED")


def test_foreign_processes_inside_a_container():
    # Review 3: without the host PID namespace NVML reports host PIDs, so the suite's own worker (host PID
    # 987654, container PID 42) looked foreign and failed every GPU.
    assert [] == foreign_processes([], [987654], {42, 1}, host_ns=False)["foreign_pids"]
    two = foreign_processes([], [987654, 987700], {42, 1}, host_ns=False)
    assert ([987654, 987700], True) == (two["foreign_pids"], two["foreign_ambiguous"])
    assert [555] == foreign_processes([555], [555, 987654], {42}, host_ns=False)["foreign_pids"]
    assert [77] == foreign_processes([], [42, 77], {42}, host_ns=True)["foreign_pids"]
    # Our PID in NVML's list proves the namespaces agree, whatever /proc said.
    assert "host" == foreign_processes([], [42], {42}, host_ns=None)["pid_namespace"]


def test_container_run_has_no_false_foreign_process(monkeypatch):
    # The whole path: before spawning, NVML lists nothing; once the worker runs it lists the worker under its
    # host PID, which the suite (in a container) cannot know. Before the fix: FOREIGN_PROCESS on every GPU.
    from aifactory.burnin.checks import check_preflight

    gpus = node(2)
    lib = FakeNvml(gpus)
    seen: dict[str, int] = {}

    def processes(h):
        seen[h.uuid] = seen.get(h.uuid, 0) + 1
        return [] if seen[h.uuid] == 1 else [type("P", (), {"pid": 900000 + gpus.index(h)})()]

    lib.nvmlDeviceGetComputeRunningProcesses = processes
    monkeypatch.setattr("aifactory.burnin.runner.host_pid_namespace", lambda: False)
    run = _run(monkeypatch, lib, [g.uuid for g in gpus], 2)
    ctx = Context(Thresholds(), None, "cuda", 2)
    for w in run.workers:
        assert "container" == w.nvml["preflight"]["pid_namespace"]
        assert [] == check_preflight({"nvml": w.nvml}, ctx)


def test_xid_events_are_collected_and_hardware_ones_fail(monkeypatch):
    from aifactory.burnin.checks import check_xids

    gpus = node(3)
    lib = FakeNvml(gpus, xids=[(1, 79), (1, 13)])
    run = _run(monkeypatch, lib, [gpus[1].uuid, gpus[0].uuid], 2)
    assert run.xid.available
    assert [(0, 79, True), (0, 13, False)] == [(e["gpu"], e["xid"], e["hardware"]) for e in run.xid.events]
    codes = [r["code"] for r in check_xids([e for e in run.xid.events if e["gpu"] == 0])]
    assert ["XID_HARDWARE", "XID_APPLICATION"] == codes


def test_energy_counter_gives_tflops_per_watt(monkeypatch):
    from aifactory.burnin.verdict import derived_metrics

    gpus = node(1)
    run = _run(monkeypatch, FakeNvml(gpus), [gpus[0].uuid], 1)
    c = run.workers[0].counters["compute"]
    assert c["after"]["energy_mj"] - c["before"]["energy_mj"] == 350_000
    d = derived_metrics(run.workers[0], run.sampler.samples)
    assert d["energy_j"] == 350.0
    assert d["tflops_per_watt"] == pytest.approx(760.0 / d["average_power_w"])


def test_a_hung_nvml_call_costs_one_timeout_not_the_run():
    gpus = node(1)
    lib = FakeNvml(gpus, hang="any")
    nvml = Nvml(lib=lib, call_timeout_s=0.2)
    t = time.monotonic()
    with pytest.raises(NvmlHung):
        nvml.bounded(nvml.sample, gpus[0])
    with pytest.raises(NvmlHung):  # no second wait: NVML is marked hung
        nvml.bounded(nvml.identity, gpus[0])
    assert time.monotonic() - t < 1.0 and nvml.hung and not nvml.available
