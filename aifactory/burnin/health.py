"""The node check between jobs: seconds, no torch, the burn-in suite's own verdict rules.

Slurm runs it as HealthCheckProgram, Prolog and Epilog (roles/slurm_compute installs the wrappers), and an
operator can run it by hand: `python -m aifactory.burnin health --gpus 8`. Exit 0: pass (warnings allowed),
1: fail, with a one-line reason on standard output.

What it checks depends on the node:
- a GPU node (nvidia-ml-py): GPU count and reachability, the driver (NVML starts; the blueprint's version
  where given), ECC on and no uncorrectable volatile ECC error since the driver loaded or the GPU was reset,
  no pending or failed row remap, no pending retired page, no NVLink down while others are up, and no hardware
  XID in the kernel log since boot (or since `--ack-xids`, after the GPU was reset or replaced);
- a lab node with simulated GPUs (`--simulated`: device files made with mknod, gres without a driver): the
  device files gres.conf names are there, character devices of the NVIDIA major, numbered 0..N-1. Removing
  one is how the lab test makes a node fail. Driver, ECC, remaps, NVLink and XIDs do not apply there, and the
  report says so;
- a node with no GPU expected: nothing GPU-related applies; it passes.
Python 3.10 compatible, like the rest of the suite's node-side code.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory.burnin.checks import Context, Reason, check_counters, check_preflight, check_xids, reason
from aifactory.burnin.telemetry import HARDWARE_XIDS, Nvml, NvmlHung, norm_pci
from aifactory.burnin.thresholds import Thresholds

PHASE = "health"
NVIDIA_MAJOR = 195  # Documentation/admin-guide/devices.txt in the Linux kernel
CALL_TIMEOUT_S = 5.0  # per NVML call; one hung call ends NVML for the run (Nvml.bounded)
XID_RECORD = re.compile(r"NVRM: Xid \(PCI:([0-9A-Fa-f:.]+)\): (\d+)")
DEFAULT_XID_ACK = "/var/lib/aifactory/health/xid-ack"
# Counters judged from zero: volatile ECC counts reset with the driver or the GPU, so any is since then.
ZERO_BASELINE = {"ecc_volatile_uncorrected": 0, "ecc_volatile_corrected": 0}


@dataclass(frozen=True)
class HealthOptions:
    """What the node should have (from the inventory: its gres GPU count, the driver pin) and where to look."""

    gpus: int
    simulated: bool = False
    driver: str = ""
    device_prefix: str = "/dev/nvidia"
    gpu_major: int = NVIDIA_MAJOR
    kmsg: str = "/dev/kmsg"
    xid_ack: str = DEFAULT_XID_ACK


def run_check(opts: HealthOptions, lib: Any = None) -> dict[str, Any]:
    """The verdict for this node: {"verdict", "mode", "summary", "reasons", "not_applicable"}. `lib`
    replaces pynvml (the tests' fake)."""
    reasons: list[Reason] = []
    if opts.gpus <= 0:
        mode, skipped = "none", ["GPU count", "driver", "ECC", "row remaps", "XIDs", "NVLink"]
        seen = "no GPU expected"
    elif opts.simulated:
        mode, skipped = "simulated", ["driver", "ECC", "row remaps", "XIDs", "NVLink"]
        reasons, seen = simulated_reasons(opts)
    else:
        mode, skipped = "nvml", []
        reasons, seen = _gpu_node(opts, lib)
    fails = [r for r in reasons if r["severity"] == "fail"]
    verdict = "FAIL" if fails else "WARN" if any(r["severity"] == "warn" for r in reasons) else "PASS"
    summary = "; ".join(r["message"] for r in fails) if fails else seen
    return {"kind": "aifactory.burnin.health", "verdict": verdict, "mode": mode, "summary": summary,
            "reasons": reasons, "not_applicable": skipped}  # fmt: skip


def _gpu_node(opts: HealthOptions, lib: Any) -> tuple[list[Reason], str]:
    reasons, seen = nvml_reasons(opts, lib)
    return reasons + xid_reasons(opts), seen


# -- lab nodes: simulated GPUs ------------------------------------------------------------------------------
def device_minors(prefix: str, major: int) -> dict[int, str]:
    """Character devices `<prefix>N` of the given major: {N: problem or ""} for every such file name."""
    base = Path(prefix)
    found: dict[int, str] = {}
    try:
        entries = list(base.parent.iterdir())
    except OSError:
        return found
    for entry in entries:
        digits = entry.name[len(base.name) :]
        if not entry.name.startswith(base.name) or not digits.isdigit():
            continue
        try:
            st = entry.stat()
        except OSError as err:
            found[int(digits)] = f"{entry}: {err.strerror}"
            continue
        ok = stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == major and os.minor(st.st_rdev) == int(digits)
        found[int(digits)] = "" if ok else f"{entry} is not character device {major}:{digits}"
    return found


def simulated_reasons(opts: HealthOptions) -> tuple[list[Reason], str]:
    found = device_minors(opts.device_prefix, opts.gpu_major)
    missing = [i for i in range(opts.gpus) if i not in found]
    out = [reason("GPU_DEVICE_WRONG", "fail", PHASE, found[i]) for i in range(opts.gpus) if found.get(i)]
    if missing:
        names = ", ".join(f"{opts.device_prefix}{i}" for i in missing)
        out.insert(0, reason("GPU_COUNT", "fail", PHASE,
                             f"{opts.gpus - len(missing)} of {opts.gpus} GPU device files present ({names} missing)",
                             opts.gpus - len(missing), opts.gpus))  # fmt: skip
    return out, f"{opts.gpus} simulated GPU device files present"


# -- GPU nodes: NVML ---------------------------------------------------------------------------------------
def nvml_reasons(opts: HealthOptions, lib: Any = None) -> tuple[list[Reason], str]:
    """GPU count, driver, and each GPU's settings and counters, every NVML call bounded."""
    nvml = Nvml(lib=lib, call_timeout_s=CALL_TIMEOUT_S)
    if not nvml.available:
        return [reason("NVML_UNAVAILABLE", "fail", PHASE, f"no NVML: {nvml.detail}")], ""
    try:
        return _nvml_readings(nvml, opts)
    except NvmlHung as err:
        return [reason("NVML_HUNG", "fail", PHASE, str(err))], ""


def _nvml_readings(nvml: Nvml, opts: HealthOptions) -> tuple[list[Reason], str]:
    count = int(nvml.bounded(nvml.lib.nvmlDeviceGetCount))
    devices = nvml.bounded(nvml.devices)
    out: list[Reason] = []
    if len(devices) < count:
        out.append(reason("GPU_LOST", "fail", PHASE, f"{count - len(devices)} of {count} GPUs do not answer NVML",
                          len(devices), count))  # fmt: skip
    if count != opts.gpus:
        out.append(reason("GPU_COUNT", "fail", PHASE, f"NVML sees {count} GPUs, expected {opts.gpus}",
                          count, opts.gpus))  # fmt: skip
    driver = str(nvml.bounded(nvml.identity, devices[0]["handle"]).get("driver") or "") if devices else ""
    if opts.driver and not (driver == opts.driver or driver.startswith(opts.driver + ".")):
        out.append(reason("DRIVER_MISMATCH", "fail", PHASE, f"driver {driver or 'unknown'}, expected {opts.driver}",
                          driver, opts.driver))  # fmt: skip
    ctx = Context(Thresholds(), None, "cuda", len(devices))
    for dev in devices:
        pre = nvml.bounded(nvml.preflight, dev["handle"])
        counters = nvml.bounded(nvml.counters, dev["handle"])
        found = check_preflight({"nvml": {"preflight": pre}}, ctx) + check_counters(PHASE, ZERO_BASELINE, counters)
        out += [_on_gpu(r, dev) for r in found]
    return out, f"{count} GPUs, driver {driver}"


def _on_gpu(r: Reason, dev: dict[str, Any]) -> Reason:
    return {**r, "gpu": dev["nvml_index"], "message": f"GPU {dev['nvml_index']} ({dev['pci']}): {r['message']}"}


# -- XIDs: the kernel log ------------------------------------------------------------------------------
def read_kmsg(path: str) -> list[tuple[int, str]] | None:
    """The kernel log's records as (sequence number, message); None where it cannot be read. /dev/kmsg
    hands out one record per read and EAGAIN at the end (opened non-blocking); EPIPE means the reader fell
    behind records the ring buffer overwrote, and reading goes on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    records: list[tuple[int, str]] = []
    try:
        while True:
            try:
                raw = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue
            if not raw:
                break
            records.extend(parse_kmsg(raw.decode("utf-8", errors="replace")))
    finally:
        os.close(fd)
    return records


def parse_kmsg(text: str) -> list[tuple[int, str]]:
    """Records in /dev/kmsg's format `priority,sequence,timestamp,flags;message` (continuation lines, which
    start with a space, dropped)."""
    out = []
    for line in text.splitlines():
        head, sep, message = line.partition(";")
        fields = head.split(",")
        if sep and len(fields) >= 2 and fields[1].isdigit():
            out.append((int(fields[1]), message))
    return out


def xid_events(records: list[tuple[int, str]], after: int) -> list[dict[str, Any]]:
    """XID events logged by the NVIDIA driver (`NVRM: Xid (PCI:0000:18:00): 79, ...`) after sequence `after`."""
    out = []
    for seq, message in records:
        match = XID_RECORD.search(message)
        if match and seq > after:
            xid = int(match.group(2))
            out.append({"seq": seq, "pci": norm_pci(match.group(1)), "xid": xid, "hardware": xid in HARDWARE_XIDS})
    return out


def acknowledged(path: str) -> int:
    """The kernel log sequence number up to which XIDs were acknowledged (-1: none)."""
    try:
        return int(Path(path).read_text().strip() or -1)
    except (OSError, ValueError):
        return -1


def xid_reasons(opts: HealthOptions) -> list[Reason]:
    records = read_kmsg(opts.kmsg)
    if records is None:
        # Slurm runs the check as root, which can read the kernel log: not being able to is a failure to check.
        return [reason("XID_UNCHECKED", "fail", PHASE, f"kernel log {opts.kmsg} unreadable: XIDs not checked")]
    found = check_xids(xid_events(records, acknowledged(opts.xid_ack)))
    return [{**r, "phase": PHASE, "message": r["message"].replace("during the run", "in the kernel log")}
            for r in found]  # fmt: skip


def ack_xids(opts: HealthOptions, write: Callable[[str, str], None]) -> int:
    """Record the kernel log's last sequence number: XIDs up to it no longer fail the check (after a GPU
    reset or replacement). Returns the number recorded."""
    records = read_kmsg(opts.kmsg) or []
    last = max((seq for seq, _ in records), default=-1)
    write(opts.xid_ack, f"{last}\n")
    return last


def one_line(result: dict[str, Any]) -> str:
    """The check's answer in one line: `PASS: ...`, `WARN: ...` or `FAIL: what failed`."""
    text = result["summary"]
    if result["verdict"] == "WARN":
        text += " (" + "; ".join(r["message"] for r in result["reasons"] if r["severity"] == "warn") + ")"
    return f"{result['verdict']}: {text}"
