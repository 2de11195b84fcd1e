"""The parent: one worker process per device, all loaded at once, each phase under a budget, the node under
a deadline.

The parent never runs device work itself. It spawns the workers, maps each worker's CUDA device to its NVML
device by UUID, hands them phases, samples NVML, watches XID events, snapshots health counters around every
phase, and kills (by PID) a worker that overruns its budget. The node deadline (`Profile.node_budget_s`) is
hard: a phase that cannot start before it is marked skipped, and `on_update` is called after every phase so
the caller can write a partial report. What comes back is a raw record; `verdict.py` judges it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from multiprocessing import connection, get_context
from typing import Any

from aifactory.burnin import inject
from aifactory.burnin.profiles import CUDA_ONLY, PHASES, SERIAL_PHASES, Profile
from aifactory.burnin.telemetry import Nvml, NvmlHung, Sampler, XidWatcher, host_pid_namespace

WORKER_TARGET = "aifactory.burnin.worker:main"


@dataclass
class Worker:
    slot: int  # rank within the node
    index: int  # CUDA ordinal (as this process sees it) or CPU worker number
    process: Any = None
    conn: Any = None
    alive: bool = False
    identity: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    nvml: dict[str, Any] = field(default_factory=dict)
    handle: Any = None  # NVML handle of this worker's device, matched by UUID


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _skipped(code: str, reason: str) -> dict[str, Any]:
    return {"status": "skipped", "reason_code": code, "reason": reason}


def _target(spec: str) -> Any:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class NodeRun:
    """Runs the profile's phases over the given devices and keeps the raw outcomes."""

    def __init__(
        self,
        profile: Profile,
        indices: list[int],
        injections: tuple[inject.Injection, ...],
        phases: tuple[str, ...] = PHASES,
        progress: Any = None,
        *,
        nvml: Nvml | None = None,
        on_update: Any = None,
        worker_target: str = WORKER_TARGET,
        mp_context: str = "spawn",
    ) -> None:
        self.profile = profile
        self.kind = profile.device_type
        self.injections = injections
        self.selected = phases
        self.progress = progress or (lambda _msg: None)
        self.on_update = on_update or (lambda _run: None)
        self.worker_target, self.mp_context = worker_target, mp_context
        self.nvml = nvml or Nvml(disabled_by_injection=inject.node_wide(injections, "no-nvml"))
        self.workers = [Worker(slot, idx) for slot, idx in enumerate(indices)]
        self.sampler = Sampler(self.nvml)
        self.xid = XidWatcher(self.nvml)
        self.node: dict[str, Any] = {"deadline_hit": [], "nvml_hung": False, "unmapped": []}
        self.done: list[str] = []
        self.t0 = time.monotonic()
        self.deadline = self.t0 + profile.node_budget_s - profile.reserve_s
        self._group: tuple[int, ...] = ()

    # -- lifecycle -------------------------------------------------------------------------------------
    def run(self) -> NodeRun:
        # The mapping to NVML is by UUID, so CUDA_DEVICE_ORDER only decides what `--devices 0,1` means.
        os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS for the SDC phase
        try:
            before = self._pids_before_spawn()
            self._spawn()
            self._map_nvml(before)
            targets = {w.slot: w.handle for w in self.workers if w.handle is not None}
            self.sampler.start(targets)
            self.xid.start(targets)
            for name in PHASES:
                self.sampler.phase = self.xid.phase = name
                self.progress(name)
                if time.monotonic() >= self.deadline:
                    self.node["deadline_hit"].append(name)
                    self._mark_all(name, _skipped("NODE_DEADLINE", f"the node's time budget ran out before {name}"))
                else:
                    self._phase(name)
                self.done.append(name)
                self.on_update(self)
        finally:
            self.sampler.stop()
            self.xid.stop()
            self._shutdown()
        return self

    def _nv(self, fn: Any, *args: Any) -> Any:
        """An NVML reading through the bounded call; a hung NVML reads as nothing from then on."""
        if not self.nvml.available:
            return {} if fn is not self.nvml.compute_pids else None
        try:
            return self.nvml.bounded(fn, *args)
        except NvmlHung:
            self.node["nvml_hung"] = True
            return {} if fn is not self.nvml.compute_pids else None

    def _pids_before_spawn(self) -> dict[str, list[int] | None]:
        """Compute processes on every NVML device before any worker exists: none of them is ours."""
        if self.kind != "cuda" or not self.nvml.available:
            return {}
        devs = self._nv(self.nvml.devices) or []
        return {d["uuid"]: self._nv(self.nvml.compute_pids, d["handle"]) for d in devs if d["uuid"]}

    def _spawn(self) -> None:
        ctx: Any = get_context(self.mp_context)
        address = f"tcp://127.0.0.1:{_free_port()}"
        target = _target(self.worker_target)
        for w in self.workers:
            parent, child = ctx.Pipe()
            cfg = {
                "kind": self.kind,
                "index": w.index,
                "slot": w.slot,
                "world": len(self.workers),
                "faults": inject.for_worker(self.injections, w.slot),
                "no_nvml": not self.nvml.available,
                "dist_address": address,
                "peers": [x.index for x in self.workers],
            }
            proc = ctx.Process(target=target, args=(child, cfg), name=f"burnin-{w.index}", daemon=True)
            proc.start()
            w.process = proc
            child.close()
            w.conn = parent
        deadline = min(time.monotonic() + self.profile.ready_s, self.deadline)
        for w in self.workers:
            msg = self._recv(w, deadline)
            if msg is not None and msg[1].get("ok"):
                w.alive, w.identity = True, msg[1]
            else:
                w.identity = {
                    "ok": False,
                    "error": msg[1]["error"] if msg else f"worker did not start within {self.profile.ready_s:.0f} s",
                }
                self._kill(w)

    def _map_nvml(self, before: dict[str, list[int] | None]) -> None:
        """Find each worker's NVML device by the UUID (or PCI address) its CUDA device reports."""
        if self.kind != "cuda" or not self.nvml.available:
            return
        own = {w.process.pid for w in self.workers if w.process is not None} | {os.getpid()}
        host_ns = host_pid_namespace()
        for w in self.workers:
            if not w.alive:
                continue
            found = self._nv(self.nvml.match, w.identity.get("uuid"), w.identity.get("pci_bus_id"))
            if not found:
                self.node["unmapped"].append(w.slot)
                continue
            w.handle = found["handle"]
            now = self._nv(self.nvml.compute_pids, w.handle)
            w.nvml = {
                "identity": self._nv(self.nvml.identity, w.handle),
                "preflight": {
                    **(self._nv(self.nvml.preflight, w.handle) or {}),
                    **foreign_processes(before.get(found["uuid"]), now, own, host_ns),
                },
                "nvml_index": found["nvml_index"],
                "matched_by": found["matched_by"],
            }

    def _shutdown(self) -> None:
        for w in self.workers:
            if w.alive:
                with contextlib.suppress(OSError, BrokenPipeError):
                    w.conn.send(("stop",))
        for w in self.workers:
            if w.process is not None:
                w.process.join(timeout=max(1.0, self.profile.grace_s * 2))
                if w.process.is_alive():
                    self._kill(w)

    def _kill(self, w: Worker) -> None:
        """Kill one worker by its PID (never by name) and reap it."""
        if w.process is not None and w.process.is_alive() and w.process.pid:
            os.kill(w.process.pid, signal.SIGKILL)
            w.process.join(timeout=10)
        w.alive = False

    def _recv(self, w: Worker, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not w.conn.poll(remaining):
            return None
        try:
            return w.conn.recv()
        except (EOFError, OSError):
            return None

    # -- phases ----------------------------------------------------------------------------------------
    def _phase(self, name: str) -> None:
        plan = self.profile.phases[name]
        if name not in self.selected:
            return self._mark_all(name, _skipped("NOT_SELECTED", f"phase {name} was not selected (--phases)"))
        if name == "preflight":
            return self._preflight()
        if name in CUDA_ONLY and self.kind != "cuda":
            return self._mark_all(name, _skipped("CUDA_REQUIRED", f"phase {name} needs CUDA; this is a CPU run"))
        if name == "p2p" and len(self.workers) < 2:
            return self._mark_all(name, {"status": "not_applicable", "reason": "one GPU: no peer to copy to"})
        if name == "collectives" and len(self.workers) < 2:
            return self._mark_all(name, {"status": "not_applicable", "reason": "one worker: no collective"})
        live = [w for w in self.workers if w.alive]
        budget = self.profile.dispatch_budget_s(name, len(self.workers))
        params = {**plan.params, "timeout_s": budget, "peers": [w.index for w in live]}
        if name in ("collectives", "stress"):
            # A dead worker must not fail its healthy peers: the collective phases run over the live ones,
            # in a process group re-formed whenever its membership changes.
            if name == "collectives" and len(live) < 2:
                for w in self.workers:
                    w.phases[name] = (
                        {"status": "not_applicable", "reason": "one live worker: no collective"}
                        if w.alive
                        else _skipped("WORKER_DEAD", "the worker for this device is gone (see earlier phases)")
                    )
                return None
            members = tuple(w.slot for w in live)
            if members != self._group:
                self._group = members
                params["group"] = {"address": f"tcp://127.0.0.1:{_free_port()}", "members": list(members)}
            else:
                params["group"] = {"address": None, "members": list(members)}
        if name in SERIAL_PHASES:  # one at a time first, so a slow link is not hidden by contention
            for w in self.workers:
                self._dispatch(name, [w], params, budget)
            if name == "pcie" and len(self.workers) > 1:
                self.node["pcie_all"] = self._dispatch(name, self.workers, params, budget, keep=False)
            return None
        self._dispatch(name, self.workers, params, budget)
        return None

    def _mark_all(self, name: str, outcome: dict[str, Any]) -> None:
        for w in self.workers:
            w.phases[name] = dict(outcome)

    def _preflight(self) -> None:
        for w in self.workers:
            if w.alive:
                w.phases["preflight"] = {"status": "ok", "metrics": {"identity": w.identity, "nvml": w.nvml}}
            else:
                w.phases["preflight"] = {
                    "status": "error",
                    "error_type": "missing",
                    "error": w.identity.get("error", "device missing"),
                }

    def _dispatch(
        self, name: str, group: list[Worker], params: dict[str, Any], budget_s: float, keep: bool = True
    ) -> dict[int, dict[str, Any]]:
        """Send a phase to every live worker of `group` at once and collect within the budget and the node
        deadline."""
        results: dict[int, dict[str, Any]] = {}
        for w in group:
            if not w.alive and keep and name not in w.phases:
                w.phases[name] = _skipped("WORKER_DEAD", "the worker for this device is gone (see earlier phases)")
        live = [w for w in group if w.alive]
        if not live:
            return results
        if time.monotonic() >= self.deadline:
            for w in live:
                if keep:
                    w.phases[name] = _skipped("NODE_DEADLINE", f"the node's time budget ran out during {name}")
            if name not in self.node["deadline_hit"]:
                self.node["deadline_hit"].append(name)
            return results
        before = {w.slot: self._nv(self.nvml.counters, w.handle) for w in live} if keep else {}
        for w in live:
            w.conn.send(("phase", name, params))
        limit = min(time.monotonic() + budget_s + self.profile.grace_s, self.deadline)
        pending = {w.conn: w for w in live}
        while pending:
            remaining = limit - time.monotonic()
            ready = connection.wait(list(pending), timeout=max(0.0, remaining)) if remaining > 0 else []
            if not ready:
                break
            for conn in ready:
                w = pending.pop(conn)
                results[w.slot] = self._receive(w, name)
        for w in pending.values():
            pid = w.process.pid
            self._kill(w)
            cut = limit >= self.deadline and budget_s + self.profile.grace_s > self.deadline - time.monotonic()
            results[w.slot] = {
                "status": "error",
                "error_type": "timeout",
                "error": f"no answer within the {budget_s:.0f} s budget of phase {name}"
                + (" (cut short by the node deadline)" if cut else "")
                + f"; killed PID {pid}",
            }
        for w in live:
            if keep:
                w.phases[name] = results[w.slot]
                w.counters[name] = {"before": before[w.slot], "after": self._nv(self.nvml.counters, w.handle)}
        return results

    def _receive(self, w: Worker, name: str) -> dict[str, Any]:
        try:
            msg = w.conn.recv()
        except (EOFError, OSError):
            self._kill(w)
            code = w.process.exitcode if w.process is not None else None
            return {
                "status": "error",
                "error_type": "crashed",
                "error": f"worker exited (code {code}) in {name}",
            }
        outcome: dict[str, Any] = msg[2]
        return outcome


def foreign_processes(
    before: list[int] | None, now: list[int] | None, own: set[int], host_ns: bool | None
) -> dict[str, Any]:
    """Which compute processes on a GPU are not this suite's, container-safe.

    `before`: PIDs NVML listed before any worker started (none can be ours). `now`: PIDs after the worker
    opened the device. In the host PID namespace NVML's PIDs are ours to compare; inside a container NVML
    still reports host PIDs, so our own worker shows up under a PID we cannot know: there, one new process
    (our worker) is expected and anything beyond it is foreign."""
    comparable = bool(host_ns) or bool(set(now or ()) & own)
    foreign = set(before or ())
    new = sorted(set(now or ()) - set(before or ()))
    ambiguous = False
    if comparable:
        foreign |= {p for p in new if p not in own}
    elif len(new) > 1:
        foreign |= set(new)
        ambiguous = True
    return {
        "foreign_pids": sorted(foreign),
        "pid_namespace": "host" if comparable else "container",
        "foreign_ambiguous": ambiguous,
        "processes_listed": now is not None,
    }
