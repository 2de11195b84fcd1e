"""Stand-ins for the hardware: a fake NVML binding (the pynvml calls the suite makes) and fake workers.

The fake binding models a node with several GPUs, each with its own UUID, PCI address, readings and
processes, so a test can see which device a reading came from. Options model the versions in the field:
`reasons="legacy"` is a binding older than nvidia-ml-py 12.535 (no ...ClocksEventReasons attribute),
`reasons="pre535"` a new binding on an older driver (the call exists but the driver answers NotSupported),
`reasons="none"` neither answers. Fake workers run in forked processes (no torch import) and are steered by
environment variables, which the fork inherits.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class NVMLError(Exception):
    pass


@dataclass
class FakeGpu:
    uuid: str  # NVML form, "GPU-…"
    bus: str  # NVML form, "00000000:18:00.0"
    temp: int = 40
    power_mw: int = 500_000
    sm_clock: int = 1980
    mask: int = 0
    pids: list[int] = field(default_factory=list)
    energy_mj: int = 1_000_000
    name: str = "NVIDIA H200"


class FakeNvml:
    """Enough of `pynvml` for the suite: handles are the FakeGpu objects themselves."""

    def __init__(self, gpus: list[FakeGpu], reasons: str = "event", hang: str = "", xids: list[tuple[int, int]] = ()):
        self.gpus, self.reasons, self.hang = gpus, reasons, hang
        self.xids = list(xids)  # (gpu position, xid) delivered by the event set
        self.calls: list[str] = []
        if reasons != "legacy":
            self.nvmlDeviceGetCurrentClocksEventReasons = self._event_reasons

    def _h(self, h: FakeGpu) -> FakeGpu:
        if self.hang and self.hang in {"any", h.uuid}:
            time.sleep(3600)
        return h

    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeGpu:
        return self.gpus[i]

    def nvmlDeviceGetUUID(self, h: FakeGpu) -> str:
        return self._h(h).uuid

    def nvmlDeviceGetPciInfo(self, h: FakeGpu) -> Any:
        return SimpleNamespace(busId=h.bus.encode())

    def nvmlDeviceGetName(self, h: FakeGpu) -> str:
        return h.name

    def nvmlDeviceGetSerial(self, h: FakeGpu) -> str:
        return "S" + h.uuid[-4:]

    def nvmlSystemGetDriverVersion(self) -> str:
        return "570.86.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12080

    def nvmlDeviceGetVbiosVersion(self, h: FakeGpu) -> str:
        return "96.00"

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeGpu) -> list[Any]:
        return [SimpleNamespace(pid=p) for p in h.pids]

    def nvmlDeviceGetEccMode(self, h: FakeGpu) -> tuple[int, int]:
        return (1, 1)

    def nvmlDeviceGetPersistenceMode(self, h: FakeGpu) -> int:
        return 1

    def nvmlDeviceGetMigMode(self, h: FakeGpu) -> tuple[int, int]:
        return (0, 0)

    def nvmlDeviceGetPowerManagementLimit(self, h: FakeGpu) -> int:
        return 700_000

    def nvmlDeviceGetPowerManagementDefaultLimit(self, h: FakeGpu) -> int:
        return 700_000

    def nvmlDeviceGetNvLinkState(self, h: FakeGpu, link: int) -> int:
        return 1

    def nvmlDeviceGetMaxPcieLinkGeneration(self, h: FakeGpu) -> int:
        return 5

    def nvmlDeviceGetMaxPcieLinkWidth(self, h: FakeGpu) -> int:
        return 16

    def nvmlDeviceGetTotalEccErrors(self, h: FakeGpu, kind: int, counter: int) -> int:
        return 0

    def nvmlDeviceGetRemappedRows(self, h: FakeGpu) -> tuple[int, int, int, int]:
        return (0, 0, 0, 0)

    def nvmlDeviceGetPcieReplayCounter(self, h: FakeGpu) -> int:
        return 0

    def nvmlDeviceGetFieldValues(self, h: FakeGpu, ids: list[Any]) -> Any:
        raise NVMLError("NotSupported")

    def nvmlDeviceGetViolationStatus(self, h: FakeGpu, policy: int) -> Any:
        return SimpleNamespace(violationTime=0)

    def nvmlDeviceGetTotalEnergyConsumption(self, h: FakeGpu) -> int:
        h.energy_mj += 350_000  # each reading 350 J later than the last
        return h.energy_mj

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:
        return self._h(h).power_mw

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:
        return h.temp

    def nvmlDeviceGetClockInfo(self, h: FakeGpu, kind: int) -> int:
        return h.sm_clock if kind == 1 else 2619

    def _event_reasons(self, h: FakeGpu) -> int:
        if self.reasons in ("pre535", "none"):
            raise NVMLError("FunctionNotFound")
        return h.mask

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: FakeGpu) -> int:
        if self.reasons == "none":
            raise NVMLError("NotSupported")
        return h.mask

    def nvmlDeviceGetCurrPcieLinkGeneration(self, h: FakeGpu) -> int:
        return 5

    def nvmlDeviceGetCurrPcieLinkWidth(self, h: FakeGpu) -> int:
        return 16

    # XID events
    def nvmlEventSetCreate(self) -> Any:
        return SimpleNamespace(registered=[], lock=threading.Lock())

    def nvmlDeviceRegisterEvents(self, h: FakeGpu, types: int, event_set: Any) -> None:
        event_set.registered.append(h)

    def nvmlEventSetWait_v2(self, event_set: Any, timeout_ms: int) -> Any:
        with event_set.lock:
            if self.xids:
                pos, xid = self.xids.pop(0)
                return SimpleNamespace(device=self.gpus[pos], eventType=0x8, eventData=xid)
        time.sleep(timeout_ms / 1000.0)
        raise NVMLError("Timeout")

    def nvmlEventSetFree(self, event_set: Any) -> None:
        pass


def node(n: int = 4) -> list[FakeGpu]:
    """n GPUs in NVML (PCI) order, each with readings of its own so a test can tell them apart."""
    return [
        FakeGpu(uuid=f"GPU-{i:08x}-aaaa-bbbb-cccc-{i:012x}", bus=f"00000000:{0x18 + i:02X}:00.0", temp=40 + 10 * i)
        for i in range(n)
    ]


# -- fake workers -----------------------------------------------------------------------------------------
FAKE_ENV = "AIFACTORY_BURNIN_FAKE"  # JSON: {"uuids": [...] per CUDA ordinal, "mode": "ok" | "hang" | "slowest"}

METRICS: dict[str, dict[str, Any]] = {
    "compute": {
        "finite": True,
        "tflops_sustained": 760.0,
        "steady": True,
        "duration_s": 1.0,
        "drop_fraction": 0.0,
        "extra": {},
        "compare": {"compared": 10, "mismatched_batches": 0},
    },
    "sdc": {
        "dtype": "bf16",
        "n": 64,
        "repeats": 2,
        "hash": "h",
        "first_hash": "h",
        "self_mismatches": 0,
        "fp64": {"bad_elements": 0},
    },
    "memory": {"integrity": {"mismatched_words": 0, "passes": 2}, "triad": {"gbps": 4300.0}},
    "pcie": {"h2d_gbps": 55.0, "d2h_gbps": 55.0, "link": {"gen": 5, "width": 16, "max_gen": 5, "max_width": 16}},
    "p2p": {"to": {}},
    "collectives": {
        "exact": True,
        "world_size": 8,
        "plateau": {
            "all_reduce": {"bytes": 1 << 32, "busbw_gbps": 400.0},
            "all_gather": {"bytes": 1 << 32, "busbw_gbps": 400.0},
        },
    },
    "stress": {"finite": True, "collectives_exact": True, "tflops_median": 700.0},
}


def fake_worker(conn: Any, cfg: dict[str, Any]) -> None:
    """A worker that opens no device: reports a UUID, then answers phases after sleeping as told. "slowest"
    answers each phase at 90 % of its budget (the worst case a healthy node can give)."""
    spec = json.loads(os.environ.get(FAKE_ENV, "{}"))
    uuids = spec.get("uuids") or []
    uuid = uuids[cfg["index"]] if cfg["index"] < len(uuids) else None
    conn.send(("ready", {"ok": True, "name": "NVIDIA H200", "uuid": uuid, "torch": "2.9", "cuda": "12.8",
                         "sm_count": 132, "kind": cfg["kind"]}))
    mode = spec.get("mode", "ok")
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg[0] != "phase":
            break
        name, params = msg[1], msg[2]
        if mode == "hang":
            time.sleep(3600)
        if mode == "slowest":
            time.sleep(0.9 * float(params["timeout_s"]))
        metrics = dict(METRICS[name])
        if name == "p2p":
            metrics = {"to": {str(p): {"gbps": 400.0, "peer_access": True} for p in params["peers"]
                              if p != cfg["index"]}}
        conn.send(("done", name, {"status": "ok", "metrics": metrics, "duration_s": 0.9 * params["timeout_s"]}))
    os._exit(0)
