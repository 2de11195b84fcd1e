"""The per-device worker process: opens its device, then runs the phases the parent asks for.

Protocol over a `multiprocessing` pipe, parent to worker: ("phase", name, params) or ("stop",); worker to
parent: ("ready", identity) once, then ("done", name, outcome) per phase. An outcome is
{"status": "ok", "metrics": ...} or {"status": "error", "error_type": "oom" | "exception", "error": ...}.
A worker that does not answer within its phase budget is killed by the parent, by PID.
"""

from __future__ import annotations

import gc
import os
import platform
import time
import traceback
from typing import Any

from aifactory.burnin.phases.device import Device, DeviceMissing, open_device


def main(conn: Any, cfg: dict[str, Any]) -> None:
    """Process entry point (spawned by the runner)."""
    try:
        dev = open_device(cfg["kind"], cfg["index"], tuple(cfg["faults"]))
    except DeviceMissing as err:
        conn.send(("ready", {"ok": False, "error": str(err)}))
        return
    ident = identity(dev)
    cfg = {**cfg, "uuid": ident.get("uuid"), "pci_bus_id": ident.get("pci_bus_id")}
    conn.send(("ready", {"ok": True, **ident}))
    try:
        while True:
            msg = conn.recv()
            if msg[0] != "phase":
                break
            conn.send(("done", msg[1], run_phase(dev, msg[1], msg[2], cfg)))
    except (EOFError, KeyboardInterrupt):
        pass
    # Leave without tearing down the process group: a clean teardown waits on every peer, and a peer may
    # be gone. The parent reaps this process; the OS frees the device.
    os._exit(0)


def identity(dev: Device) -> dict[str, Any]:
    torch = dev.torch
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "kind": dev.kind}
    if dev.is_cuda:
        props = torch.cuda.get_device_properties(dev.index)
        info.update(
            name=props.name,
            uuid=str(getattr(props, "uuid", "")) or None,
            pci_bus_id=_pci(props),
            sm_count=props.multi_processor_count,
            memory_bytes=props.total_memory,
            capability=f"{props.major}.{props.minor}",
        )
    else:
        info.update(name=_cpu_name(), uuid=None, sm_count=None, memory_bytes=None, capability=None)
    return info


def _pci(props: Any) -> str | None:
    """domain:bus:device of a CUDA device from torch's properties (torch >= 2.5 has them), for the NVML match
    when no UUID is reported."""
    parts = [getattr(props, k, None) for k in ("pci_domain_id", "pci_bus_id", "pci_device_id")]
    if not all(isinstance(p, int) for p in parts):
        return None
    return f"{parts[0]:04x}:{parts[1]:02x}:{parts[2]:02x}"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_phase(dev: Device, name: str, params: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Run one phase and package its outcome; errors are caught and classified, never swallowed."""
    start = time.perf_counter()
    try:
        metrics = _dispatch(dev, name, params, cfg)
        outcome = {"status": "ok", "metrics": metrics, "duration_s": time.perf_counter() - start}
    except Exception as err:
        oom = isinstance(err, dev.torch.OutOfMemoryError) or "out of memory" in str(err).lower()
        outcome = {
            "status": "error",
            "error_type": "oom" if oom else "exception",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(limit=6),
            "duration_s": time.perf_counter() - start,
        }
    # Every phase hands its memory back (the caching allocator keeps it otherwise): the next phase, and the
    # peers' contexts and NCCL buffers of p2p and collectives, need it.
    outcome["reserved_bytes_after"] = release(dev)
    return outcome


def release(dev: Device) -> int | None:
    """Free what the phase left cached on the device; the bytes still reserved afterwards (CUDA only)."""
    gc.collect()
    if not dev.is_cuda:
        return None
    dev.torch.cuda.synchronize(dev.index)
    dev.torch.cuda.empty_cache()
    return int(dev.torch.cuda.memory_reserved(dev.index))


def _dispatch(dev: Device, name: str, params: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    from aifactory.burnin.phases import collectives, compute, links, memory, sdc
    from aifactory.burnin.telemetry import temperature_reader, worker_nvml

    def nvml() -> tuple[Any, Any]:  # this device's NVML handle, found by UUID like the parent's
        return worker_nvml(cfg.get("uuid"), cfg.get("pci_bus_id"), cfg["no_nvml"] or not dev.is_cuda)

    if name == "compute":
        return compute.run(dev, params, temperature_reader(*nvml()))
    if name == "sdc":
        return sdc.run(dev, params)
    if name == "memory":
        return memory.run(dev, params)
    if name == "pcie":
        lib, handle = nvml()
        return links.pcie(dev, params, lambda: lib.link_state(handle))
    if name == "p2p":
        return links.p2p(dev, params)
    if name in ("collectives", "stress"):
        group = params.get("group") or {}
        members = list(group.get("members") or [cfg["slot"]])
        if len(members) > 1:
            collectives.join_group(dev, members.index(cfg["slot"]), members, group.get("address"), params["timeout_s"])
        else:
            collectives.leave_group()
        return collectives.run(dev, params) if name == "collectives" else collectives.stress(dev, params)
    raise ValueError(f"unknown phase {name!r}")
