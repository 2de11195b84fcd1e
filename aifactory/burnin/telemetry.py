"""NVML telemetry: identity, health counters, 1 Hz samples in a thread. Absent NVML is reported, not fatal.

Every NVML call goes through `_try`, so a counter the driver does not support reads as None rather than
stopping the run. CUDA ordinals equal NVML indices because the suite sets CUDA_DEVICE_ORDER=PCI_BUS_ID.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

# NVML clocks-event ("throttle") reason bits, from nvml.h. Tested bit by bit: combined reasons are normal.
THROTTLE_BITS = {
    "gpu_idle": 0x1,
    "applications_clocks": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal": 0x20,
    "hw_thermal": 0x40,
    "hw_power_brake": 0x80,
    "display_clock": 0x100,
}
BAD_THROTTLE_MASK = 0x8 | 0x20 | 0x40 | 0x80  # hardware, thermal and power-brake slowdowns
MEMORY_TEMP_FIELD = 82  # NVML_FI_DEV_MEMORY_TEMP


def _try(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # NVMLError_NotSupported and friends: the counter is simply not available
        return None


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


class Nvml:
    """A handle on NVML, or a record of why there is none (`available`, `detail`)."""

    def __init__(self, disabled_by_injection: bool = False) -> None:
        self.available = False
        self.detail = ""
        self.lib: Any = None
        if disabled_by_injection:
            self.detail = "nvidia-ml-py not importable (simulated by AIFACTORY_BURNIN_INJECT=no-nvml)"
            return
        try:
            import pynvml
        except ImportError:
            self.detail = "nvidia-ml-py (pynvml) is not installed"
            return
        try:
            pynvml.nvmlInit()
        except Exception as err:
            self.detail = f"NVML could not start: {type(err).__name__}: {err}"
            return
        self.lib, self.available, self.detail = pynvml, True, "NVML available"

    def count(self) -> int:
        return int(_try(self.lib.nvmlDeviceGetCount) or 0) if self.available else 0

    def handle(self, index: int) -> Any:
        return _try(self.lib.nvmlDeviceGetHandleByIndex, index) if self.available else None

    def identity(self, index: int) -> dict[str, Any]:
        h, nv = self.handle(index), self.lib
        if h is None:
            return {}
        pci = _try(nv.nvmlDeviceGetPciInfo, h)
        return {
            "name": _text(_try(nv.nvmlDeviceGetName, h)),
            "uuid": _text(_try(nv.nvmlDeviceGetUUID, h)),
            "serial": _text(_try(nv.nvmlDeviceGetSerial, h)),
            "pci_bus_id": _text(pci.busId) if pci is not None else None,
            "driver": _text(_try(nv.nvmlSystemGetDriverVersion)),
            "cuda_driver": _try(nv.nvmlSystemGetCudaDriverVersion),
            "vbios": _text(_try(nv.nvmlDeviceGetVbiosVersion, h)),
        }

    def preflight(self, index: int, own_pids: set[int]) -> dict[str, Any]:
        """Settings the blueprint cares about and signs of trouble before any load."""
        h, nv = self.handle(index), self.lib
        if h is None:
            return {}
        ecc = _try(nv.nvmlDeviceGetEccMode, h)
        mig = _try(nv.nvmlDeviceGetMigMode, h)
        procs = _try(nv.nvmlDeviceGetComputeRunningProcesses, h) or []
        links = [_try(nv.nvmlDeviceGetNvLinkState, h, link) for link in range(18)]
        return {
            "ecc_enabled": bool(ecc[0]) if ecc else None,
            "persistence": _try(nv.nvmlDeviceGetPersistenceMode, h),
            "mig_enabled": bool(mig[0]) if mig else None,
            "power_limit_w": _milli(_try(nv.nvmlDeviceGetPowerManagementLimit, h)),
            "default_power_limit_w": _milli(_try(nv.nvmlDeviceGetPowerManagementDefaultLimit, h)),
            "foreign_pids": sorted(p.pid for p in procs if p.pid not in own_pids),
            "nvlinks_up": sum(1 for s in links if s == 1),
            "nvlinks_down": sum(1 for s in links if s == 0),
            "pcie_max_gen": _try(nv.nvmlDeviceGetMaxPcieLinkGeneration, h),
            "pcie_max_width": _try(nv.nvmlDeviceGetMaxPcieLinkWidth, h),
        }

    def counters(self, index: int) -> dict[str, Any]:
        """Health counters compared before and after each phase."""
        h, nv = self.handle(index), self.lib
        if h is None:
            return {}
        remap = _try(nv.nvmlDeviceGetRemappedRows, h)
        return {
            "ecc_volatile_uncorrected": _try(nv.nvmlDeviceGetTotalEccErrors, h, 1, 0),
            "ecc_volatile_corrected": _try(nv.nvmlDeviceGetTotalEccErrors, h, 0, 0),
            "ecc_aggregate_uncorrected": _try(nv.nvmlDeviceGetTotalEccErrors, h, 1, 1),
            "retired_pages_pending": _try(nv.nvmlDeviceGetRetiredPagesPendingStatus, h),
            "remapped_rows_correctable": remap[0] if remap else None,
            "remapped_rows_uncorrectable": remap[1] if remap else None,
            "remap_pending": bool(remap[2]) if remap else None,
            "remap_failed": bool(remap[3]) if remap else None,
            "pcie_replays": _try(nv.nvmlDeviceGetPcieReplayCounter, h),
            "nvlink_crc_errors": _nvlink_crc(nv, h),
            "violation_power_ns": _violation(nv, h, 0),
            "violation_thermal_ns": _violation(nv, h, 1),
        }

    def sample(self, index: int) -> dict[str, Any]:
        h, nv = self.handle(index), self.lib
        if h is None:
            return {}
        mem_temp = _try(nv.nvmlDeviceGetFieldValues, h, [MEMORY_TEMP_FIELD])
        return {
            "power_w": _milli(_try(nv.nvmlDeviceGetPowerUsage, h)),
            "temp_c": _try(nv.nvmlDeviceGetTemperature, h, 0),
            "mem_temp_c": _field_value(mem_temp),
            "sm_clock_mhz": _try(nv.nvmlDeviceGetClockInfo, h, 1),
            "mem_clock_mhz": _try(nv.nvmlDeviceGetClockInfo, h, 2),
            "throttle_mask": _try(nv.nvmlDeviceGetCurrentClocksEventReasons, h),
        }

    def link_state(self, index: int) -> dict[str, Any] | None:
        h, nv = self.handle(index), self.lib
        if h is None:
            return None
        return {
            "gen": _try(nv.nvmlDeviceGetCurrPcieLinkGeneration, h),
            "width": _try(nv.nvmlDeviceGetCurrPcieLinkWidth, h),
            "max_gen": _try(nv.nvmlDeviceGetMaxPcieLinkGeneration, h),
            "max_width": _try(nv.nvmlDeviceGetMaxPcieLinkWidth, h),
        }


def _milli(value: Any) -> float | None:
    return value / 1000.0 if isinstance(value, int | float) else None


def _field_value(values: Any) -> float | None:
    try:
        v = values[0]
        return float(v.value.uiVal) if v.nvmlReturn == 0 else None
    except Exception:
        return None


def _nvlink_crc(nv: Any, h: Any) -> int | None:
    counts = [_try(nv.nvmlDeviceGetNvLinkErrorCounter, h, link, 2) for link in range(18)]  # 2: CRC FLIT
    known = [c for c in counts if isinstance(c, int)]
    return sum(known) if known else None


def _violation(nv: Any, h: Any, policy: int) -> int | None:
    status = _try(nv.nvmlDeviceGetViolationStatus, h, policy)
    return int(status.violationTime) if status is not None else None


class Sampler:
    """Samples every device at `period_s` in a daemon thread; each sample carries the current phase."""

    def __init__(self, nvml: Nvml, indices: list[int], period_s: float = 1.0) -> None:
        self.nvml, self.indices, self.period_s = nvml, indices, period_s
        self.phase = "idle"
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nvml-sampler", daemon=True)
        self._t0 = time.monotonic()

    def start(self) -> None:
        if self.nvml.available:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            t = round(time.monotonic() - self._t0, 3)
            for i in self.indices:
                self.samples.append({"t": t, "gpu": i, "phase": self.phase, **self.nvml.sample(i)})
            self._stop.wait(self.period_s)


def worker_temperature(index: int, disabled: bool) -> Callable[[], float | None]:
    """A reader of one device's temperature for the worker's steady-state detection."""
    nvml = Nvml(disabled_by_injection=disabled)
    handle = nvml.handle(index)
    if handle is None:
        return lambda: None
    return lambda: _try(nvml.lib.nvmlDeviceGetTemperature, handle, 0)
