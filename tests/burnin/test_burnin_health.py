"""The node check between jobs (aifactory.burnin.health): its verdicts against a replaced NVML (the fake
binding of tests/burnin/fakes.py, changed per fault), the kernel log's XID records, the lab's simulated GPU
device files, and what it does in Slurm (drain, resume) against a replaced scontrol that answers in
scontrol's own format and records its arguments."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from aifactory.burnin import health, slurmnode
from aifactory.burnin.health import HealthOptions, run_check
from aifactory.burnin.main import main
from tests.burnin.fakes import FakeNvml, node

KMSG_XID = "4,1201,73019823,-;NVRM: Xid (PCI:0000:1b:00): 79, pid=1234, name=python, GPU has fallen off the bus.\n"
KMSG_APP_XID = "4,1190,73000000,-;NVRM: Xid (PCI:0000:18:00): 13, pid=99, Graphics SM Warp Exception\n"
KMSG_OTHER = "6,1188,72000000,-;usb 1-1: new high-speed USB device number 2\n"


def _opts(tmp_path: Path, gpus: int = 4, kmsg: str = KMSG_OTHER, **kw: Any) -> HealthOptions:
    (tmp_path / "kmsg").write_text(kmsg)
    return HealthOptions(gpus, kmsg=str(tmp_path / "kmsg"), xid_ack=str(tmp_path / "ack"), **kw)


def _codes(result: dict[str, Any]) -> list[str]:
    return [r["code"] for r in result["reasons"] if r["severity"] == "fail"]


class Faulty(FakeNvml):
    """The fake node with per-GPU faults: position -> what that GPU answers differently."""

    def __init__(self, n: int = 4, **faults: dict[int, Any]) -> None:
        self.gpu_list = node(n)
        super().__init__(self.gpu_list)
        self.faults = faults

    def _fault(self, kind: str, h: Any, default: Any) -> Any:
        return self.faults.get(kind, {}).get(self.gpu_list.index(h), default)

    def nvmlDeviceGetTotalEccErrors(self, h: Any, kind: int, counter: int) -> int:
        return int(self._fault("ecc", h, 0)) if (kind, counter) == (1, 0) else 0

    def nvmlDeviceGetRemappedRows(self, h: Any) -> tuple[int, int, int, int]:
        return self._fault("remap", h, (0, 0, 0, 0))

    def nvmlDeviceGetNvLinkState(self, h: Any, link: int) -> int:
        return 0 if link in self._fault("links_down", h, ()) else 1

    def nvmlDeviceGetEccMode(self, h: Any) -> tuple[int, int]:
        return self._fault("ecc_mode", h, (1, 1))


def test_a_healthy_gpu_node_passes(tmp_path: Path) -> None:
    result = run_check(_opts(tmp_path, driver="570"), lib=Faulty())
    assert ("PASS", "nvml", []) == (result["verdict"], result["mode"], result["reasons"])
    assert "PASS: 4 GPUs, driver 570.86.15" == health.one_line(result)


def test_wrong_gpu_count_fails(tmp_path: Path) -> None:
    result = run_check(_opts(tmp_path, gpus=8), lib=Faulty())
    assert ["GPU_COUNT"] == _codes(result)
    assert "FAIL: NVML sees 4 GPUs, expected 8" == health.one_line(result)


def test_a_gpu_that_does_not_answer_fails(tmp_path: Path) -> None:
    lib = Faulty()
    lost = lib.gpu_list[2]

    def handle(i: int) -> Any:
        if lib.gpu_list[i] is lost:
            raise RuntimeError("NVML_ERROR_GPU_IS_LOST")
        return lib.gpu_list[i]

    lib.nvmlDeviceGetHandleByIndex = handle  # type: ignore[method-assign]
    assert ["GPU_LOST"] == _codes(run_check(_opts(tmp_path), lib=lib))


def test_an_uncorrectable_ecc_error_fails_on_its_gpu(tmp_path: Path) -> None:
    result = run_check(_opts(tmp_path), lib=Faulty(ecc={1: 2}))
    assert ["ECC_UNCORRECTABLE_NEW"] == _codes(result)
    assert 1 == result["reasons"][0]["gpu"]
    assert result["summary"].startswith("GPU 1 (0000:19:00): ")


def test_ecc_off_fails(tmp_path: Path) -> None:
    assert ["ECC_DISABLED"] == _codes(run_check(_opts(tmp_path), lib=Faulty(ecc_mode={0: (0, 0)})))


@pytest.mark.parametrize(("remap", "code"), [((0, 1, 1, 0), "ROW_REMAP_PENDING"), ((0, 9, 0, 1), "ROW_REMAP_FAILED")])
def test_a_pending_or_failed_row_remap_fails(tmp_path: Path, remap: tuple[int, ...], code: str) -> None:
    assert [code] == _codes(run_check(_opts(tmp_path), lib=Faulty(remap={3: remap})))


def test_an_nvlink_down_fails(tmp_path: Path) -> None:
    result = run_check(_opts(tmp_path), lib=Faulty(links_down={0: (4, 5)}))
    assert ["NVLINK_DOWN"] == _codes(result)
    assert "2 NVLink(s) down" in result["summary"]


def test_driver_pin_is_held_by_version_or_branch(tmp_path: Path) -> None:
    assert "PASS" == run_check(_opts(tmp_path, driver="570.86.15"), lib=Faulty())["verdict"]
    result = run_check(_opts(tmp_path, driver="575"), lib=Faulty())
    assert ["DRIVER_MISMATCH"] == _codes(result)
    assert "driver 570.86.15, expected 575" in result["summary"]


def test_no_nvml_on_a_gpu_node_fails(tmp_path: Path) -> None:
    class Broken(FakeNvml):
        def nvmlInit(self) -> None:
            raise RuntimeError("Driver/library version mismatch")

    result = run_check(_opts(tmp_path), lib=Broken(node(4)))
    assert ["NVML_UNAVAILABLE"] == _codes(result)
    assert "Driver/library version mismatch" in result["summary"]


def test_a_hung_nvml_call_fails_within_its_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "CALL_TIMEOUT_S", 0.2)
    lib = Faulty()
    lib.hang = lib.gpu_list[1].uuid
    assert ["NVML_HUNG"] == _codes(run_check(_opts(tmp_path), lib=lib))


def test_a_hardware_xid_in_the_kernel_log_fails_until_acknowledged(tmp_path: Path) -> None:
    opts = _opts(tmp_path, kmsg=KMSG_OTHER + KMSG_APP_XID + KMSG_XID)
    result = run_check(opts, lib=Faulty())
    assert ["XID_HARDWARE"] == _codes(result)
    assert "hardware XID event(s) [79] in the kernel log" == result["summary"]
    assert "XID_APPLICATION" in [r["code"] for r in result["reasons"]]
    # After a GPU reset the operator acknowledges what was logged: those records no longer count.
    assert 1201 == health.ack_xids(opts, lambda path, text: Path(path).write_text(text))
    assert "PASS" == run_check(opts, lib=Faulty())["verdict"]
    (tmp_path / "kmsg").write_text(KMSG_XID.replace("1201", "1300"))
    assert ["XID_HARDWARE"] == _codes(run_check(opts, lib=Faulty()))


def test_an_unreadable_kernel_log_is_no_pass(tmp_path: Path) -> None:
    opts = HealthOptions(4, kmsg=str(tmp_path / "absent"), xid_ack=str(tmp_path / "ack"))
    assert ["XID_UNCHECKED"] == _codes(run_check(opts, lib=Faulty()))


def test_the_kernel_log_reader_reads_this_machines_log() -> None:
    records = health.read_kmsg("/dev/kmsg")
    if records is None:
        pytest.skip("/dev/kmsg is not readable here")
    assert all(isinstance(seq, int) for seq, _ in records)


# -- lab nodes ------------------------------------------------------------------------------------------
needs_mknod = pytest.mark.skipif(os.geteuid() != 0, reason="making character devices needs root")


@needs_mknod
def test_simulated_gpus_pass_when_every_device_file_is_there(tmp_path: Path) -> None:
    for i in range(2):
        os.mknod(tmp_path / f"nvidia{i}", 0o666 | 0o020000, os.makedev(195, i))
    result = run_check(HealthOptions(2, simulated=True, device_prefix=str(tmp_path / "nvidia")))
    assert ("PASS", "simulated") == (result["verdict"], result["mode"])
    assert {"driver", "ECC", "row remaps", "XIDs", "NVLink"} == set(result["not_applicable"])


@needs_mknod
def test_a_removed_simulated_gpu_fails_the_count(tmp_path: Path) -> None:
    os.mknod(tmp_path / "nvidia1", 0o666 | 0o020000, os.makedev(195, 1))
    result = run_check(HealthOptions(2, simulated=True, device_prefix=str(tmp_path / "nvidia")))
    assert ["GPU_COUNT"] == _codes(result)
    assert f"1 of 2 GPU device files present ({tmp_path}/nvidia0 missing)" == result["summary"]


def test_a_device_file_that_is_no_gpu_fails(tmp_path: Path) -> None:
    (tmp_path / "nvidia0").touch()
    result = run_check(HealthOptions(1, simulated=True, device_prefix=str(tmp_path / "nvidia")))
    assert ["GPU_DEVICE_WRONG"] == _codes(result)


def test_a_node_without_gpus_passes_with_nothing_to_check() -> None:
    result = run_check(HealthOptions(0))
    assert ("PASS", "none", "PASS: no GPU expected") == (result["verdict"], result["mode"], health.one_line(result))


# -- Slurm ------------------------------------------------------------------------------------------------
class Scontrol:
    """`scontrol` answering `show node` in its own format for a node in `state` with `reason`."""

    def __init__(self, state: str = "IDLE", reason: str = "", fail: bool = False) -> None:
        self.state, self.reason, self.fail = state, reason, fail
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        if self.fail:
            return subprocess.CompletedProcess(argv, 1, "", "slurm_load_node error: Unable to contact slurm controller")
        if argv[0] == "show":
            text = (f"NodeName={argv[2]} Arch=x86_64 CoresPerSocket=1\n   CPUAlloc=0 CPUTot=2 CPULoad=0.10\n"
                    f"   State={self.state} ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A\n")  # fmt: skip
            if self.reason:
                text += f"   Reason={self.reason} [root@2026-12-02T04:01:02]\n"
            return subprocess.CompletedProcess(argv, 0, text, "")
        return subprocess.CompletedProcess(argv, 0, "", "")

    @property
    def updates(self) -> list[list[str]]:
        return [c for c in self.calls if c[0] == "update"]


FAIL = {"verdict": "FAIL", "summary": "1 of 2 GPU device files present (/dev/nvidia1 missing)"}
PASS = {"verdict": "PASS", "summary": "2 simulated GPU device files present"}
OURS = "aifactory-health: 1 of 2 GPU device files present (/dev/nvidia1 missing)"


@pytest.mark.parametrize("mode", slurmnode.MODES)
def test_a_failure_drains_with_the_checks_reason(mode: str) -> None:
    run = Scontrol()
    assert f"drained: {OURS}" == slurmnode.act(mode, "lab002", FAIL, run)
    assert [["update", "nodename=lab002", "state=drain", f"reason={OURS}"]] == run.updates


def test_an_operators_drain_is_neither_overwritten_nor_resumed() -> None:
    run = Scontrol("IDLE+DRAIN", "rack 3 maintenance")
    assert "left as it is: drained already (rack 3 maintenance)" == slurmnode.act("epilog", "n1", FAIL, run)
    kept = slurmnode.act("healthcheck", "n1", PASS, run)
    assert "left drained: not drained by this check (rack 3 maintenance)" == kept
    assert [] == run.updates


def test_only_a_passing_health_check_resumes_the_checks_own_drain() -> None:
    run = Scontrol("IDLE+DRAIN", OURS)
    assert "" == slurmnode.act("prolog", "lab002", PASS, run)
    assert [] == run.calls  # a passing prolog asks the controller nothing
    assert f"resumed (was: {OURS})" == slurmnode.act("healthcheck", "lab002", PASS, run)
    assert [["update", "nodename=lab002", "state=resume"]] == run.updates


def test_a_passing_check_on_a_node_in_service_changes_nothing() -> None:
    run = Scontrol("MIXED")
    assert "" == slurmnode.act("healthcheck", "n1", PASS, run)
    assert [] == run.updates


def test_the_same_failure_is_not_drained_twice_and_a_new_one_updates_the_reason() -> None:
    run = Scontrol("ALLOCATED+DRAIN", OURS)
    assert "drained already with this reason" == slurmnode.act("healthcheck", "n1", FAIL, run)
    other = {"verdict": "FAIL", "summary": "NVML sees 7 GPUs, expected 8"}
    assert "drained: aifactory-health: NVML sees 7 GPUs, expected 8" == slurmnode.act("healthcheck", "n1", other, run)


def test_an_unreachable_controller_is_reported() -> None:
    run = Scontrol(fail=True)
    assert "node state unknown" in slurmnode.act("healthcheck", "n1", PASS, run)
    assert "Unable to contact slurm controller" in slurmnode.act("prolog", "n1", FAIL, run)


def test_a_long_reason_is_cut() -> None:
    assert slurmnode.REASON_MAX == len(slurmnode.drain_reason("x " * 500))


# -- command line -------------------------------------------------------------------------------------------
def test_the_command_exits_1_with_one_line_on_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nvidia0").touch()
    assert 1 == main(["health", "--gpus", "1", "--simulated", "--device-prefix", str(tmp_path / "nvidia")])
    out = capsys.readouterr().out
    assert 1 == len(out.splitlines()) and out.startswith("FAIL: ")
    assert 0 == main(["health", "--gpus", "0", "--format", "json"])
    assert "PASS" == json.loads(capsys.readouterr().out)["verdict"]


def test_a_negative_gpu_count_is_unusable_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == main(["health", "--gpus", "-1"])
    assert "--gpus -1 must be 0 or more" in capsys.readouterr().err
