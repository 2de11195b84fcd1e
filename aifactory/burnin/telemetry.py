"""NVML telemetry: identity, health counters, 1 Hz samples, XID events. Absent NVML is reported, not fatal.

Devices are matched to CUDA devices by UUID (then PCI bus id), never by index: under CUDA_VISIBLE_DEVICES
(shared Slurm nodes, containers) CUDA ordinal 0 may be NVML device 5. Every NVML call goes through `_try`, so
a counter the driver does not support reads as None rather than stopping the run; the verdicts treat a
missing reading under load as a failure to measure, never as a pass. Calls made by the parent between phases
go through `Nvml.bounded`, so a wedged driver costs one timeout, not the node's whole deadline.
"""

from __future__ import annotations

import os
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
NVLINK_DL_CRC_FIELD = 163  # NVML_FI_DEV_NVLINK_ERROR_DL_CRC (scope: link), the current counter
NVLINK_LINKS = 18
XID_EVENT = 0x8  # nvmlEventTypeXidCriticalError
# XIDs that mean the hardware (or its firmware) failed, from NVIDIA's XID catalogue: double-bit ECC, row-remap
# events and failures, NVLink errors, fallen off the bus, high single-bit rates, contained/uncontained ECC,
# GSP errors. Others (13, 31, 43, 45: an application's faults) are warnings.
HARDWARE_XIDS = frozenset({48, 61, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120, 121, 140, 143})
PROC_PID_INIT_INO = 0xEFFFFFFC  # the inode of the initial PID namespace (include/linux/proc_ns.h)
DEFAULT_CALL_TIMEOUT_S = 10.0

# The clocks-event reasons call was renamed in nvidia-ml-py 12.535 / driver R535; older bindings and drivers
# only have the "throttle" name. Both return the same mask.
CLOCK_REASON_CALLS = ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons")


class NvmlHung(RuntimeError):
    """An NVML call did not return within its time limit."""


def _try(fn: Callable[..., Any] | None, *args: Any) -> Any:
    if fn is None:
        return None
    try:
        return fn(*args)
    except Exception:  # NVMLError_NotSupported and friends: the counter is simply not available
        return None


def _call(lib: Any, name: str, *args: Any) -> Any:
    """`lib.name(*args)`, or None where this binding lacks the call or the driver refuses it: an older
    nvidia-ml-py missing one function must cost that one reading, not the sampler or the run."""
    return _try(getattr(lib, name, None), *args)


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def norm_uuid(value: Any) -> str | None:
    """'GPU-58e9ba38-…' (NVML) and '58e9ba38-…' (torch) compare equal; None for nothing usable."""
    text = str(_text(value) or "").strip().lower()
    if text.startswith("gpu-"):
        text = text[4:]
    return text or None


def norm_pci(value: Any) -> str | None:
    """'00000000:18:00.0' (NVML) and '0000:18:00.0' compare equal: domain:bus:device as integers."""
    text = str(_text(value) or "").strip().lower()
    parts = text.replace(".", ":").split(":")
    if len(parts) < 3:
        return None
    try:
        dom, bus, dev = (int(p, 16) for p in parts[:3])
    except ValueError:
        return None
    return f"{dom:04x}:{bus:02x}:{dev:02x}"


def host_pid_namespace() -> bool | None:
    """True when this process sees host PIDs (so NVML's PIDs are comparable with ours), None if unknown."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino == PROC_PID_INIT_INO
    except OSError:
        return None


class Nvml:
    """A handle on NVML, or a record of why there is none (`available`, `detail`). `lib` injects a binding
    (the tests' fake); otherwise `pynvml` from nvidia-ml-py is imported."""

    def __init__(
        self, disabled_by_injection: bool = False, lib: Any = None, call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    ) -> None:
        self.available = False
        self.detail = ""
        self.hung = False
        self.lib: Any = None
        self.call_timeout_s = call_timeout_s
        if disabled_by_injection:
            self.detail = "nvidia-ml-py not importable (simulated by AIFACTORY_BURNIN_INJECT=no-nvml)"
            return
        if lib is None:
            try:
                import pynvml
            except ImportError:
                self.detail = "nvidia-ml-py (pynvml) is not installed"
                return
            lib = pynvml
        try:
            lib.nvmlInit()
        except Exception as err:
            self.detail = f"NVML could not start: {type(err).__name__}: {err}"
            return
        self.lib, self.available, self.detail = lib, True, "NVML available"
        self._reasons_call = self._pick_reasons_call()

    def _pick_reasons_call(self) -> str | None:
        return next((n for n in CLOCK_REASON_CALLS if callable(getattr(self.lib, n, None))), None)

    # -- bounded calls ---------------------------------------------------------------------------------
    def bounded(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` in a helper thread, waiting at most `call_timeout_s`. A call that does not return marks
        NVML hung (no later call is made) and raises NvmlHung; the thread is a daemon and is abandoned."""
        if self.hung:
            raise NvmlHung(self.detail)
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = fn(*args)
            except Exception as err:  # handed to the caller below
                box["error"] = err

        thread = threading.Thread(target=call, name="nvml-call", daemon=True)
        thread.start()
        thread.join(self.call_timeout_s)
        if thread.is_alive():
            self.hung, self.available = True, False
            self.detail = f"an NVML call ({getattr(fn, '__name__', 'call')}) hung for over {self.call_timeout_s:.0f} s"
            raise NvmlHung(self.detail)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    # -- devices ---------------------------------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        """Every NVML device: {"nvml_index", "handle", "uuid", "pci"} with normalised uuid and PCI address."""
        if not self.available:
            return []
        nv, out = self.lib, []
        for i in range(int(_call(nv, "nvmlDeviceGetCount") or 0)):
            h = _call(nv, "nvmlDeviceGetHandleByIndex", i)
            if h is None:
                continue
            pci = _call(nv, "nvmlDeviceGetPciInfo", h)
            out.append(
                {
                    "nvml_index": i,
                    "handle": h,
                    "uuid": norm_uuid(_call(nv, "nvmlDeviceGetUUID", h)),
                    "pci": norm_pci(pci.busId) if pci is not None else None,
                }
            )
        return out

    def match(self, uuid: Any, pci: Any) -> dict[str, Any] | None:
        """The NVML device with this UUID, else with this PCI address; None when neither matches."""
        want_uuid, want_pci = norm_uuid(uuid), norm_pci(pci)
        devs = self.devices()
        by_uuid = [d for d in devs if want_uuid and d["uuid"] == want_uuid]
        if by_uuid:
            return {**by_uuid[0], "matched_by": "uuid"}
        by_pci = [d for d in devs if want_pci and d["pci"] == want_pci]
        return {**by_pci[0], "matched_by": "pci"} if by_pci else None

    def compute_pids(self, h: Any) -> list[int] | None:
        procs = _call(self.lib, "nvmlDeviceGetComputeRunningProcesses", h) if self.available else None
        return None if procs is None else sorted(int(p.pid) for p in procs)

    # -- readings (h: an NVML handle from `match`) -----------------------------------------------------
    def identity(self, h: Any) -> dict[str, Any]:
        if h is None or not self.available:
            return {}
        nv = self.lib
        pci = _call(nv, "nvmlDeviceGetPciInfo", h)
        return {
            "name": _text(_call(nv, "nvmlDeviceGetName", h)),
            "uuid": _text(_call(nv, "nvmlDeviceGetUUID", h)),
            "serial": _text(_call(nv, "nvmlDeviceGetSerial", h)),
            "pci_bus_id": _text(pci.busId) if pci is not None else None,
            "driver": _text(_call(nv, "nvmlSystemGetDriverVersion")),
            "cuda_driver": _call(nv, "nvmlSystemGetCudaDriverVersion"),
            "vbios": _text(_call(nv, "nvmlDeviceGetVbiosVersion", h)),
        }

    def preflight(self, h: Any) -> dict[str, Any]:
        """Settings the blueprint cares about and signs of trouble before any load (processes: see runner)."""
        if h is None or not self.available:
            return {}
        nv = self.lib
        ecc = _call(nv, "nvmlDeviceGetEccMode", h)
        mig = _call(nv, "nvmlDeviceGetMigMode", h)
        links = [_call(nv, "nvmlDeviceGetNvLinkState", h, link) for link in range(NVLINK_LINKS)]
        return {
            "ecc_enabled": bool(ecc[0]) if ecc else None,
            "persistence": _call(nv, "nvmlDeviceGetPersistenceMode", h),
            "mig_enabled": bool(mig[0]) if mig else None,
            "power_limit_w": _milli(_call(nv, "nvmlDeviceGetPowerManagementLimit", h)),
            "default_power_limit_w": _milli(_call(nv, "nvmlDeviceGetPowerManagementDefaultLimit", h)),
            "nvlinks_up": sum(1 for s in links if s == 1),
            "nvlinks_down": sum(1 for s in links if s == 0),
            "pcie_max_gen": _call(nv, "nvmlDeviceGetMaxPcieLinkGeneration", h),
            "pcie_max_width": _call(nv, "nvmlDeviceGetMaxPcieLinkWidth", h),
        }

    def counters(self, h: Any) -> dict[str, Any]:
        """Health counters compared before and after each phase, and the energy counter (mJ)."""
        if h is None or not self.available:
            return {}
        nv = self.lib
        remap = _call(nv, "nvmlDeviceGetRemappedRows", h)
        return {
            "ecc_volatile_uncorrected": _call(nv, "nvmlDeviceGetTotalEccErrors", h, 1, 0),
            "ecc_volatile_corrected": _call(nv, "nvmlDeviceGetTotalEccErrors", h, 0, 0),
            "ecc_aggregate_uncorrected": _call(nv, "nvmlDeviceGetTotalEccErrors", h, 1, 1),
            "retired_pages_pending": _call(nv, "nvmlDeviceGetRetiredPagesPendingStatus", h),
            "remapped_rows_correctable": remap[0] if remap else None,
            "remapped_rows_uncorrectable": remap[1] if remap else None,
            "remap_pending": bool(remap[2]) if remap else None,
            "remap_failed": bool(remap[3]) if remap else None,
            "pcie_replays": _call(nv, "nvmlDeviceGetPcieReplayCounter", h),
            "nvlink_crc_errors": _nvlink_crc(nv, h),
            "violation_power_ns": _violation(nv, h, 0),
            "violation_thermal_ns": _violation(nv, h, 1),
            "energy_mj": _call(nv, "nvmlDeviceGetTotalEnergyConsumption", h),
            "t": time.monotonic(),
        }

    def clock_reasons(self, h: Any) -> int | None:
        """The clocks-event mask through whichever call this binding and driver support (None: neither)."""
        for name in CLOCK_REASON_CALLS:
            value = _try(getattr(self.lib, name, None), h)
            if isinstance(value, int):
                return value
        return None

    def sample(self, h: Any) -> dict[str, Any]:
        if h is None or not self.available:
            return {}
        nv = self.lib
        mem_temp = _call(nv, "nvmlDeviceGetFieldValues", h, [MEMORY_TEMP_FIELD])
        return {
            "power_w": _milli(_call(nv, "nvmlDeviceGetPowerUsage", h)),
            "temp_c": _call(nv, "nvmlDeviceGetTemperature", h, 0),
            "mem_temp_c": _field_number(mem_temp),
            "sm_clock_mhz": _call(nv, "nvmlDeviceGetClockInfo", h, 1),
            "mem_clock_mhz": _call(nv, "nvmlDeviceGetClockInfo", h, 2),
            "throttle_mask": self.clock_reasons(h),
        }

    def link_state(self, h: Any) -> dict[str, Any] | None:
        if h is None or not self.available:
            return None
        nv = self.lib
        return {
            "gen": _call(nv, "nvmlDeviceGetCurrPcieLinkGeneration", h),
            "width": _call(nv, "nvmlDeviceGetCurrPcieLinkWidth", h),
            "max_gen": _call(nv, "nvmlDeviceGetMaxPcieLinkGeneration", h),
            "max_width": _call(nv, "nvmlDeviceGetMaxPcieLinkWidth", h),
        }


def _milli(value: Any) -> float | None:
    return value / 1000.0 if isinstance(value, int | float) and not isinstance(value, bool) else None


def _field_number(values: Any) -> float | None:
    """The first field value of an nvmlDeviceGetFieldValues answer, read by its value type."""
    try:
        v = values[0]
        if v.nvmlReturn != 0:
            return None
        member = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal", 6: "usVal"}
        return float(getattr(v.value, member.get(int(getattr(v, "valueType", 1)), "uiVal")))
    except Exception:
        return None


def _nvlink_crc(nv: Any, h: Any) -> int | None:
    """NVLink data-link CRC errors over all links: the field-value counter (scope = link), falling back to
    the legacy per-link error counter on drivers without it."""
    total, known = 0, False
    for link in range(NVLINK_LINKS):
        value = _field_number(_call(nv, "nvmlDeviceGetFieldValues", h, [(NVLINK_DL_CRC_FIELD, link)]))
        if value is None:
            legacy = _call(nv, "nvmlDeviceGetNvLinkErrorCounter", h, link, 2)  # 2: CRC FLIT
            value = float(legacy) if isinstance(legacy, int) else None
        if value is not None:
            total, known = total + int(value), True
    return total if known else None


def _violation(nv: Any, h: Any, policy: int) -> int | None:
    status = _call(nv, "nvmlDeviceGetViolationStatus", h, policy)
    return int(status.violationTime) if status is not None else None


class Sampler:
    """Samples every mapped device at `period_s` in a daemon thread; each sample carries the current phase.
    `targets` maps the report's slot to an NVML handle. A failing sample is counted, never fatal."""

    def __init__(self, nvml: Nvml, period_s: float = 1.0) -> None:
        self.nvml, self.period_s = nvml, period_s
        self.targets: dict[int, Any] = {}
        self.phase = "idle"
        self.samples: list[dict[str, Any]] = []
        self.errors = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nvml-sampler", daemon=True)
        self._t0 = time.monotonic()

    def start(self, targets: dict[int, Any]) -> None:
        self.targets = dict(targets)
        if self.nvml.available and self.targets:
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            t = round(time.monotonic() - self._t0, 3)
            for slot, h in sorted(self.targets.items()):
                try:
                    reading = self.nvml.sample(h)
                except Exception as err:  # one bad reading must not end the sampling
                    self.errors += 1
                    self.last_error = f"{type(err).__name__}: {err}"
                    continue
                self.samples.append({"t": t, "gpu": slot, "phase": self.phase, **reading})
            self._stop.wait(self.period_s)


class XidWatcher:
    """Collects XID events (nvmlEventTypeXidCriticalError) for the mapped devices in a daemon thread.
    `available` is False, with `detail`, where the driver or binding offers no event API."""

    def __init__(self, nvml: Nvml, wait_ms: int = 500) -> None:
        self.nvml, self.wait_ms = nvml, wait_ms
        self.events: list[dict[str, Any]] = []
        self.available, self.detail = False, "not started"
        self.phase = "idle"
        self._by_uuid: dict[str, int] = {}
        self._set: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nvml-xid", daemon=True)
        self._t0 = time.monotonic()

    def start(self, targets: dict[int, Any]) -> None:
        nv = self.nvml.lib
        if not self.nvml.available or not targets:
            self.detail = "NVML unavailable" if not self.nvml.available else "no mapped device"
            return
        try:
            self._set = nv.nvmlEventSetCreate()
            for slot, h in targets.items():
                nv.nvmlDeviceRegisterEvents(h, XID_EVENT, self._set)
                self._by_uuid[norm_uuid(_call(nv, "nvmlDeviceGetUUID", h)) or f"slot{slot}"] = slot
        except Exception as err:
            self.detail = f"XID events not available: {type(err).__name__}: {err}"
            return
        self.available, self.detail = True, "XID events watched"
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._set is not None:
            _call(self.nvml.lib, "nvmlEventSetFree", self._set)

    def _loop(self) -> None:
        nv = self.nvml.lib
        wait = getattr(nv, "nvmlEventSetWait_v2", None) or nv.nvmlEventSetWait
        while not self._stop.is_set():
            try:
                data = wait(self._set, self.wait_ms)
            except Exception:  # NVML_ERROR_TIMEOUT: nothing happened in this slice
                continue
            if data is None or not int(data.eventType) & XID_EVENT:
                continue
            slot = self._by_uuid.get(norm_uuid(_call(nv, "nvmlDeviceGetUUID", data.device)) or "")
            self.events.append(
                {
                    "t": round(time.monotonic() - self._t0, 3),
                    "gpu": slot,
                    "xid": int(data.eventData),
                    "phase": self.phase,
                    "hardware": int(data.eventData) in HARDWARE_XIDS,
                }
            )


def worker_nvml(uuid: Any, pci: Any, disabled: bool) -> tuple[Nvml, Any]:
    """The worker's own NVML handle on its device, matched by UUID (None when there is none)."""
    nvml = Nvml(disabled_by_injection=disabled)
    found = nvml.match(uuid, pci) if nvml.available else None
    return nvml, (found or {}).get("handle")


def temperature_reader(nvml: Nvml, handle: Any) -> Callable[[], float | None]:
    """A reader of one device's temperature for the worker's steady-state detection."""
    if handle is None or not nvml.available:
        return lambda: None
    return lambda: _call(nvml.lib, "nvmlDeviceGetTemperature", handle, 0)
