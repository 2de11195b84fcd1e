"""The parent: one worker process per device, all loaded at once, each phase under a budget.

The parent never runs device work itself. It spawns the workers, hands them phases, samples NVML, snapshots
health counters around every phase, and kills (by PID) a worker that overruns its phase budget. What comes
back is a raw record; `verdict.py` judges it.
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
from aifactory.burnin.profiles import CUDA_ONLY, PHASES, Profile
from aifactory.burnin.telemetry import Nvml, Sampler

READY_TIMEOUT_S = 120.0  # importing torch and creating a CUDA context can take a while on a cold node
GRACE_S = 5.0


@dataclass
class Worker:
    slot: int  # rank within the node
    index: int  # CUDA ordinal or CPU worker number
    process: Any = None
    conn: Any = None
    alive: bool = False
    identity: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    nvml: dict[str, Any] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _skipped(code: str, reason: str) -> dict[str, Any]:
    return {"status": "skipped", "reason_code": code, "reason": reason}


class NodeRun:
    """Runs the profile's phases over the given devices and keeps the raw outcomes."""

    def __init__(
        self,
        profile: Profile,
        indices: list[int],
        injections: tuple[inject.Injection, ...],
        phases: tuple[str, ...] = PHASES,
        progress: Any = None,
    ) -> None:
        self.profile = profile
        self.kind = profile.device_type
        self.injections = injections
        self.selected = phases
        self.progress = progress or (lambda _msg: None)
        self.nvml = Nvml(disabled_by_injection=inject.node_wide(injections, "no-nvml"))
        self.workers = [Worker(slot, idx) for slot, idx in enumerate(indices)]
        self.sampler = Sampler(self.nvml, indices if self.kind == "cuda" else [])
        self.node: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------------------------------
    def run(self) -> NodeRun:
        os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS for the SDC phase
        self.sampler.start()
        try:
            self._spawn()
            for name in PHASES:
                self.sampler.phase = name
                self.progress(name)
                self._phase(name)
        finally:
            self.sampler.stop()
            self._shutdown()
        return self

    def _spawn(self) -> None:
        ctx = get_context("spawn")
        address = f"tcp://127.0.0.1:{_free_port()}"
        from aifactory.burnin import worker

        for w in self.workers:
            parent, child = ctx.Pipe()
            cfg = {
                "kind": self.kind,
                "index": w.index,
                "rank": w.slot,
                "world": len(self.workers),
                "faults": inject.for_worker(self.injections, w.slot),
                "no_nvml": not self.nvml.available,
                "dist_address": address,
            }
            proc = ctx.Process(target=worker.main, args=(child, cfg), name=f"burnin-{w.index}", daemon=True)
            proc.start()
            w.process = proc
            child.close()
            w.conn = parent
        deadline = time.monotonic() + READY_TIMEOUT_S
        for w in self.workers:
            msg = self._recv(w, deadline)
            if msg is not None and msg[1].get("ok"):
                w.alive, w.identity = True, msg[1]
            else:
                w.identity = {
                    "ok": False,
                    "error": msg[1]["error"] if msg else "worker did not start in time",
                }
                self._kill(w)

    def _shutdown(self) -> None:
        for w in self.workers:
            if w.alive:
                with contextlib.suppress(OSError, BrokenPipeError):
                    w.conn.send(("stop",))
        for w in self.workers:
            if w.process is not None:
                w.process.join(timeout=10)
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
        if name in ("collectives", "stress") and len(self.workers) > 1 and not all(w.alive for w in self.workers):
            return self._mark_all(
                name,
                _skipped("PEER_UNAVAILABLE", f"phase {name} needs every worker and at least one is gone"),
            )
        params = {**plan.params, "timeout_s": plan.budget_s}
        if name in ("pcie", "p2p"):  # one at a time first, so a slow link is not hidden by contention
            for w in self.workers:
                self._dispatch(name, [w], params, plan.budget_s)
            if name == "pcie" and len(self.workers) > 1:
                self.node["pcie_all"] = self._dispatch(name, self.workers, params, plan.budget_s, keep=False)
            return None
        self._dispatch(name, self.workers, params, plan.budget_s)
        return None

    def _mark_all(self, name: str, outcome: dict[str, Any]) -> None:
        for w in self.workers:
            w.phases[name] = dict(outcome)

    def _preflight(self) -> None:
        own = {w.process.pid for w in self.workers if w.process is not None} | {os.getpid()}
        for w in self.workers:
            if self.nvml.available and self.kind == "cuda":
                w.nvml = {
                    "identity": self.nvml.identity(w.index),
                    "preflight": self.nvml.preflight(w.index, own),
                }
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
        """Send a phase to every live worker of `group` at once and collect within the budget."""
        results: dict[int, dict[str, Any]] = {}
        live = [w for w in group if w.alive]
        for w in group:
            if not w.alive and keep:
                w.phases[name] = _skipped("WORKER_DEAD", "the worker for this device is gone (see earlier phases)")
        before = {w.slot: self.nvml.counters(w.index) for w in live}
        for w in live:
            w.conn.send(("phase", name, params))
        deadline = time.monotonic() + budget_s + GRACE_S
        pending = {w.conn: w for w in live}
        while pending:
            remaining = deadline - time.monotonic()
            ready = connection.wait(list(pending), timeout=max(0.0, remaining)) if remaining > 0 else []
            if not ready:
                break
            for conn in ready:
                w = pending.pop(conn)
                results[w.slot] = self._receive(w, name)
        for w in pending.values():
            self._kill(w)
            results[w.slot] = {
                "status": "error",
                "error_type": "timeout",
                "error": f"no answer within the {budget_s:.0f} s budget of phase {name}; killed PID {w.process.pid}",
            }
        for w in live:
            if keep:
                w.phases[name] = results[w.slot]
                w.counters[name] = {"before": before[w.slot], "after": self.nvml.counters(w.index)}
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
